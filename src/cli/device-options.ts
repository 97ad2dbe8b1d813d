import type { Command } from 'commander';
import type { Device } from '../core/device.ts';
import { openDevice } from '../device/open.ts';

/** Options shared by every command that opens a device. */
export interface DeviceCliOptions {
  device?: string;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
}

/** Add --device, --sysfs-root, --dry-run and --allow-clock-changes to a command. */
export function addDeviceOptions(cmd: Command, defaultDevice = 'auto'): Command {
  return cmd
    .option('--device <spec>', 'auto | jetson | nvidia | linux-cpu | sim:<board>', defaultDevice)
    .option('--sysfs-root <dir>', 'read and write hardware files under this root instead of / (env POLYTHROTTLE_SYSFS_ROOT)')
    .option('--dry-run', 'print each clock write instead of doing it')
    .option('--allow-clock-changes', 'allow locking clocks on a desktop/server NVIDIA GPU');
}

export function openDeviceFromOptions(o: DeviceCliOptions): Promise<Device> {
  return openDevice(o.device ?? 'auto', {
    ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.allowClockChanges ? { allowClockChanges: true } : {}),
  });
}

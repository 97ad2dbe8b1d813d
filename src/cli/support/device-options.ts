import type { Device } from '../../core/device.ts';
import { openDevice } from '../../device/open.ts';

/** Options shared by every command that opens a device. */
export interface DeviceCliOptions {
  device?: string;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
}

/** Open the device a command's --device, --sysfs-root, --dry-run and --allow-clock-changes name. */
export function openDeviceFromOptions(o: DeviceCliOptions): Promise<Device> {
  return openDevice(o.device ?? 'auto', {
    ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.allowClockChanges ? { allowClockChanges: true } : {}),
  });
}

import { Option } from 'commander';
import type { Device } from '../../core/device.ts';
import { type DeviceSpec, parseDeviceSpec } from '../../device/device-spec.ts';
import { type OpenDeviceOptions, openDevice } from '../../device/open.ts';
import { deviceSpec } from './flag-parsers.ts';

/** Options shared by every command that opens a device. */
export interface DeviceCliOptions {
  device?: string | DeviceSpec;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
}

/** `--device <spec>`, parsed into a DeviceSpec (the default too, shown in --help as its text). */
export function deviceOption(description: string, defaultSpec?: string): Option {
  const o = new Option('--device <spec>', description).argParser(deviceSpec('--device'));
  return defaultSpec === undefined ? o : o.default(parseDeviceSpec(defaultSpec), defaultSpec);
}

/** Open the device a command's --device, --sysfs-root, --dry-run and --allow-clock-changes name. */
export function openDeviceFromOptions(o: DeviceCliOptions): Promise<Device> {
  return openDevice(o.device ?? 'auto', {
    ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.allowClockChanges ? { allowClockChanges: true } : {}),
  });
}

/** The options of a command that writes clocks: where the hardware files are, and whether to only print the writes. */
export interface DeviceWriteCliOptions {
  sysfsRoot?: string;
  dryRun?: boolean;
}

/** Adds `--sysfs-root <dir>` and `--dry-run` (every command that can write a clock has both). */
export function addDeviceWriteOptions<C extends { option(flags: string, description: string): C }>(cmd: C): C {
  return cmd
    .option('--sysfs-root <dir>', 'read and write hardware files under this root instead of / (env POLYTHROTTLE_SYSFS_ROOT)')
    .option('--dry-run', 'print each clock write instead of doing it (no snapshot, no lock; the clocks stay as they are)');
}

/** openDevice's options from --sysfs-root and --dry-run. */
export function deviceWriteOptions(o: DeviceWriteCliOptions): OpenDeviceOptions {
  return { ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}), ...(o.dryRun ? { dryRun: true } : {}) };
}

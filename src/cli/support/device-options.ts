import { Option } from 'commander';
import type { Device } from '../../core/device.ts';
import { type DeviceSpec, parseDeviceSpec } from '../../device/device-spec.ts';
import { openDevice } from '../../device/open.ts';
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

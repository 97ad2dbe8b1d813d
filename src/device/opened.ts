import type { Device } from '../core/device.ts';

/** How a device was opened (root, dry-run), for the safety net that must reopen it after a kill. */
export interface OpenedWith {
  readonly root: string;
  readonly dryRun: boolean;
}

const opened = new WeakMap<Device, OpenedWith>();

export function rememberOpened(device: Device, how: OpenedWith): Device {
  opened.set(device, how);
  return device;
}

export function openedWith(device: Device): OpenedWith | undefined {
  return opened.get(device);
}

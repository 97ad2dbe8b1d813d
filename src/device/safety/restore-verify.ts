import type { Device, DeviceSnapshot } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';

/** The knob values that differ between two snapshots (file → [expected, found]). */
export function snapshotDiff(want: DeviceSnapshot, got: DeviceSnapshot): Record<string, [string, string | undefined]> {
  const out: Record<string, [string, string | undefined]> = {};
  for (const [k, v] of Object.entries(want.values)) if (got.values[k] !== v) out[k] = [v, got.values[k]];
  return out;
}

/** Restore a snapshot and read everything back; throws (naming each file) when something did not return. */
export async function restoreAndVerify(device: Device, snapshot: DeviceSnapshot): Promise<void> {
  await device.restore(snapshot);
  if (device.kind === 'nvidia' || device.kind === 'sim') return; // nothing to read back file by file
  const diff = snapshotDiff(snapshot, await device.snapshot());
  const bad = Object.entries(diff);
  if (bad.length > 0)
    throw new PolyThrottleError('HARDWARE', `restore incomplete: ${bad.map(([f, [w, g]]) => `${f} is ${g ?? '(unreadable)'}, expected ${w}`).join('; ')}`, {
      hint: 'run `polythrottle restore` again as root; the snapshot file is kept',
    });
}

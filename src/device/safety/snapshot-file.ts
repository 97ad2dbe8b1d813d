import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DeviceKind, DeviceSnapshot } from '../../core/device.ts';
import { PolyThrottleError, badInput } from '../../core/errors.ts';

/** What is persisted before the first write: enough to reopen the device and put it back after a hard kill. */
export interface SnapshotFile {
  readonly format: 'polythrottle-snapshot/1';
  /** Device spec for openDevice ('jetson', 'nvidia', 'linux-cpu'). */
  readonly spec: DeviceKind;
  /** File-tree root the device was opened on. */
  readonly root: string;
  readonly pid: number;
  readonly snapshot: DeviceSnapshot;
}

/** The state directory: $POLYTHROTTLE_STATE_DIR, else $XDG_STATE_HOME/polythrottle, else ~/.local/state/polythrottle. */
export function stateDir(): string {
  if (process.env.POLYTHROTTLE_STATE_DIR) return process.env.POLYTHROTTLE_STATE_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'polythrottle');
}

/** Default snapshot file of a device: one per device id in the state directory. */
export function defaultSnapshotPath(deviceId: string): string {
  return join(stateDir(), `snapshot-${deviceId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
}

/** Write atomically (temp file + rename) so a kill mid-write never leaves half a snapshot. */
export async function writeSnapshotFile(path: string, data: SnapshotFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readSnapshotFile(path: string): Promise<SnapshotFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PolyThrottleError('NOT_FOUND', `no snapshot file at ${path}`, { cause: e });
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw badInput(`${path} is not JSON: ${(e as Error).message}`, undefined, e);
  }
  const o = j as Partial<SnapshotFile>;
  const values = o.snapshot?.values;
  if (
    o.format !== 'polythrottle-snapshot/1' ||
    !['jetson', 'nvidia', 'linux-cpu', 'sim'].includes(String(o.spec)) ||
    typeof o.root !== 'string' ||
    typeof o.snapshot?.deviceId !== 'string' ||
    typeof values !== 'object' ||
    values === null ||
    Object.values(values).some((v) => typeof v !== 'string')
  )
    throw badInput(`${path} is not a PolyThrottle snapshot file (format polythrottle-snapshot/1)`);
  return o as SnapshotFile;
}

export async function removeSnapshotFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Snapshot files left in the state directory (runs that did not finish their restore). */
export async function listSnapshotFiles(dir = stateDir()): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((f) => /^snapshot-.*\.json$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

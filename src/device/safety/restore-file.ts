import { PolyThrottleError } from '../../core/errors.ts';
import { openDevice } from '../open.ts';
import { lockPathFor, pidAlive, removeStaleLock } from './owner-lock.ts';
import { restoreAndVerify } from './restore-verify.ts';
import { listSnapshotFiles, readSnapshotFile, removeSnapshotFile } from './snapshot-file.ts';

export interface RestoredFile {
  readonly file: string;
  readonly deviceId: string;
  readonly files: number;
}

/** Whether a process with this id is running (then its run still owns the clocks). */
const processAlive = (pid: number): boolean => pid !== process.pid && pidAlive(pid);

/**
 * Restore devices from snapshot files (after a hard kill): reopen each device, write every saved
 * value back in the safe order, read them back, and delete the file only when all came back (and
 * the device's lock, when the process that held it is gone).
 */
export async function restoreFromSnapshotFiles(opts: { file?: string; root?: string; force?: boolean } = {}): Promise<RestoredFile[]> {
  const files = opts.file ? [opts.file] : await listSnapshotFiles();
  const done: RestoredFile[] = [];
  for (const file of files) {
    const s = await readSnapshotFile(file);
    if (!opts.force && processAlive(s.pid))
      throw new PolyThrottleError('BAD_INPUT', `the run that wrote ${file} (pid ${s.pid}) is still running; it restores the clocks itself when it ends`, {
        hint: 'stop it with Ctrl-C or kill (not kill -9), or add --force to restore now anyway',
      });
    if (s.spec !== 'sim') {
      const device = await openDevice(s.spec, {
        root: opts.root ?? s.root,
        ...(s.spec === 'nvidia' ? { gpuIndex: Number(s.snapshot.values['gpu-index'] ?? 0) } : {}),
      });
      try {
        await restoreAndVerify(device, s.snapshot);
      } finally {
        await device.close();
      }
    }
    await removeSnapshotFile(file);
    await removeStaleLock(lockPathFor(file));
    done.push({ file, deviceId: s.snapshot.deviceId, files: Object.keys(s.snapshot.values).length });
  }
  return done;
}

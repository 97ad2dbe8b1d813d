import { openDevice } from '../open.ts';
import { restoreAndVerify } from './guard.ts';
import { listSnapshotFiles, readSnapshotFile, removeSnapshotFile } from './snapshot-file.ts';

export interface RestoredFile {
  readonly file: string;
  readonly deviceId: string;
  readonly files: number;
}

/**
 * Restore devices from snapshot files (after a hard kill): reopen each device, write every saved
 * value back in the safe order, read them back, and delete the file only when all came back.
 */
export async function restoreFromSnapshotFiles(opts: { file?: string; root?: string } = {}): Promise<RestoredFile[]> {
  const files = opts.file ? [opts.file] : await listSnapshotFiles();
  const done: RestoredFile[] = [];
  for (const file of files) {
    const s = await readSnapshotFile(file);
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
    done.push({ file, deviceId: s.snapshot.deviceId, files: Object.keys(s.snapshot.values).length });
  }
  return done;
}

import type { Command } from 'commander';
import { restoreFromSnapshotFiles } from '../device/safety/restore-file.ts';
import { stateDir } from '../device/safety/snapshot-file.ts';
import { action } from './support/run-action.ts';

export function register(program: Command): void {
  program
    .command('restore')
    .description('put clocks back from the snapshot a run saved before its first write (after a crash or kill -9)')
    .option('--snapshot <file>', 'snapshot file (default: every snapshot left in the state directory)')
    .option('--sysfs-root <dir>', 'restore under this root instead of the one recorded in the snapshot')
    .option('--force', 'restore even though the run that saved the snapshot is still running')
    .action(
      action(async (o: { snapshot?: string; sysfsRoot?: string; force?: boolean }) => {
        const done = await restoreFromSnapshotFiles({
          ...(o.snapshot ? { file: o.snapshot } : {}),
          ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
          ...(o.force ? { force: true } : {}),
        });
        if (done.length === 0) process.stdout.write(`nothing to restore: no snapshot in ${stateDir()}\n`);
        for (const d of done) process.stdout.write(`restored ${d.deviceId} (${d.files} values) from ${d.file}\n`);
      }),
    );
}

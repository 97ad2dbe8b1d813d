import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../../src/device/open.ts';
import { withDeviceGuard } from '../../../src/device/safety/guard.ts';
import { restoreFromSnapshotFiles } from '../../../src/device/safety/restore-file.ts';
import { readSnapshotFile } from '../../../src/device/safety/snapshot-file.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { type BoardFixture, buildBoard, treeManifest, tx2R32, x86Desktop } from '../../fixtures/hardware/fake-tree.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const CHILD = resolve(import.meta.dirname, 'guarded-run.child.ts');
const CLI = join(REPO, 'src/cli/main.ts');
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});
async function temp(prefix: string) {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** A fresh board tree (removed after the tests), where its snapshot file will go, and its manifest before anything ran. */
async function freshBoard(board: BoardFixture): Promise<{ root: string; file: string; before: Record<string, string> }> {
  const root = await buildBoard(board);
  temps.push(root);
  const file = join(await temp('pt-state-'), 'snap.json');
  return { root, file, before: await treeManifest(root) };
}

function startChild(
  root: string,
  file: string,
  mode: 'wait' | 'throw' = 'wait',
): { child: ChildProcess; applied: Promise<void>; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, file, mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => {
    stderr += String(c);
  });
  const applied = new Promise<void>((res, rej) => {
    child.stdout!.on('data', (c) => String(c).includes('APPLIED') && res());
    child.on('exit', () => rej(new Error(`child exited before applying: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stderr })),
  );
  return { child, applied, exited };
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('fault injection on a fake TX2 tree', () => {
  it('SIGKILL mid-run, then `polythrottle restore` → the tree is byte-identical to before', async () => {
    const { root, file, before } = await freshBoard(tx2R32());
    const run = startChild(root, file);
    await run.applied;
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(await treeManifest(root)).not.toEqual(before);
    const saved = await readSnapshotFile(file);
    expect(saved).toMatchObject({ spec: 'jetson', root });
    const r = await cli(['restore', '--snapshot', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/restored jetson:tegra186 \(\d+ values\)/);
    expect(await treeManifest(root)).toEqual(before);
    expect(existsSync(file)).toBe(false);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} mid-run → restored by the run itself, no command needed`, async () => {
      const { root, file, before } = await freshBoard(tx2R32());
      const run = startChild(root, file);
      await run.applied;
      expect(await treeManifest(root)).not.toEqual(before);
      run.child.kill(sig);
      const ex = await run.exited;
      expect(ex.code).toBe(sig === 'SIGINT' ? 130 : 143);
      expect(ex.stderr).toMatch(/restoring jetson:tegra186 clocks/);
      expect(await treeManifest(root)).toEqual(before);
      expect(existsSync(file)).toBe(false);
    });
  }

  it('an uncaught error mid-run → restored, exit 1, the error printed', async () => {
    const { root, file, before } = await freshBoard(tx2R32());
    const run = startChild(root, file, 'throw');
    const ex = await run.exited;
    expect(ex.code).toBe(1);
    expect(ex.stderr).toMatch(/boom in the middle of a run/);
    expect(await treeManifest(root)).toEqual(before);
  });
});

describe('guard in-process and the restore command', () => {
  it('withDeviceGuard restores on normal return and on a thrown error; no file is left', async () => {
    const { root, file, before } = await freshBoard(x86Desktop());
    const dev = await openDevice('linux-cpu', { root, io: new FakeKernel(root) });
    const logs: string[] = [];
    await withDeviceGuard(
      dev,
      async (d) => {
        await d.apply({ cpuHz: 1_000_000_000 });
        expect(existsSync(file)).toBe(true);
        expect(await treeManifest(root)).not.toEqual(before);
      },
      { file, log: (l) => logs.push(l) },
    );
    expect(await treeManifest(root)).toEqual(before);
    expect(existsSync(file)).toBe(false);
    await expect(
      withDeviceGuard(
        dev,
        async (d) => {
          await d.apply({ cpuHz: 2_000_000_000 });
          throw new Error('tuner crashed');
        },
        { file, log: (l) => logs.push(l) },
      ),
    ).rejects.toThrow('tuner crashed');
    expect(await treeManifest(root)).toEqual(before);
    expect(logs.filter((l) => l.startsWith('restoring linux-cpu'))).toHaveLength(2);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('a dry run writes neither the tree nor a snapshot file', async () => {
    const { root, file, before } = await freshBoard(x86Desktop());
    const dev = await openDevice('linux-cpu', { root, dryRun: true, print: () => {} });
    await withDeviceGuard(dev, async (d) => void (await d.apply({ cpuHz: 1_000_000_000 })), { file, log: () => {} });
    expect(existsSync(file)).toBe(false);
    expect(await treeManifest(root)).toEqual(before);
  });

  it('restore refuses while the run that saved the snapshot is still alive, unless forced', async () => {
    const { root, file, before } = await freshBoard(tx2R32());
    const run = startChild(root, file);
    await run.applied;
    await expect(restoreFromSnapshotFiles({ file })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining(`(pid ${run.child.pid}) is still running`),
    });
    expect(existsSync(file)).toBe(true);
    await restoreFromSnapshotFiles({ file, force: true });
    expect(await treeManifest(root)).toEqual(before);
    run.child.kill('SIGKILL');
    await run.exited;
  });

  it('`restore` with no snapshot says so; a corrupt snapshot file is one clear error', async () => {
    const state = await temp('pt-state-');
    let r = await cli(['restore'], { POLYTHROTTLE_STATE_DIR: state });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nothing to restore: no snapshot in /);
    const bad = join(state, 'snapshot-x.json');
    await writeFile(bad, '{"format":"other"}');
    r = await cli(['restore'], { POLYTHROTTLE_STATE_DIR: state });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: .*snapshot-x\.json is not a PolyThrottle snapshot file/);
    expect(await readFile(bad, 'utf8')).toContain('other');
  });
});

/**
 * Device safety end to end with the real `tune` CLI on a fake AGX Orin tree: a killed run's snapshot is
 * never overwritten (the next run puts it back first), one owner per device, --resume refuses a
 * run that is still alive, and --dry-run / --sysfs-root on tune and landscape --workload.
 * Every wait is on an event: a file appearing, a process's message, an exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { agxOrinR36, buildBoard, orinNanoR36, treeManifest } from '../../fixtures/hardware/fake-tree.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'src/cli/main.ts');
const PRELOAD = join(REPO, 'test/fixtures/hardware/kill-at-write.ts');
const temps: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const t of temps) await rm(t, { recursive: true, force: true });
});
async function temp(prefix: string) {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** The repro's command: a shell command as the workload, tiny windows, no settling or warm-up. */
const TUNE = ['tune', '--device', 'jetson', '--workload', 'command', '--command', 'sleep 0.02', '--repeats', '1', '--settle', '0', '--warmup', '0'];

interface Run {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves when stderr has a line matching (a process's message), rejects if it exits first. */
  said(re: RegExp): Promise<void>;
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function start(args: string[], env: Record<string, string>, preload = false): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', ...(preload ? ['--import', PRELOAD] : []), CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; res: () => void }[] = [];
  child.stdout!.on('data', (c) => {
    out += String(c);
  });
  child.stderr!.on('data', (c) => {
    err += String(c);
    for (const w of waiters) if (w.re.test(err)) w.res();
  });
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stdout: out, stderr: err })),
  );
  return {
    child,
    stderr: () => err,
    said: (re) =>
      new Promise<void>((res, rej) => {
        if (re.test(err)) return res();
        waiters.push({ re, res });
        void exited.then((e) => rej(new Error(`exited (${e.code ?? e.signal}) before saying ${re}: ${e.stderr}`)));
      }),
    exited,
  };
}

/** Wait for a file to appear (checking every 20 ms), or fail when `run` exits first. */
async function fileAppears(path: string, run?: Run): Promise<void> {
  let gone = false;
  void run?.exited.then(() => {
    gone = true;
  });
  while (!existsSync(path)) {
    if (gone) throw new Error(`exited before ${path} appeared: ${run?.stderr()}`);
    await sleep(20);
  }
}

async function board(fixture = agxOrinR36()) {
  const root = await buildBoard(fixture);
  temps.push(root);
  const state = await temp('pt-owner-state-');
  return {
    root,
    state,
    db: join(state, 'runs.sqlite'),
    snapshot: join(state, 'snapshot-jetson_tegra234.json'),
    lock: join(state, 'snapshot-jetson_tegra234.lock'),
    before: await treeManifest(root),
  };
}

describe('a killed run’s snapshot is never overwritten', () => {
  it('tune killed with -9 mid-run, the same tune again (SIGINT): it restores the dead run’s snapshot first; the tree ends byte-identical', async () => {
    const b = await board();
    const env = { POLYTHROTTLE_SYSFS_ROOT: b.root, POLYTHROTTLE_STATE_DIR: b.state };
    // kill -9 at the 40th clock write: a few trials in (the clocks are changed, the snapshot on disk)
    const a = start([...TUNE, '--window', '50ms', '--db', b.db], { ...env, POLYTHROTTLE_KILL_AT_WRITE: '40' }, true);
    expect((await a.exited).signal).toBe('SIGKILL');
    expect(await treeManifest(b.root)).not.toEqual(b.before);
    expect(existsSync(b.snapshot)).toBe(true);

    const next = start([...TUNE, '--window', '1s', '--db', b.db], env);
    await next.said(/restored jetson:tegra234 \(\d+ values\) from the earlier run's snapshot/);
    await fileAppears(b.snapshot, next); // its own snapshot, of the clocks as they were before the first run
    next.child.kill('SIGINT');
    const ex = await next.exited;
    expect(ex.code).toBe(130);
    expect(ex.stderr).toMatch(
      new RegExp(`taking over the lock on jetson:tegra234 from polythrottle tune .*\\(pid ${a.child.pid}, since .* UTC\\): that process is gone`),
    );
    expect(ex.stderr).toMatch(
      new RegExp(`an earlier run \\(pid ${a.child.pid}\\) left jetson:tegra234 changed without restoring it: restoring its snapshot ${b.snapshot} first`),
    );
    expect(await treeManifest(b.root)).toEqual(b.before);
    expect(existsSync(b.snapshot)).toBe(false);
    expect(existsSync(b.lock)).toBe(false);
  }, 120_000);
});

describe('one owner per device', () => {
  it('a second tune on the device refuses naming the holder (exit 2); --resume of the live run refuses too; the first run is undisturbed', async () => {
    const b = await board();
    const env = { POLYTHROTTLE_SYSFS_ROOT: b.root, POLYTHROTTLE_STATE_DIR: b.state };
    const a = start([...TUNE, '--window', '1s', '--db', b.db], env);
    await fileAppears(b.lock, a);
    await fileAppears(b.snapshot, a);
    const runLock = (await readdir(b.state)).find((f) => /^run-.*\.lock$/.test(f))!;
    const runId = runLock.slice('run-'.length, -'.lock'.length);

    const [second, resume] = await Promise.all([
      start([...TUNE, '--window', '1s', '--db', join(b.state, 'other.sqlite')], env).exited,
      start([...TUNE, '--window', '1s', '--db', b.db, '--resume', runId.slice(0, 8)], env).exited,
    ]);
    const holder = `polythrottle tune --device jetson .*\\(pid ${a.child.pid}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\)`;
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^error: jetson:tegra234 is in use by ${holder}$`, 'm'));
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(new RegExp(`^error: tuning run ${runId.slice(0, 8)} is in use by ${holder}$`, 'm'));
    expect(a.child.exitCode).toBe(null);
    expect(existsSync(b.snapshot)).toBe(true); // still the first run's

    a.child.kill('SIGINT');
    expect((await a.exited).code).toBe(130);
    expect(await treeManifest(b.root)).toEqual(b.before);
    expect(existsSync(b.lock)).toBe(false);
    expect((await readdir(b.state)).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 120_000);
});

describe('--dry-run and --sysfs-root on the commands that write clocks', () => {
  it('tune --dry-run --sysfs-root prints the writes, changes nothing, stores nothing', async () => {
    const b = await board();
    const r = await start([...TUNE, '--sysfs-root', b.root, '--dry-run', '--window', '20ms', '--budget', '1', '--slo', '2s', '--no-baselines', '--db', b.db], {
      POLYTHROTTLE_STATE_DIR: b.state,
    }).exited;
    expect(r.stderr).toMatch(new RegExp(`dry-run: would write "\\d+" to ${b.root}/sys/`));
    expect(r.stderr).toMatch(/dry run: the clocks are not changed and nothing is stored/);
    expect(r.code).toBe(0);
    expect(await treeManifest(b.root)).toEqual(b.before);
    expect(await readdir(b.state)).toEqual([]); // no snapshot, no lock, no store
  }, 120_000);

  it('landscape --workload --dry-run --sysfs-root measures without writing; the computed landscape refuses the flags', async () => {
    const b = await board(orinNanoR36());
    const r = await start(
      [
        'landscape',
        '--device',
        'jetson',
        '--sysfs-root',
        b.root,
        '--dry-run',
        '--model',
        'efficientnet-b0',
        '--batch-sizes',
        '1',
        '--workload',
        'command',
        '--command',
        'true',
        '--window',
        '20ms',
        '--repeats',
        '1',
        '--settle',
        '0',
        '--warmup',
        '0',
      ],
      { POLYTHROTTLE_STATE_DIR: b.state },
    ).exited;
    expect(r.stderr).toMatch(new RegExp(`dry-run: would write "\\d+" to ${b.root}/sys/`));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^device,model,cpu_hz/);
    expect(await treeManifest(b.root)).toEqual(b.before);
    expect(await readdir(b.state)).toEqual([]);

    const computed = await start(['landscape', '--model', 'efficientnet-b0', '--dry-run'], {}).exited;
    expect(computed.code).toBe(2);
    expect(computed.stderr).toMatch(/^error: --dry-run and --sysfs-root apply to a measured landscape/m);
  }, 120_000);
});

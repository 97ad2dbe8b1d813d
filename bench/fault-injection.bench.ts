/**
 * `npx tsx bench/fault-injection.bench.ts [--runs 60] [--tune-runs 12] [--parallel 4]`: how the
 * device safety net survives `kill -9`, with the figures docs/benchmarks.md reports.
 *
 *  1. The kill loop of test/device/safety/fault-injection.test.ts (the same code): per seed a fresh
 *     fake tree of one of the six boards, a child changing clocks under the device guard and
 *     SIGKILLed at a seeded write (before or after it reaches the tree), then the next run on the
 *     device (in-process) or `restore`; the tree must be byte-identical to the original.
 *  2. The real `tune` CLI (command workload `true`, 0.02 s windows): killed at a seeded write, then
 *     the same tune run to the end (it must put the dead run's snapshot back first) or
 *     `polythrottle restore`, each a fresh process; same check.
 *
 * Prints one JSON object (every run) and a summary line per part.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/numerics/random.ts';
import { buildBoard, treeManifest } from '../test/fixtures/hardware/fake-tree.ts';
import { ALL_BOARDS, killLoop, specOfTree } from '../test/fixtures/hardware/kill-loop.ts';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '60' }, 'tune-runs': { type: 'string', default: '12' }, parallel: { type: 'string', default: '4' } },
});
const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'src/cli/main.ts');
const PRELOAD = join(REPO, 'test/fixtures/hardware/kill-at-write.ts');

function cli(argv: string[], env: Record<string, string>, preload = false) {
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((res) => {
    const c = spawn(process.execPath, ['--import', 'tsx', ...(preload ? ['--import', PRELOAD] : []), CLI, ...argv], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr!.on('data', (d) => {
      stderr += String(d);
    });
    c.on('exit', (code, signal) => res({ code, signal, stderr }));
  });
}

interface TuneKill {
  seed: number;
  board: string;
  killAt: number;
  killed: boolean;
  recovery: 'next-tune' | 'restore';
  lostSnapshot: boolean;
  identical: boolean;
  recoveryMs: number;
}

async function tuneKill(seed: number): Promise<TuneKill> {
  const r = mulberry32(seed * 104729 + 3);
  const board = ALL_BOARDS[seed % ALL_BOARDS.length]!();
  // a full `--budget 1 --no-baselines` run makes ~100–170 writes on these boards
  const killAt = 1 + Math.floor(r() * 100);
  const recovery = seed % 2 === 0 ? 'next-tune' : 'restore';
  const root = await buildBoard(board);
  const state = await mkdtemp(join(tmpdir(), 'pt-bench-kill-'));
  try {
    const spec = await specOfTree(root);
    const env = { POLYTHROTTLE_SYSFS_ROOT: root, POLYTHROTTLE_STATE_DIR: state };
    const tune = [
      'tune',
      '--device',
      spec,
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
    ];
    const argv = [...tune, '--budget', '1', '--no-baselines', '--db', join(state, 'runs.sqlite')];
    const before = await treeManifest(root);
    const a = await cli(argv, { ...env, POLYTHROTTLE_KILL_AT_WRITE: String(killAt) }, true);
    const killed = a.signal === 'SIGKILL';
    const snapshots = ['snapshot-jetson_tegra186.json', 'snapshot-jetson_tegra194.json', 'snapshot-jetson_tegra234.json', 'snapshot-linux-cpu.json'];
    const left = snapshots.some((f) => existsSync(join(state, f)));
    const changed = JSON.stringify(await treeManifest(root)) !== JSON.stringify(before);
    const t0 = performance.now();
    const b = recovery === 'restore' ? await cli(['restore'], env) : await cli(argv, env);
    const recoveryMs = performance.now() - t0;
    if (b.code !== 0) throw new Error(`seed ${seed}: recovery exited ${b.code}: ${b.stderr}`);
    return {
      seed,
      board: board.name,
      killAt,
      killed,
      recovery,
      lostSnapshot: changed && !left,
      identical: JSON.stringify(await treeManifest(root)) === JSON.stringify(before),
      recoveryMs,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(state, { recursive: true, force: true });
  }
}

const parallel = Number(args.parallel);
const t0 = performance.now();
const loop = await killLoop({ runs: Number(args.runs), parallel, maxWrite: 45 });
const tuneRuns: TuneKill[] = [];
const seeds = Array.from({ length: Number(args['tune-runs']) }, (_, i) => i + 1);
let next = 0;
await Promise.all(
  Array.from({ length: Math.max(1, Math.floor(parallel / 2)) }, async () => {
    while (next < seeds.length) tuneRuns.push(await tuneKill(seeds[next++]!));
  }),
);
tuneRuns.sort((a, b) => a.seed - b.seed);
const summary = {
  date: new Date().toISOString(),
  machine: `${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`,
  guardLoop: {
    runs: loop.runs.length,
    killed: loop.killed,
    survived: loop.runs.filter((x) => x.killed && x.identical).length,
    lostSnapshots: loop.lostSnapshots,
    mismatches: loop.mismatches,
    worstRestoreMs: Math.round(loop.worstRestoreMs),
    worstRestoreOnlyMs: Math.round(Math.max(0, ...loop.runs.filter((x) => x.recovery === 'restore').map((x) => x.restoreMs))),
    wallS: Math.round(loop.wallS),
  },
  tuneCli: {
    runs: tuneRuns.length,
    killed: tuneRuns.filter((x) => x.killed).length,
    survived: tuneRuns.filter((x) => x.killed && x.identical).length,
    lostSnapshots: tuneRuns.filter((x) => x.lostSnapshot).length,
    mismatches: tuneRuns.filter((x) => !x.identical).length,
    worstRestoreCommandMs: Math.round(Math.max(0, ...tuneRuns.filter((x) => x.recovery === 'restore').map((x) => x.recoveryMs))),
    worstNextTuneMs: Math.round(Math.max(0, ...tuneRuns.filter((x) => x.recovery === 'next-tune').map((x) => x.recoveryMs))),
  },
  totalS: Math.round((performance.now() - t0) / 1000),
};
process.stdout.write(`${JSON.stringify({ summary, guardLoop: loop.runs, tuneCli: tuneRuns }, null, 1)}\n`);
const g = summary.guardLoop;
const c = summary.tuneCli;
process.stderr.write(
  `guard loop: ${g.killed}/${g.runs} runs killed, ${g.survived} survived (tree byte-identical), ${g.lostSnapshots} lost snapshots, worst recovery ${g.worstRestoreMs} ms (restore alone ${g.worstRestoreOnlyMs} ms), ${g.wallS} s\n` +
    `tune CLI:   ${c.killed}/${c.runs} runs killed, ${c.survived} survived, ${c.lostSnapshots} lost snapshots, ${c.mismatches} mismatches; worst \`restore\` command ${c.worstRestoreCommandMs} ms, worst next tune ${c.worstNextTuneMs} ms\n` +
    `${summary.machine}, ${summary.totalS} s in all\n`,
);
if (g.mismatches + g.lostSnapshots + c.mismatches + c.lostSnapshots > 0) process.exitCode = 1;

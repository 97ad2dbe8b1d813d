/**
 * Time per constrained-BO suggestion on TX2's 5,005-point grid: the plain path (both GPs predicted
 * at every unvisited point) against the fast path (cached grid tables + exact bound pruning), in the
 * same run on the same observations, with the ratio. Both optimisers get the same seed and every
 * observation, so their suggestions must agree; the run counts any disagreement.
 *
 *   npx tsx bench/suggest.bench.ts [--seeds N]   # default 3 seeds, suggestions 1…100
 *
 * Timed at 20, 50 and 100 observations (and the medians over 45–55 and 95–100 to smooth a shared
 * host): CPU time of the process around each suggest() call.
 */
import { cpus, loadavg } from 'node:os';
import { computeLandscape, createSimTrialRunner, loadBoard } from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';
import { ConstrainedBo } from '../src/optimize/constrained-bo.ts';
import { createKnobSpace } from '../src/tune/knob-space.ts';
import type { Suggestion } from '../src/optimize/optimizer.ts';

const args = process.argv.slice(2);
const si = args.indexOf('--seeds');
const seeds = si >= 0 ? Number(args[si + 1]) : 3;
const BATCHES = [1, 2, 4, 8, 16];
const POINTS = [20, 50, 100];

const board = loadBoard('tx2');
const profile = zooProfile('efficientnet-b0');
const probe = createSimTrialRunner({ board, profile });
const d = await probe.describe();
const land = computeLandscape({ board, profile, batchSizes: BATCHES, noise: 0 });
const space = createKnobSpace({ domains: { ...d.knobs, batch: BATCHES }, fixed: { cpuHz: land.rows[0]!.cpu_hz } });
const sloMs = 3 * Math.min(...land.rows.map((r) => r.latency_p99_ms));
const threshold = Math.log(sloMs * 0.98);

const cpuMs: Record<'plain' | 'fast', Map<number, number[]>> = { plain: new Map(), fast: new Map() };
/** Wall ms of the scoring step alone (after the fit), per path and observation count. */
const scoreMs: Record<'plain' | 'fast', Map<number, number[]>> = { plain: new Map(), fast: new Map() };
const timed = (bo: ConstrainedBo): { s: Suggestion | null; ms: number } => {
  const c0 = process.cpuUsage();
  const s = bo.suggest();
  const c = process.cpuUsage(c0);
  return { s, ms: (c.user + c.system) / 1000 };
};
const push = (path: 'plain' | 'fast', n: number, ms: number, into = cpuMs) => {
  const m = into[path];
  if (!m.has(n)) m.set(n, []);
  m.get(n)!.push(ms);
};
let compared = 0;
let disagreements = 0;
let gridSize = 0;
for (let seed = 0; seed < seeds; seed++) {
  const runner = createSimTrialRunner({ board, profile, seed: 7 + seed });
  const plain = new ConstrainedBo({ space, threshold, seed, minImprovement: 0, gridScoring: 'plain' });
  const fast = new ConstrainedBo({ space, threshold, seed, minImprovement: 0 });
  gridSize = fast.gridSize ?? 0;
  for (let n = 0; n <= 100; n++) {
    // alternate which path runs first, so neither always gets the warmer cache
    const [a, b] = n % 2 === 0 ? [timed(plain), timed(fast)] : [timed(fast), timed(plain)];
    const [p, f] = n % 2 === 0 ? [a, b] : [b, a];
    if (!p.s || !f.s) break;
    if (f.s.source === 'bo') {
      compared++;
      if (f.s.point.join(',') !== p.s.point.join(',') || f.s.acquisition !== p.s.acquisition) disagreements++;
    }
    push('plain', n, p.ms);
    push('fast', n, f.ms);
    if (p.s.scoreMs !== undefined && f.s.scoreMs !== undefined) {
      push('plain', n, p.s.scoreMs, scoreMs);
      push('fast', n, f.s.scoreMs, scoreMs);
    }
    const m = await runner.measure(space.toConfig(p.s.point));
    const o = { point: p.s.point, valid: true as const, objective: Math.log(m.energyPerQueryJ), constraint: Math.log(m.latencyTailMs) };
    plain.observe(o);
    fast.observe(o);
  }
  process.stderr.write(`seed ${seed} done\n`);
}

const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const over = (from: typeof cpuMs, path: 'plain' | 'fast', lo: number, hi: number) => {
  const all: number[] = [];
  for (const [n, v] of from[path]) if (n >= lo && n <= hi) all.push(...v);
  return median(all);
};
const ranges: [string, number, number][] = [...POINTS.map((n) => [String(n), n, n] as [string, number, number]), ['45–55', 45, 55], ['95–100', 95, 100]];
const fmt = (p: number, f: number) => `${p.toFixed(1)} | ${f.toFixed(1)} | ${(p / f).toFixed(1)}×`;
const lines = [
  '| observations | grid points | suggestion CPU ms: plain | fast | plain / fast | scoring only, wall ms: plain | fast | plain / fast |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...ranges.map(
    ([label, lo, hi]) =>
      `| ${label} | ${gridSize} | ${fmt(over(cpuMs, 'plain', lo, hi), over(cpuMs, 'fast', lo, hi))} | ${fmt(over(scoreMs, 'plain', lo, hi), over(scoreMs, 'fast', lo, hi))} |`,
  ),
  '',
  `Suggestions compared: ${compared}, disagreements: ${disagreements} (${seeds} seeds).`,
  `Load average: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${cpus().length} CPUs.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (disagreements > 0) process.exitCode = 1;

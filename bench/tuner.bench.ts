/**
 * Tuner benchmark: whole `tune()` runs on the noisy twin, every measurement counted, each scored
 * against the global optimum of the truth's exact landscape over every CPU clock × GPU min ≤ max ×
 * EMC × batch {1,2,4,8,16}.
 *
 *   npm run bench:tuner                  # 4 boards × 4 models × 2 SLOs; nominal: 10 seeds, shifted: 5 boards × 1 seed
 *   npm run bench:tuner -- --quick       # 2 boards × 2 models × 2 SLOs; nominal: 3 seeds, shifted: 5 boards × 1 seed
 *   options: --seeds N  --shifted-seeds N  --baseline-seeds N (nominal seeds of two-phase and random; default 3, quick 1)
 *            --boards a,b  --models a,b  --methods a,b  --out file.json (default bench/results/tuner-runs[-quick].json;
 *            bench/results/tuner.json keeps the previous harness's curves, which `report --benchmark` draws)
 *            --landscape file.csv[,file2.csv] (scenarios from landscape CSVs; the prior with --prior-board)
 *            --merge a.json,b.json (print the tables of earlier runs together, e.g. boards run in parallel)
 *
 * The full run in one process needs more than Node's default heap (the twin keeps per-board-spec
 * caches for every shifted board): NODE_OPTIONS=--max-old-space-size=8000, or run boards in
 * separate processes (--boards) and --merge their files.
 *
 * Methods, all in the same run: `prior` (the default: joint search, the nominal twin as prior),
 * `no-prior` (the same without it), `two-phase` (the previous method: defaults at every batch, a CPU
 * phase, 30 search trials, presets after the decision) and `random` (the joint method's initial
 * design, then random search, same budget). Truth: the nominal twin, or a shifted board
 * (perturbBoard with SHIFTED_BOARDS) while the prior stays the nominal twin. The trial runner is the
 * twin's own (seeded noise) on the truth's board spec. SLOs: 1.5× (tight) and 3× (medium) the
 * fastest exact p99 of the truth. A run's incumbent after t measurements is the lowest measured
 * energy among its trials measured at most SLO × 0.98; "to 5 %" is the first measurement after which
 * the incumbent is truly feasible and within 5 % of the optimum. Final regret: the recommendation's
 * true energy over the optimum. Writes bench/results/tuner-runs.json and prints the tables.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { configKey } from '../src/core/config.ts';
import type { WorkloadProfile } from '../src/core/workload-profile.ts';
import type { TuningRun } from '../src/core/tuning-run.ts';
import { readLandscapeCsv } from '../src/device/landscape-replay/index.ts';
import { createLandscapeTrialRunner } from '../src/device/landscape-replay/index.ts';
import {
  type BoardSpec,
  computeLandscape,
  createSimTrialRunner,
  loadBoard,
  perturbBoard,
  SHIFTED_BOARDS,
  type TwinPerturbation,
} from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';
import { ConstrainedBo } from '../src/optimize/constrained-bo.ts';
import type { TrialRunner } from '../src/core/measurement.ts';
import { createKnobSpace } from '../src/tune/knob-space.ts';
import { priorOnSpace, tune, type TuneOptions } from '../src/tune/tune.ts';
import { type PriorPredictor, twinPrior } from '../src/tune/twin-prior.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const list = (name: string, dflt: string[]) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]!.split(',') : dflt;
};
const quick = flag('--quick');
const seeds = value('--seeds', quick ? 3 : 10);
const shiftedSeeds = value('--shifted-seeds', 1);
const baselineSeeds = value('--baseline-seeds', quick ? 1 : 3);
const outFile = args.includes('--out') ? args[args.indexOf('--out') + 1]! : undefined;
const mergeFiles = list('--merge', []);
const boards = list('--boards', quick ? ['tx2', 'orin-nano'] : ['tx2', 'xavier-nx', 'orin-agx', 'orin-nano']).filter((b) => b !== '');
const models = list('--models', quick ? ['efficientnet-b0', 'bert-base'] : ['efficientnet-b0', 'resnet-50', 'bert-base', 'mobilenet-v2']);
const METHODS = ['prior', 'no-prior', 'two-phase', 'random'] as const;
type Method = (typeof METHODS)[number];
const methods = list('--methods', [...METHODS]) as Method[];
const landscapeFiles = list('--landscape', []);
const priorBoardName = args.includes('--prior-board') ? args[args.indexOf('--prior-board') + 1] : undefined;
const SLO_LEVELS = { tight: 1.5, medium: 3 } as const;
const BATCHES = [1, 2, 4, 8, 16];
const MARGIN = 0.02;

interface Truth {
  readonly rows: Map<string, { e: number; tail: number }>;
  readonly fastest: number;
}

interface RunResult {
  readonly scenario: string;
  readonly board: string;
  readonly truth: string;
  readonly slo: string;
  readonly method: Method;
  readonly seed: number;
  readonly t5: number | null;
  readonly t1: number | null;
  readonly measurements: number;
  readonly byPhase: Record<string, number>;
  readonly finalGap: number | null;
  /** Against the optimum among configurations whose exact tail holds the margin (what the tuner may recommend). */
  readonly finalGapMargin: number | null;
  /** The recommended configuration (configKey), null = none. */
  readonly finalKey: string | null;
  readonly finalInfeasible: boolean;
  /** A measured feasible baseline (default, preset) truly cheaper than the recommendation by more than 1 %. */
  readonly presetBeats: boolean;
}

const quantile = (a: readonly number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

function truthOf(board: BoardSpec, profile: WorkloadProfile): Truth {
  const land = computeLandscape({ board, profile, batchSizes: BATCHES, cpu: 'all', noise: 0 });
  const rows = new Map<string, { e: number; tail: number }>();
  for (const r of land.rows)
    rows.set(configKey({ cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: r.batch }), {
      e: r.energy_per_query_j,
      tail: r.latency_p99_ms,
    });
  return { rows, fastest: Math.min(...land.rows.map((r) => r.latency_p99_ms)) };
}

function optimumOf(t: Truth, sloMs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const v of t.rows.values()) if (v.tail <= sloMs && v.e < best) best = v.e;
  return best;
}

function score(run: TuningRun, truth: Truth, sloMs: number, optJ: number, optMarginJ: number) {
  const limit = sloMs * (1 - MARGIN);
  let inc: { m: number; key: string } | null = null;
  let t5: number | null = null;
  let t1: number | null = null;
  run.trials.forEach((tr, i) => {
    const m = tr.measurement;
    if (m.valid && m.latencyTailMs <= limit && (!inc || m.energyPerQueryJ < inc.m)) inc = { m: m.energyPerQueryJ, key: configKey(tr.config) };
    const it = inc ? truth.rows.get((inc as { key: string }).key) : undefined;
    if (it && it.tail <= sloMs) {
      if (t5 === null && it.e <= optJ * 1.05) t5 = i + 1;
      if (t1 === null && it.e <= optJ * 1.01) t1 = i + 1;
    }
  });
  const rec = run.recommendation ? truth.rows.get(configKey(run.recommendation.config)) : undefined;
  const recE = rec?.e ?? Number.POSITIVE_INFINITY;
  const presetBeats = run.baselines.some((b) => {
    const tb = truth.rows.get(configKey(b.config));
    return b.feasible && tb !== undefined && tb.tail <= sloMs && tb.e < recE * 0.99;
  });
  return {
    t5,
    t1,
    measurements: run.trials.length,
    byPhase: { ...(run.measurements?.byPhase ?? {}) },
    finalGap: rec ? rec.e / optJ - 1 : null,
    finalGapMargin: rec ? rec.e / optMarginJ - 1 : null,
    finalKey: run.recommendation ? configKey(run.recommendation.config) : null,
    finalInfeasible: rec !== undefined && rec.tail > sloMs,
    presetBeats,
  };
}

function optionsOf(method: Method, prior: PriorPredictor | null): Partial<TuneOptions> {
  switch (method) {
    case 'prior':
      return { prior };
    case 'no-prior':
      return { prior: null };
    case 'two-phase':
      return { method: 'two-phase', prior: null };
    case 'random':
      return { optimizer: 'random', prior: null };
  }
}

const results: RunResult[] = [];
const scenarios: { scenario: string; truth: string; slo: string; sloMs: number; optimumJ: number; optimumMarginJ: number; gridSize: number }[] = [];
const t0 = performance.now();

async function runScenario(
  scenario: string,
  boardLabel: string,
  truthName: string,
  truth: Truth,
  makeRunner: (seed: number) => TrialRunner,
  model: string,
  prior: PriorPredictor | null,
  seedList: readonly number[],
) {
  for (const [level, mult] of Object.entries(SLO_LEVELS)) {
    const sloMs = +(truth.fastest * mult).toPrecision(3);
    const optimumJ = optimumOf(truth, sloMs);
    const optimumMarginJ = optimumOf(truth, sloMs * (1 - MARGIN));
    scenarios.push({ scenario, truth: truthName, slo: level, sloMs, optimumJ, optimumMarginJ, gridSize: truth.rows.size });
    for (const seed of seedList)
      for (const method of methods) {
        // the baselines run on fewer nominal seeds (they cost several times as much)
        if (truthName === 'nominal' && (method === 'two-phase' || method === 'random') && seed >= baselineSeeds) continue;
        const runner = makeRunner(seed);
        const run = await tune({
          runner,
          model,
          slo: { latencyMs: sloMs, quantile: 0.99 },
          seed,
          batchSizes: BATCHES,
          ...optionsOf(method, prior),
        });
        results.push({ scenario, board: boardLabel, truth: truthName, slo: level, method, seed, ...score(run, truth, sloMs, optimumJ, optimumMarginJ) });
      }
    process.stderr.write(`${scenario} [${truthName}] ${level} (${sloMs} ms) done, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
}

interface Stored {
  runs: RunResult[];
  scenarios: typeof scenarios;
  timing: { observations: number; medianMs: number; p90Ms: number; medianCpuMs: number; gridSize: number }[];
  seconds: number;
}
const merged: Stored[] = mergeFiles.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Stored);
for (const m of merged) {
  results.push(...m.runs);
  scenarios.push(...m.scenarios);
}

for (const boardName of mergeFiles.length > 0 ? [] : boards)
  for (const model of models) {
    const board = loadBoard(boardName);
    const profile = zooProfile(model);
    // the prior is the nominal twin, one memoised predictor per scenario (shared by every run)
    const prior = twinPrior(board, profile, { quantile: 0.99 });
    const truths: [TwinPerturbation | null, readonly number[]][] = [
      [null, Array.from({ length: seeds }, (_, i) => i)],
      ...SHIFTED_BOARDS.map((p): [TwinPerturbation, number[]] => [p, Array.from({ length: shiftedSeeds }, (_, i) => 100 + i)]),
    ];
    for (const [p, seedList] of truths) {
      if (seedList.length === 0) continue;
      const truthBoard = p ? perturbBoard(board, p) : board;
      const truth = truthOf(truthBoard, profile);
      await runScenario(
        `${boardName} ${model}`,
        boardName,
        p ? p.name : 'nominal',
        truth,
        (seed) => createSimTrialRunner({ board: truthBoard, profile, seed: 1000 + seed }),
        model,
        prior,
        seedList,
      );
    }
  }

for (const file of landscapeFiles) {
  const land = readLandscapeCsv(file);
  const rows = new Map<string, { e: number; tail: number }>();
  for (const r of land.rows)
    rows.set(configKey({ cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: r.batch }), {
      e: r.energy_per_query_j,
      tail: r.latency_p99_ms,
    });
  const truth: Truth = { rows, fastest: Math.min(...land.rows.map((r) => r.latency_p99_ms)) };
  const model = land.model;
  const prior = priorBoardName ? twinPrior(loadBoard(priorBoardName), zooProfile(model), { quantile: 0.99 }) : null;
  await runScenario(
    `landscape ${file.split('/').pop()}`,
    land.device,
    'csv',
    truth,
    (seed) => createLandscapeTrialRunner({ landscape: land, seed: 1000 + seed }),
    model,
    prior,
    Array.from({ length: seeds }, (_, i) => i),
  );
}

// suggestion time at 20 and 50 observations on the 5-D TX2 space (60 060 points: sampling + local search), with the prior
const timing: { observations: number; medianMs: number; p90Ms: number; medianCpuMs: number; gridSize: number }[] = [];
for (const m of merged.slice(0, 1)) timing.push(...m.timing);
if (mergeFiles.length === 0) {
  const board = loadBoard('tx2');
  const profile = zooProfile('efficientnet-b0');
  const runner = createSimTrialRunner({ board, profile, seed: 7 });
  const d = await runner.describe();
  const space = createKnobSpace({ domains: { ...d.knobs, batch: BATCHES } });
  // the prior as tune() hands it to the optimiser: evaluated over the space once, then looked up
  const prior = priorOnSpace(twinPrior(board, profile), space)!;
  const truth = truthOf(board, profile);
  const sloMs = 3 * truth.fastest;
  const at = new Map<number, number[]>([
    [20, []],
    [50, []],
  ]);
  const cpuAt = new Map<number, number[]>([
    [20, []],
    [50, []],
  ]);
  for (let seed = 0; seed < (quick ? 1 : 3); seed++) {
    const bo = new ConstrainedBo({
      space,
      threshold: Math.log(sloMs * 0.98),
      seed,
      minImprovement: 0,
      sampleSize: 2048,
      prior: prior.mean,
    });
    for (let n = 0; n <= 50; n++) {
      const c0 = process.cpuUsage();
      const s = bo.suggest();
      const c1 = process.cpuUsage(c0);
      if (!s) break;
      at.get(n)?.push(s.suggestMs);
      cpuAt.get(n)?.push((c1.user + c1.system) / 1000);
      const m = await runner.measure(space.toConfig(s.point));
      bo.observe({
        point: s.point,
        valid: true,
        objective: Math.log(m.energyPerQueryJ),
        constraint: Math.log(m.latencyTailMs),
        objectiveNoiseVar: m.noise.energyCv ** 2 / 3,
        constraintNoiseVar: m.noise.latencyTailCv ** 2 / 3,
      });
    }
  }
  for (const [n, ms] of at)
    timing.push({
      observations: n,
      medianMs: quantile(ms, 0.5),
      p90Ms: quantile(ms, 0.9),
      medianCpuMs: quantile(cpuAt.get(n)!, 0.5),
      gridSize: truth.rows.size,
    });
}

const seconds = merged.length > 0 ? merged.reduce((a, m) => a + m.seconds, 0) : (performance.now() - t0) / 1000;
const fmt = (v: number) => (Number.isFinite(v) ? String(v) : 'never');
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
function summarise(rs: readonly RunResult[]) {
  const t5 = rs.map((r) => r.t5 ?? Number.POSITIVE_INFINITY);
  const t1 = rs.map((r) => r.t1 ?? Number.POSITIVE_INFINITY);
  const gaps = rs.map((r) => r.finalGap ?? Number.POSITIVE_INFINITY);
  const gapsMargin = rs.map((r) => r.finalGapMargin ?? Number.POSITIVE_INFINITY);
  const meas = rs.map((r) => r.measurements);
  return {
    runs: rs.length,
    t5Median: quantile(t5, 0.5),
    t5P90: quantile(t5, 0.9),
    t1Median: quantile(t1, 0.5),
    t1P90: quantile(t1, 0.9),
    regretMedian: quantile(gaps, 0.5),
    regretP90: quantile(gaps, 0.9),
    regretMax: quantile(gaps, 1),
    regretMarginMedian: quantile(gapsMargin, 0.5),
    regretMarginP90: quantile(gapsMargin, 0.9),
    regretMarginMax: quantile(gapsMargin, 1),
    infeasible: rs.filter((r) => r.finalInfeasible).length,
    noRecommendation: rs.filter((r) => r.finalGap === null).length,
    presetBeats: rs.filter((r) => r.presetBeats).length,
    measurementsMedian: quantile(meas, 0.5),
    measurementsMax: quantile(meas, 1),
  };
}
const groups = [
  ['nominal', (r: RunResult) => r.truth === 'nominal'],
  ['shifted', (r: RunResult) => r.truth !== 'nominal' && r.truth !== 'csv'],
  ...(landscapeFiles.length > 0 ? [['csv', (r: RunResult) => r.truth === 'csv'] as const] : []),
] as const;
const summary = groups
  .flatMap(([g, f]) => methods.map((m) => ({ truth: g, method: m, ...summarise(results.filter((r) => f(r) && r.method === m)) })))
  .filter((s) => s.runs > 0);

const lines: string[] = [];
lines.push(
  '| truth | method | runs | measurements to 5 % (median / p90) | to 1 % (median / p90) | final regret (median / p90 / max) | regret vs the optimum within the 2 % margin (median / p90 / max) | infeasible | baseline beats it | measurements per run (median / max) |',
);
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const s of summary)
  lines.push(
    `| ${s.truth} | ${s.method} | ${s.runs} | ${fmt(s.t5Median)} / ${fmt(s.t5P90)} | ${fmt(s.t1Median)} / ${fmt(s.t1P90)} | ${pct(s.regretMedian)} / ${pct(s.regretP90)} / ${pct(s.regretMax)} | ${pct(s.regretMarginMedian)} / ${pct(s.regretMarginP90)} / ${pct(s.regretMarginMax)} | ${s.infeasible} | ${s.presetBeats} | ${s.measurementsMedian} / ${s.measurementsMax} |`,
  );
const base = summary.find((s) => s.truth === 'nominal' && s.method === 'two-phase');
const ours = summary.find((s) => s.truth === 'nominal' && s.method === 'prior');
if (base && ours)
  lines.push(
    '',
    `Nominal, prior vs two-phase: median measurements to 5 % ${fmt(ours.t5Median)} vs ${fmt(base.t5Median)}; per run ${ours.measurementsMedian} vs ${base.measurementsMedian} (${(base.measurementsMedian / ours.measurementsMedian).toFixed(1)}× fewer); median final regret ${pct(ours.regretMedian)} vs ${pct(base.regretMedian)}.`,
  );
lines.push('');
const perTruth = [...new Set(results.map((r) => r.truth))];
lines.push(`| truth | ${methods.map((m) => `${m}: to 5 % / regret median / p90`).join(' | ')} |`);
lines.push(`| --- | ${methods.map(() => '---').join(' | ')} |`);
for (const t of perTruth)
  lines.push(
    `| ${t} | ${methods
      .map((m) => {
        const s = summarise(results.filter((r) => r.truth === t && r.method === m));
        return `${fmt(s.t5Median)} / ${pct(s.regretMedian)} / ${pct(s.regretP90)}`;
      })
      .join(' | ')} |`,
  );
lines.push('');
lines.push(`| scenario | SLO | ${methods.map((m) => `${m}: to 5 % / to 1 % / regret median / measurements`).join(' | ')} |`);
lines.push(`| --- | --- | ${methods.map(() => '---').join(' | ')} |`);
for (const sc of scenarios.filter((x) => x.truth === 'nominal' || x.truth === 'csv'))
  lines.push(
    `| ${sc.scenario} | ${sc.slo} ${sc.sloMs} ms | ${methods
      .map((m) => {
        const s = summarise(results.filter((r) => r.scenario === sc.scenario && r.truth === sc.truth && r.slo === sc.slo && r.method === m));
        return `${fmt(s.t5Median)} / ${fmt(s.t1Median)} / ${pct(s.regretMedian)} / ${s.measurementsMedian}`;
      })
      .join(' | ')} |`,
  );
lines.push('');
lines.push('| observations | grid points | suggestion wall ms (median / p90) | CPU ms (median) |');
lines.push('| --- | --- | --- | --- |');
for (const t of timing) lines.push(`| ${t.observations} | ${t.gridSize} | ${t.medianMs.toFixed(1)} / ${t.p90Ms.toFixed(1)} | ${t.medianCpuMs.toFixed(1)} |`);
lines.push('');
lines.push(
  `Load average during the run: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(
      ' ',
    )} on ${cpus().length} CPUs. ${results.length} runs in ${seconds.toFixed(0)} s (${quick ? 'quick' : 'full'}: ${seeds} nominal seeds, ${shiftedSeeds} per shifted board).`,
);
process.stdout.write(`${lines.join('\n')}\n`);

writeFileSync(
  outFile ?? new URL(`./results/tuner-runs${quick ? '-quick' : ''}.json`, import.meta.url),
  `${JSON.stringify({ generated: new Date().toISOString(), quick, seeds, shiftedSeeds, baselineSeeds, boards, models, methods, sloLevels: SLO_LEVELS, seconds, summary, timing, scenarios, runs: results })}\n`,
);

/**
 * Tuner benchmark: constrained BO against random search and a coarse grid on the noisy device twin,
 * each scored against the exhaustive optimum of the twin's own noise-free landscape.
 *
 *   npm run bench:tuner               # 3 boards × 4 models × 3 SLOs × 10 seeds
 *   npm run bench:tuner -- --quick    # AGX Orin × {B0, BERT-base} × 3 SLOs × 5 seeds
 *   options: --seeds N  --budget N (CBO and grid; default 40)  --random-budget N (default 300)
 *            --grid-scoring plain|fast (CBO's grid scoring; default fast, same suggestions)
 *
 * Per scenario the CPU clock is the landscape's (the boot power mode's), the search covers GPU min ≤
 * GPU max × EMC × batch {1,2,4,8,16}. SLO levels are multiples of the fastest noise-free p99 of
 * the grid: tight 1.5×, medium 3×, loose 6×. A run's incumbent after t trials is the lowest measured
 * energy among trials measured at most SLO × 0.98 (the tuner's margin); "within x %" counts the
 * first trial where the incumbent is truly feasible and within x % of the optimum. The final
 * recommendation is the tuner's own step (`confirmRecommendation` with `tune`'s surrogate ranking:
 * pooled windows, up to 5 confirmations, fallback the cheapest non-refuted candidate). Writes
 * bench/results/tuner.json and prints the tables for docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type Config, configKey } from '../src/core/config.ts';
import { SLO_MARGINS } from '../src/core/slo.ts';
import type { TrialRecord } from '../src/core/tuning-run.ts';
import type { WorkloadProfile } from '../src/core/workload-profile.ts';
import { type BoardSpec, computeLandscape, createSimTrialRunner, loadBoard } from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';
import { gridSearch, randomSearch } from '../src/optimize/baselines.ts';
import { ConstrainedBo } from '../src/optimize/constrained-bo.ts';
import { createKnobSpace, type KnobSpace } from '../src/tune/knob-space.ts';
import type { Optimizer } from '../src/optimize/optimizer.ts';
import { confirmRecommendation } from '../src/tune/recommendation.ts';
import { fitSurrogates, rankByModel } from '../src/tune/surrogates.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = flag('--quick');
const seeds = value('--seeds', quick ? 5 : 10);
const budget = value('--budget', 40);
const randomBudget = value('--random-budget', 300);
const list = (name: string, dflt: string[]) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]!.split(',') : dflt;
};
const boards = list('--boards', quick ? ['orin-agx'] : ['tx2', 'orin-agx', 'orin-nano']);
const models = list('--models', quick ? ['efficientnet-b0', 'bert-base'] : ['efficientnet-b0', 'efficientnet-b4', 'efficientnet-b7', 'bert-base']);
const gridScoring = args.includes('--grid-scoring') ? (args[args.indexOf('--grid-scoring') + 1] as 'plain' | 'fast') : 'fast';
if (gridScoring !== 'plain' && gridScoring !== 'fast') throw new Error('--grid-scoring must be plain or fast');
const SLO_LEVELS = { tight: 1.5, medium: 3, loose: 6 } as const;
const MARGIN = SLO_MARGINS.recommendation;
const BATCHES = [1, 2, 4, 8, 16];
/** Virtual seconds one twin trial stands for (settle + 3 windows of 10 s), for the overhead ratio. */
const TRIAL_S = 32;

interface RunResult {
  readonly device: string;
  readonly model: string;
  readonly slo: string;
  readonly optimizer: string;
  readonly seed: number;
  /** Trials to within 5 % / 1 % of the optimum (null = not within the budget). */
  readonly t5: number | null;
  readonly t1: number | null;
  readonly trials: number;
  readonly violations: number;
  /** Re-measurements the recommendation step spent. */
  readonly confirmations: number;
  /** The recommended configuration (configKey), null = none. */
  readonly finalKey: string | null;
  readonly finalInfeasible: boolean;
  /** E_true(final incumbent)/E_opt − 1; null when there is none. */
  readonly finalGap: number | null;
  /** True energy of the incumbent after each trial (null before the first). */
  readonly bestSoFarJ: (number | null)[];
  readonly suggestMs: number[];
}

const quantile = (a: readonly number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const fmtT = (v: number, cap: number) => (Number.isFinite(v) ? String(v) : `>${cap}`);

async function runOne(
  opt: Optimizer,
  max: number,
  board: BoardSpec,
  profile: WorkloadProfile,
  seed: number,
  truth: Map<string, { e: number; tail: number }>,
  space: KnobSpace,
  cpuHz: number,
  sloMs: number,
  optJ: number,
) {
  const runner = createSimTrialRunner({ board, profile, seed: 1000 + seed });
  const limit = sloMs * (1 - MARGIN);
  let inc: { measured: number; key: string } | null = null;
  const records: TrialRecord[] = [];
  const record = (config: Config, source: TrialRecord['source'], m: TrialRecord['measurement']): TrialRecord => ({
    index: records.length,
    source,
    config,
    measurement: m,
    feasible: m.valid && m.latencyTailMs <= sloMs,
  });
  let t5: number | null = null;
  let t1: number | null = null;
  let violations = 0;
  const bestSoFarJ: (number | null)[] = [];
  const suggestMs: number[] = [];
  let t = 0;
  for (; t < max; t++) {
    const s = opt.suggest();
    if (!s) break;
    suggestMs.push(s.suggestMs);
    const config = space.toConfig(s.point);
    const m = await runner.measure(config, { quantile: 0.99 });
    records.push(record(config, s.source, m));
    const key = configKey(config);
    const tr = truth.get(key)!;
    if (tr.tail > sloMs) violations++;
    opt.observe({ point: s.point, valid: true, objective: Math.log(m.energyPerQueryJ), constraint: Math.log(m.latencyTailMs) });
    if (m.latencyTailMs <= limit && (!inc || m.energyPerQueryJ < inc.measured)) inc = { measured: m.energyPerQueryJ, key };
    const it = inc ? truth.get(inc.key)! : null;
    bestSoFarJ.push(it ? it.e : null);
    if (it && it.tail <= sloMs) {
      if (t5 === null && it.e <= optJ * 1.05) t5 = t + 1;
      if (t1 === null && it.e <= optJ * 1.01) t1 = t + 1;
    }
  }
  // the final recommendation is the tuner's own step: the surrogates fitted on the trials as tune()
  // fits them, candidates ranked by the denoised energy, confirmed by re-measurement on this runner
  const surrogates = fitSurrogates(space, { cpuHz }, records, seed);
  const { recommendation, confirmations } = await confirmRecommendation({
    trials: records,
    slo: { latencyMs: sloMs, quantile: 0.99 },
    margin: MARGIN,
    remeasure: async (c) => {
      const rec = record(c, 'confirm', await runner.measure(c, { quantile: 0.99 }));
      records.push(rec);
      return rec;
    },
    rank: (cands) => rankByModel(cands, space, surrogates),
  });
  const finalKey = recommendation ? configKey(recommendation.config) : null;
  const fin = finalKey ? truth.get(finalKey)! : null;
  return {
    t5,
    t1,
    trials: t,
    violations,
    confirmations: confirmations.length,
    finalKey,
    finalInfeasible: fin !== null && fin.tail > sloMs,
    finalGap: fin ? fin.e / optJ - 1 : null,
    bestSoFarJ,
    suggestMs,
  };
}

const results: RunResult[] = [];
const scenarios: {
  device: string;
  model: string;
  slo: string;
  sloMs: number;
  optimumJ: number;
  /** How far below the SLO the optimum's noise-free p99 lies (a few % = inside the measurement noise). */
  optimumHeadroom: number;
  gridSize: number;
  feasibleShare: number;
}[] = [];
const t0 = performance.now();
for (const boardName of boards)
  for (const model of models) {
    // one spec and one profile object per scenario: the twin caches its service tables per object
    const board = loadBoard(boardName);
    const profile = zooProfile(model);
    const land = computeLandscape({ board, profile, batchSizes: BATCHES, noise: 0 });
    const cpuHz = land.rows[0]!.cpu_hz;
    const truth = new Map<string, { e: number; tail: number }>();
    for (const r of land.rows)
      truth.set(configKey({ cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: r.batch }), {
        e: r.energy_per_query_j,
        tail: r.latency_p99_ms,
      });
    const runner = createSimTrialRunner({ board, profile });
    const d = await runner.describe();
    const space = createKnobSpace({ domains: { ...d.knobs, batch: BATCHES }, fixed: { cpuHz } });
    const fastest = Math.min(...land.rows.map((r) => r.latency_p99_ms));
    for (const [level, mult] of Object.entries(SLO_LEVELS)) {
      const sloMs = +(fastest * mult).toPrecision(3);
      const feasible = land.rows.filter((r) => r.latency_p99_ms <= sloMs);
      const best = feasible.reduce((a, r) => (r.energy_per_query_j < a.energy_per_query_j ? r : a));
      const optimumJ = best.energy_per_query_j;
      scenarios.push({
        device: `sim:${boardName}`,
        model,
        slo: level,
        sloMs,
        optimumJ,
        optimumHeadroom: 1 - best.latency_p99_ms / sloMs,
        gridSize: land.rows.length,
        feasibleShare: feasible.length / land.rows.length,
      });
      for (let seed = 0; seed < seeds; seed++) {
        const threshold = Math.log(sloMs * (1 - MARGIN));
        const variants: [string, Optimizer, number][] = [
          ['cbo', new ConstrainedBo({ space, threshold, seed, gridScoring }), budget],
          ['random', randomSearch(space, seed), randomBudget],
          ['grid', gridSearch(space, budget, seed), budget],
        ];
        for (const [name, opt, max] of variants) {
          const r = await runOne(opt, max, board, profile, seed, truth, space, cpuHz, sloMs, optimumJ);
          results.push({ device: `sim:${boardName}`, model, slo: level, optimizer: name, seed, ...r });
        }
      }
      process.stderr.write(`${boardName} ${model} ${level} (${sloMs} ms) done, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  }

// time per suggestion at 20, 50, 100 observations on the 5005-point TX2 grid
const timing: { observations: number; medianMs: number; p90Ms: number; medianCpuMs: number; gridSize: number; overheadPerTrial: number }[] = [];
{
  const board = loadBoard('tx2');
  const profile = zooProfile('efficientnet-b0');
  const runner = createSimTrialRunner({ board, profile, seed: 7 });
  const d = await runner.describe();
  const land = computeLandscape({ board, profile, batchSizes: BATCHES, noise: 0 });
  const cpuHz = land.rows[0]!.cpu_hz;
  const space = createKnobSpace({ domains: { ...d.knobs, batch: BATCHES }, fixed: { cpuHz } });
  const sloMs = 3 * Math.min(...land.rows.map((r) => r.latency_p99_ms));
  const at = new Map<number, number[]>([
    [20, []],
    [50, []],
    [100, []],
  ]);
  const cpuAt = new Map<number, number[]>([
    [20, []],
    [50, []],
    [100, []],
  ]);
  let gridSize = 0;
  for (let seed = 0; seed < (quick ? 2 : 3); seed++) {
    const bo = new ConstrainedBo({ space, threshold: Math.log(sloMs * 0.98), seed, minImprovement: 0, gridScoring });
    gridSize = bo.gridSize ?? 0;
    for (let n = 0; n <= 100; n++) {
      const c0 = process.cpuUsage();
      const s = bo.suggest();
      const c1 = process.cpuUsage(c0);
      if (!s) break;
      at.get(n)?.push(s.suggestMs);
      cpuAt.get(n)?.push((c1.user + c1.system) / 1000);
      const m = await runner.measure(space.toConfig(s.point));
      bo.observe({ point: s.point, valid: true, objective: Math.log(m.energyPerQueryJ), constraint: Math.log(m.latencyTailMs) });
    }
  }
  for (const [n, ms] of at)
    timing.push({
      observations: n,
      medianMs: quantile(ms, 0.5),
      p90Ms: quantile(ms, 0.9),
      medianCpuMs: quantile(cpuAt.get(n)!, 0.5),
      gridSize,
      overheadPerTrial: quantile(ms, 0.5) / 1000 / TRIAL_S,
    });
}

// summaries
const cap = (o: string) => (o === 'random' ? randomBudget : budget);
const summary = ['cbo', 'random', 'grid'].map((optimizer) => {
  const rs = results.filter((r) => r.optimizer === optimizer);
  const t5 = rs.map((r) => r.t5 ?? Number.POSITIVE_INFINITY);
  const t1 = rs.map((r) => r.t1 ?? Number.POSITIVE_INFINITY);
  const trials = rs.reduce((s, r) => s + r.trials, 0);
  return {
    optimizer,
    runs: rs.length,
    budget: cap(optimizer),
    t5Median: quantile(t5, 0.5),
    t5P90: quantile(t5, 0.9),
    t1Median: quantile(t1, 0.5),
    t1P90: quantile(t1, 0.9),
    reached5: rs.filter((r) => r.t5 !== null).length / rs.length,
    reached1: rs.filter((r) => r.t1 !== null).length / rs.length,
    violationShare: rs.reduce((s, r) => s + r.violations, 0) / trials,
    finalInfeasibleShare: rs.filter((r) => r.finalInfeasible).length / rs.length,
    noFinalShare: rs.filter((r) => r.finalGap === null).length / rs.length,
    finalGapMedian: quantile(
      rs.filter((r) => r.finalGap !== null).map((r) => r.finalGap!),
      0.5,
    ),
  };
});
const seconds = (performance.now() - t0) / 1000;

const lines: string[] = [];
lines.push(
  `| optimiser | runs | budget | trials to 5 % (median / p90) | trials to 1 % (median / p90) | reached 5 % / 1 % | trials breaking the SLO | infeasible final | final gap (median) |`,
);
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const s of summary)
  lines.push(
    `| ${s.optimizer} | ${s.runs} | ${s.budget} | ${fmtT(s.t5Median, s.budget)} / ${fmtT(s.t5P90, s.budget)} | ${fmtT(s.t1Median, s.budget)} / ${fmtT(s.t1P90, s.budget)} | ${(s.reached5 * 100).toFixed(0)} % / ${(s.reached1 * 100).toFixed(0)} % | ${(s.violationShare * 100).toFixed(1)} % | ${(s.finalInfeasibleShare * 100).toFixed(1)} % | ${(s.finalGapMedian * 100).toFixed(2)} % |`,
  );
const cbo = summary[0]!;
const rnd = summary[1]!;
lines.push('');
lines.push(`Random / CBO median trials: ${(rnd.t5Median / cbo.t5Median).toFixed(1)}× to 5 %, ${(rnd.t1Median / cbo.t1Median).toFixed(1)}× to 1 %.`);
lines.push('');
lines.push('| scenario | SLO ms | feasible | optimum headroom | CBO t5 / t1 (median) | random t5 / t1 (median) | grid t5 / t1 (median) |');
lines.push('| --- | --- | --- | --- | --- | --- | --- |');
for (const sc of scenarios) {
  const cell = (o: string) => {
    const rs = results.filter((r) => r.optimizer === o && r.device === sc.device && r.model === sc.model && r.slo === sc.slo);
    const m5 = quantile(
      rs.map((r) => r.t5 ?? Number.POSITIVE_INFINITY),
      0.5,
    );
    const m1 = quantile(
      rs.map((r) => r.t1 ?? Number.POSITIVE_INFINITY),
      0.5,
    );
    return `${fmtT(m5, cap(o))} / ${fmtT(m1, cap(o))}`;
  };
  lines.push(
    `| ${sc.device} ${sc.model} ${sc.slo} | ${sc.sloMs} | ${(sc.feasibleShare * 100).toFixed(0)} % | ${(sc.optimumHeadroom * 100).toFixed(1)} % | ${cell('cbo')} | ${cell('random')} | ${cell('grid')} |`,
  );
}
lines.push('');
lines.push('| observations | grid points | suggestion wall ms (median / p90) | CPU ms (median) | wall time / one 32 s twin trial |');
lines.push('| --- | --- | --- | --- | --- |');
for (const t of timing)
  lines.push(
    `| ${t.observations} | ${t.gridSize} | ${t.medianMs.toFixed(1)} / ${t.p90Ms.toFixed(1)} | ${t.medianCpuMs.toFixed(1)} | ${(t.overheadPerTrial * 100).toFixed(3)} % |`,
  );
lines.push('');
lines.push(
  `Load average during the run: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${cpus().length} CPUs`,
);
lines.push('');
for (const r of results.filter((x) => x.finalInfeasible))
  lines.push(`Infeasible final: ${r.device} ${r.model} ${r.slo} ${r.optimizer} seed ${r.seed}: ${r.finalKey} (cpu|gpu min|gpu max|emc|batch)`);
lines.push(`${results.length} runs in ${seconds.toFixed(0)} s (${quick ? 'quick' : 'full'}, ${seeds} seeds).`);
process.stdout.write(`${lines.join('\n')}\n`);

writeFileSync(
  new URL('./results/tuner.json', import.meta.url),
  `${JSON.stringify({
    generated: new Date().toISOString(),
    quick,
    gridScoring,
    seeds,
    budget,
    randomBudget,
    margin: MARGIN,
    sloLevels: SLO_LEVELS,
    seconds,
    summary,
    timing,
    scenarios,
    // compact (under biome's 1 MiB): curves to 3 significant digits, per-suggestion times left out (summarised in `timing`)
    // the recommended configuration only where it is infeasible (every run's would take the file over 1 MiB)
    infeasibleFinals: results
      .filter((r) => r.finalInfeasible)
      .map((r) => ({ device: r.device, model: r.model, slo: r.slo, optimizer: r.optimizer, seed: r.seed, config: r.finalKey })),
    runs: results.map(({ suggestMs: _omit, finalKey: _key, ...r }) => ({ ...r, bestSoFarJ: r.bestSoFarJ.map((v) => (v === null ? null : +v.toPrecision(3))) })),
  })}\n`,
);

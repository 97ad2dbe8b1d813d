/**
 * Calibrating the twin from ≤ 5 measured configurations. The "real boards" are shifted twins (the
 * perturbation family the tuner benchmark uses: perturbationSets), measured with the twin's noisy
 * trial runner (3 % per window) at 5 configurations spread over batch size, GPU and EMC clocks.
 * `calibrateTwin` fits the nominal twin to those points; the fit is scored at every held-out
 * configuration of a grid (pinned GPU clocks × EMC × batch, and governed GPU ranges) against the
 * shifted twin's exact values. Baseline measured in the same run: the uncalibrated nominal twin (the
 * prior the tuner starts from) at the same configurations.
 *
 * Targets: median error at held-out configurations ≤ 10 % for latency (p50) and for power; the sign
 * of every trend preserved (energy per query against batch, GPU minimum clock, EMC clock; a step
 * whose true change is under 1 % has no sign and is not counted). Trend signs are counted three
 * ways: every step; only steps one pair of measurements can resolve (true change at least the
 * standard deviation of the difference of two measured energies per query, from the noise level);
 * only steps whose sign is robust on the true board itself (the same when any one timing factor of
 * the shifted board, per-op overhead, GPU efficiency or memory bandwidth, moves by ±1 %).
 *
 *   npm run bench:twin-calibration                full: 10 shifted boards × 5 board/model/runtime cases
 *   npm run bench:twin-calibration -- --quick     5 shifted boards × 1 case (< 2 min)
 *   npm run bench:twin-calibration -- --design-seeds
 *       the seeds the measured-configuration design was chosen on: 10 seeded mixtures (seed 2, none of
 *       them in the reported sets) measured with other noise seeds; docs not written
 * Prints a markdown table and writes it to docs/benchmarks.md under "## Twin calibration".
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { Config } from '../src/core/config.ts';
import type { WorkloadProfile } from '../src/core/workload-profile.ts';
import { calibrateTwin, coefficientsBoard, type MeasuredPoint, UNIT_COEFFICIENTS } from '../src/device/sim/calibrate/index.ts';
import {
  type BoardSpec,
  applyRuntime,
  createSimTrialRunner,
  evaluateConfig,
  loadBoard,
  perturbBoard,
  perturbationSets,
  randomPerturbation,
  type TwinPerturbation,
} from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';

const quick = process.argv.includes('--quick');
const designSeeds = process.argv.includes('--design-seeds');
const SETS = designSeeds ? Array.from({ length: 10 }, (_, i) => randomPerturbation(2000 + i)) : perturbationSets(quick ? 5 : 10, 1);
/** First noise seed of the measured points (one per shifted board). */
const NOISE_SEED = designSeeds ? 500 : 100;
const NOISE = 0.03;
const WINDOWS = 3;
/**
 * Resolution of one pair of measurements: the standard deviation of the difference of two measured
 * energies per query (each the mean of WINDOWS windows; per window the service time varies by NOISE
 * and power by 0.6 · NOISE, the trial runner's noise model).
 */
const RESOLUTION = Math.sqrt(2) * Math.sqrt((NOISE ** 2 + (0.6 * NOISE) ** 2) / WINDOWS);
/** Relative move of one timing factor under which a robust trend keeps its sign on the true board. */
const ROBUST_SHIFT = 0.01;
interface Case {
  readonly board: string;
  readonly model: string;
  readonly dtype: 'fp16' | 'fp32';
  readonly runtime: string;
}
const CASES: Case[] =
  quick && !designSeeds
    ? [{ board: 'orin-agx', model: 'resnet-50', dtype: 'fp16', runtime: 'tensorrt' }]
    : [
        { board: 'orin-agx', model: 'resnet-50', dtype: 'fp16', runtime: 'tensorrt' },
        { board: 'orin-agx', model: 'efficientnet-b0', dtype: 'fp16', runtime: 'tensorrt' },
        { board: 'orin-agx', model: 'bert-base', dtype: 'fp16', runtime: 'tensorrt' },
        { board: 'orin-agx', model: 'resnet-50', dtype: 'fp32', runtime: 'pytorch' },
        { board: 'tx2', model: 'mobilenet-v2', dtype: 'fp16', runtime: 'tensorrt' },
      ];

const md: string[] = [];
const out = (s = '') => {
  console.log(s);
  md.push(s);
};
const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const rel = (a: number, b: number) => Math.abs(a / b - 1);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const key = (c: Config) => `${c.gpuMinHz}|${c.gpuMaxHz}|${c.emcHz}|${c.batch}`;

/**
 * The 5 measured configurations: batch 1 and 16 at the top clocks, batch 8 at a low pinned GPU clock,
 * batch 8 and batch 1 with the governor from the floor (one EMC step down). Chosen with
 * `--design-seeds` (other shifted boards and noise seeds than the reported ones), among ten designs:
 * flipped trend steps there, all steps counted: this design 18; the previous one (batch 4 at a middle
 * pinned GPU clock and lower EMC instead of batch 8 governed) 28; batch 8 governed instead of batch 1
 * governed 24; batch 8 at the top clocks instead of 16 21; batch 8 governed instead of batch 8 at the
 * low pinned clock 37; batch 8 pinned at the floor instead 26; batch 1 at the low pinned clock and
 * batch 8 governed 30; one point at a low CPU clock (to separate per-op overhead from GPU time: batch 1
 * at the top GPU clock instead of at the default CPU clock 24, instead of batch 8 governed 29; batch 8
 * at the low pinned GPU clock 46). On the reported sets, run once after the choice, the previous design flips 14
 * steps (3 of them resolvable, 3 robust) and this one 21 (7, 4): the difference between designs is
 * within the spread between seed sets; no design of 5 configurations tried keeps every step.
 */
function design(b: BoardSpec): Config[] {
  const g = b.gpu.freqsHz;
  const e = b.emc.freqsHz;
  const top = g.length - 1;
  const pin = (i: number, emcHz: number, batch: number): Config => ({ gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch });
  const governed = (batch: number): Config => ({ gpuMinHz: g[0]!, gpuMaxHz: g[top]!, emcHz: e[e.length - 2]!, batch });
  return [pin(top, e[e.length - 1]!, 1), pin(top, e[e.length - 1]!, 16), pin(Math.round(top / 4), e[e.length - 1]!, 8), governed(8), governed(1)];
}

const BATCHES = [1, 2, 4, 8, 16, 32];

/** Held-out grid: pinned clocks (every other GPU step) × EMC × batch, and governed ranges from the floor. */
function heldOut(b: BoardSpec, exclude: ReadonlySet<string>): Config[] {
  const g = b.gpu.freqsHz;
  const out: Config[] = [];
  for (const batch of BATCHES)
    for (const emcHz of b.emc.freqsHz) {
      for (let i = 0; i < g.length; i += 2) out.push({ gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch });
      for (let j = 3; j < g.length; j += 3) out.push({ gpuMinHz: g[0]!, gpuMaxHz: g[j]!, emcHz, batch });
    }
  return out.filter((c) => !exclude.has(key(c)));
}

/** Trend steps (pairs of configurations) along batch, GPU minimum and EMC. */
function trendPairs(b: BoardSpec): { axis: 'batch' | 'gpu-min' | 'emc'; a: Config; b: Config }[] {
  const g = b.gpu.freqsHz;
  const e = b.emc.freqsHz;
  const top = g[g.length - 1]!;
  const pairs: { axis: 'batch' | 'gpu-min' | 'emc'; a: Config; b: Config }[] = [];
  for (let i = 0; i < g.length; i += 3)
    for (const emcHz of [e[e.length - 1]!, e[1]!]) {
      for (let k = 1; k < BATCHES.length; k++)
        pairs.push({
          axis: 'batch',
          a: { gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch: BATCHES[k - 1]! },
          b: { gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch: BATCHES[k]! },
        });
    }
  for (const batch of [1, 8])
    for (const emcHz of [e[e.length - 1]!, e[e.length - 2]!])
      for (let i = 1; i < g.length; i++)
        pairs.push({ axis: 'gpu-min', a: { gpuMinHz: g[i - 1]!, gpuMaxHz: top, emcHz, batch }, b: { gpuMinHz: g[i]!, gpuMaxHz: top, emcHz, batch } });
  for (let i = 0; i < g.length; i += 3)
    for (const batch of [1, 8, 32])
      for (let k = 1; k < e.length; k++)
        pairs.push({
          axis: 'emc',
          a: { gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz: e[k - 1]!, batch },
          b: { gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz: e[k]!, batch },
        });
  return pairs;
}

interface Score {
  readonly latency: number;
  readonly power: number;
  readonly trendsKept: number;
  readonly trends: number;
  /** Steps whose true change is at least RESOLUTION, and how many of them kept their sign. */
  readonly resolvableKept: number;
  readonly resolvable: number;
  /** Steps whose sign on the true board survives a ±ROBUST_SHIFT move of any one timing factor. */
  readonly robustKept: number;
  readonly robust: number;
  /** Axis and true relative change of each step whose sign the model got wrong. */
  readonly flipped: { axis: string; change: number; robust: boolean; timingOnly: boolean }[];
}

/** The true board with one timing factor moved by ±ROBUST_SHIFT (six boards). */
function nearTruths(base: BoardSpec, p: TwinPerturbation): BoardSpec[] {
  const out: BoardSpec[] = [];
  for (const f of ['launchOverhead', 'gpuEfficiency', 'memoryBandwidth'] as const)
    for (const s of [1 - ROBUST_SHIFT, 1 + ROBUST_SHIFT]) out.push(perturbBoard(base, { ...p, [f]: p[f] * s }));
  return out;
}

function score(
  model: BoardSpec,
  truth: BoardSpec,
  near: readonly BoardSpec[],
  profile: WorkloadProfile,
  configs: readonly Config[],
  pairs: ReturnType<typeof trendPairs>,
  /** The model's power coefficients with the true board's timing factors (to see which part flips a step). */
  trueTiming: BoardSpec,
): Score {
  const lat: number[] = [];
  const pw: number[] = [];
  for (const c of configs) {
    const t = evaluateConfig(truth, profile, c);
    const m = evaluateConfig(model, profile, c);
    lat.push(rel(m.latencyP50Ms, t.latencyP50Ms));
    pw.push(rel(m.powerW, t.powerW));
  }
  let kept = 0;
  let counted = 0;
  let resolvableKept = 0;
  let resolvable = 0;
  let robustKept = 0;
  let robust = 0;
  const flipped: { axis: string; change: number; robust: boolean; timingOnly: boolean }[] = [];
  const energy = (b: BoardSpec, c: Config) => evaluateConfig(b, profile, c).energyPerQueryJ;
  for (const p of pairs) {
    const ta = energy(truth, p.a);
    const tb = energy(truth, p.b);
    const change = Math.abs(tb / ta - 1);
    if (change < 0.01) continue;
    counted++;
    const sign = Math.sign(tb - ta);
    const isResolvable = change >= RESOLUTION;
    const isRobust = near.every((b) => Math.sign(energy(b, p.b) - energy(b, p.a)) === sign);
    if (isResolvable) resolvable++;
    if (isRobust) robust++;
    const ok = Math.sign(energy(model, p.b) - energy(model, p.a)) === sign;
    if (ok) {
      kept++;
      if (isResolvable) resolvableKept++;
      if (isRobust) robustKept++;
    } else flipped.push({ axis: p.axis, change, robust: isRobust, timingOnly: Math.sign(energy(trueTiming, p.b) - energy(trueTiming, p.a)) === sign });
  }
  return { latency: median(lat), power: median(pw), trendsKept: kept, trends: counted, resolvableKept, resolvable, robustKept, robust, flipped };
}

async function measure(truth: BoardSpec, profile: WorkloadProfile, configs: readonly Config[], seed: number): Promise<MeasuredPoint[]> {
  const runner = createSimTrialRunner({ board: truth, profile, noise: NOISE, seed });
  const pts: MeasuredPoint[] = [];
  for (const config of configs) {
    const m = await runner.measure(config, { repeats: WINDOWS });
    pts.push({ config, latencyMs: m.latencyP50Ms, powerW: m.powerW });
  }
  await runner.close();
  return pts;
}

const t0 = performance.now();
out('## Twin calibration');
out();
out(
  `Command: \`npx tsx bench/twin-calibration.bench.ts${quick ? ' --quick' : ''}\` (2026-12-04, ${availableParallelism()}-core shared Linux machine, Node ${process.versions.node}, no GPU). ` +
    `Each "real board" is a shifted twin (${SETS.length} perturbation sets of the tuner benchmark's family: ${SETS.map((s) => s.name).join(', ')}), ` +
    'measured with the noisy trial runner (3 % per window, 3 windows) at 5 configurations (batch 1 and 16 at the top clocks, batch 8 at a low pinned GPU clock, batch 8 and batch 1 with the governor from the floor; chosen among ten designs on other shifted boards and noise seeds, `--design-seeds`, see the script). ' +
    "`calibrateTwin` fits the nominal twin (of the case's runtime) to them. Scored at every held-out configuration of a grid (pinned GPU clocks, every other step × every EMC clock × batch 1–32, and governed ranges from the GPU floor) against the shifted twin's exact values. " +
    'Baseline measured in the same run: the uncalibrated nominal twin at the same configurations. Trends: the sign of the change of energy per query along batch, GPU minimum clock and EMC clock steps (steps whose true change is under 1 % are not counted), counted three ways: every step, steps one pair of measurements resolves, steps whose sign on the true board survives a 1 % move of its timing.',
);
out();
out(
  '| case | shifted board | latency median error: calibrated / nominal | power median error: calibrated / nominal | trend signs kept: calibrated / nominal | leave-one-out median (latency / power) |',
);
out('| --- | --- | --- | --- | --- | --- |');
const all = {
  lat: [] as number[],
  pw: [] as number[],
  latNom: [] as number[],
  pwNom: [] as number[],
  kept: 0,
  trends: 0,
  keptNom: 0,
  trendsNom: 0,
  resolvableKept: 0,
  resolvable: 0,
  resolvableKeptNom: 0,
  robustKept: 0,
  robust: 0,
  robustKeptNom: 0,
  flipped: [] as { where: string; axis: string; change: number; robust: boolean; timingOnly: boolean }[],
};
for (const cs of CASES) {
  const board = loadBoard(cs.board);
  const base = applyRuntime(board, cs.runtime);
  const profile = zooProfile(cs.model, { dtype: cs.dtype });
  const d = design(board);
  const held = heldOut(board, new Set(d.map(key)));
  const pairs = trendPairs(board);
  for (const [k, p] of SETS.entries()) {
    const truth = perturbBoard(base, p);
    const near = nearTruths(base, p);
    const points = await measure(truth, profile, d, NOISE_SEED + k);
    const r = calibrateTwin({ board, runtime: cs.runtime, profile, points });
    const timing = { launchOverhead: p.launchOverhead, computeEfficiency: p.gpuEfficiency, memoryEfficiency: p.memoryBandwidth };
    const cal = score(r.board, truth, near, profile, held, pairs, coefficientsBoard(base, { ...r.coefficients, ...timing }));
    const nom = score(base, truth, near, profile, held, pairs, coefficientsBoard(base, { ...UNIT_COEFFICIENTS, ...timing }));
    all.lat.push(cal.latency);
    all.pw.push(cal.power);
    all.latNom.push(nom.latency);
    all.pwNom.push(nom.power);
    all.kept += cal.trendsKept;
    all.trends += cal.trends;
    all.keptNom += nom.trendsKept;
    all.trendsNom += nom.trends;
    all.resolvableKept += cal.resolvableKept;
    all.resolvable += cal.resolvable;
    all.resolvableKeptNom += nom.resolvableKept;
    all.robustKept += cal.robustKept;
    all.robust += cal.robust;
    all.robustKeptNom += nom.robustKept;
    all.flipped.push(...cal.flipped.map((f) => ({ where: `${cs.board} × ${cs.model} × ${p.name}`, ...f })));
    out(
      `| ${cs.board} × ${cs.model} ${cs.dtype} × ${cs.runtime} | ${p.name} | ${pct(cal.latency)} / ${pct(nom.latency)} | ${pct(cal.power)} / ${pct(nom.power)} | ${cal.trendsKept}/${cal.trends} / ${nom.trendsKept}/${nom.trends} | ${pct(r.profile.fit.latency.looMedian)} / ${pct(r.profile.fit.power.looMedian)} |`,
    );
  }
}
out();
const latMed = median(all.lat);
const pwMed = median(all.pw);
out(
  `Over all ${all.lat.length} calibrations (${held(CASES.length)}): median of the per-calibration median errors ${pct(latMed)} latency (nominal twin ${pct(median(all.latNom))}, ratio ${(latMed / median(all.latNom)).toFixed(2)}), ` +
    `${pct(pwMed)} power (nominal ${pct(median(all.pwNom))}, ratio ${(pwMed / median(all.pwNom)).toFixed(2)}); worst per-calibration median ${pct(Math.max(...all.lat))} latency, ${pct(Math.max(...all.pw))} power. ` +
    `Trend signs kept: ${all.kept}/${all.trends} calibrated (${pct(all.kept / all.trends)}), ${all.keptNom}/${all.trendsNom} nominal. ` +
    `Targets (≤ 10 % median latency and power error; every trend sign kept): ${latMed <= 0.1 && Math.max(...all.lat) <= 0.1 ? 'latency met' : 'latency NOT met'}, ${pwMed <= 0.1 && Math.max(...all.pw) <= 0.1 ? 'power met' : 'power NOT met'}, ${all.kept === all.trends ? 'trends met' : `trends NOT met (${all.trends - all.kept} steps flipped)`}.`,
);
out();
out(
  `Trend signs, counted only where a step is a trend one can measure: steps whose true change is at least ${pct(RESOLUTION)} (the standard deviation of the difference of two measured energies per query, ${WINDOWS} windows at ${pct(NOISE)} noise): ` +
    `${all.resolvableKept}/${all.resolvable} kept calibrated (${all.resolvable - all.resolvableKept} flipped), ${all.resolvableKeptNom}/${all.resolvable} nominal. ` +
    `Steps whose sign on the true board survives a ±${pct(ROBUST_SHIFT)} move of any one timing factor (per-op overhead, GPU efficiency, memory bandwidth): ` +
    `${all.robustKept}/${all.robust} kept calibrated (${all.robust - all.robustKept} flipped), ${all.robustKeptNom}/${all.robust} nominal; ` +
    `${all.trends - all.robust} of the ${all.trends} counted steps are not robust in that sense (their sign on the true board itself changes when its speed moves by 1 %).`,
);
if (all.flipped.length > 0) {
  const byAxis = new Map<string, number>();
  for (const f of all.flipped) byAxis.set(f.axis, (byAxis.get(f.axis) ?? 0) + 1);
  const big = all.flipped.filter((f) => f.change >= RESOLUTION).length;
  out();
  out(
    `Flipped steps by axis: ${[...byAxis].map(([a, n]) => `${a} ${n}`).join(', ')}; their true change in energy per query: median ${pct(median(all.flipped.map((f) => f.change)))}, largest ${pct(Math.max(...all.flipped.map((f) => f.change)))} ` +
      `(${big} of ${all.flipped.length} at ${pct(RESOLUTION)} or more; ${all.flipped.filter((f) => f.robust).length} robust to a ±${pct(ROBUST_SHIFT)} timing move). ` +
      `With the true board's timing factors and the calibration's own power coefficients, ${all.flipped.filter((f) => f.timingOnly).length} of the ${all.flipped.length} flipped steps get their sign back: ` +
      'the flips come from the fitted timing (per-op overhead, GPU and memory efficiency), which sets where the GPU governor settles, not from the power split. ' +
      `Under the governor the energy of a GPU-minimum step follows the governor's discrete clock choices, so a timing error of 1 % (well under what ${WINDOWS} windows at ${pct(NOISE)} noise pin down from 5 configurations) moves them; cases: ${[...new Set(all.flipped.map((f) => f.where))].join('; ')}.`,
  );
}

// Published measurements: the closest to a sweep found is MLPerf v3.0 AGX Orin ResNet-50 SingleStream
// (batch 1, INT8 TensorRT) at two clock settings (calibration.md §2.5, §4.1): MaxP (every clock at its
// maximum) mean 0.630 ms and MaxQ (GPU 612 MHz → the twin's 624.75 MHz step, EMC 2133 MHz, CPU 652.8 MHz,
// 4 cores; v3.1 config) mean 1.479 ms. Two configurations are fewer than a calibration takes (3), so
// only the trend is checked: the MaxQ / MaxP latency ratio of the nominal twin (fp16, the closest
// precision it has) against the measured one.
{
  const orin = loadBoard('orin-agx');
  const r50 = zooProfile('resnet-50', { dtype: 'fp16' });
  const g = orin.gpu.freqsHz;
  const maxp = evaluateConfig(orin, r50, { gpuMinHz: g[g.length - 1]!, gpuMaxHz: g[g.length - 1]!, batch: 1 }, { onlineCpus: 12 });
  const maxq = evaluateConfig(orin, r50, { cpuHz: 652800000, gpuMinHz: 624750000, gpuMaxHz: 624750000, emcHz: 2133000000, batch: 1 }, { onlineCpus: 4 });
  const measured = 1.479 / 0.63;
  const twin = maxq.serviceMs / maxp.serviceMs;
  out();
  out(
    `Published measurement (MLPerf v3.0 AGX Orin ResNet-50 SingleStream, INT8, MaxP vs MaxQ clocks; calibration.md §2.5, §4.1): measured MaxQ/MaxP mean latency ratio ${measured.toFixed(2)} (1.479 / 0.630 ms); ` +
      `the nominal twin (fp16) ${twin.toFixed(2)} (${maxq.serviceMs.toFixed(2)} / ${maxp.serviceMs.toFixed(2)} ms): the trend's sign holds, its size is ${twin < measured ? 'smaller' : 'larger'} by ${pct(Math.abs(twin / measured - 1))}. ` +
      'Two settings are fewer than a calibration takes (3), so no calibrated row: this falls short of the check asked for.',
  );
}
out();
out(
  `Run time ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores. ` +
    'Published measured sweeps: none with at least 3 configurations of one zoo model in one precision on one Jetson was found (README, "calibrate"), so no real-board row is in the table above.',
);

function held(n: number): string {
  return `${n} case${n === 1 ? '' : 's'} × ${SETS.length} shifted boards`;
}

const path = 'docs/benchmarks.md';
const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
const section = `${md.join('\n')}\n`;
const start = text.indexOf('## Twin calibration');
let next: string;
if (start < 0) next = `${text.trimEnd()}\n\n${section}`;
else {
  const end = text.indexOf('\n## ', start + 1);
  next = text.slice(0, start) + section + (end < 0 ? '' : `\n${text.slice(end + 1)}`);
}
if (!quick && !designSeeds) writeFileSync(path, next);
console.log(quick || designSeeds ? '\n(--quick or --design-seeds: docs/benchmarks.md not written)' : `\nwrote ${path}`);

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
 * whose true change is under 1 % has no sign and is not counted).
 *
 *   npm run bench:twin-calibration                full: 10 shifted boards × 5 board/model/runtime cases
 *   npm run bench:twin-calibration -- --quick     5 shifted boards × 1 case (< 2 min)
 * Prints a markdown table and writes it to docs/benchmarks.md under "## Twin calibration".
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { Config } from '../src/core/config.ts';
import type { WorkloadProfile } from '../src/core/workload-profile.ts';
import { calibrateTwin, type MeasuredPoint } from '../src/device/sim/calibrate/index.ts';
import { type BoardSpec, applyRuntime, createSimTrialRunner, evaluateConfig, loadBoard, perturbBoard, perturbationSets } from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';

const quick = process.argv.includes('--quick');
const SETS = perturbationSets(quick ? 5 : 10, 1);
interface Case {
  readonly board: string;
  readonly model: string;
  readonly dtype: 'fp16' | 'fp32';
  readonly runtime: string;
}
const CASES: Case[] = quick
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
 * The 5 measured configurations: batch 1 and 16 at the top clocks, a low and a middle pinned GPU clock,
 * batch 1 with the governor from the floor. (Of three designs tried, this one; batch 2 governed instead
 * of batch 1 gave a worst median latency error of 9.7 % and 20 flipped trend steps, batch 1 instead of 8
 * at the low pinned clock 11.7 % and 26.)
 */
function design(b: BoardSpec): Config[] {
  const g = b.gpu.freqsHz;
  const e = b.emc.freqsHz;
  const top = g.length - 1;
  const pin = (i: number, emcHz: number, batch: number): Config => ({ gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch });
  return [
    pin(top, e[e.length - 1]!, 1),
    pin(top, e[e.length - 1]!, 16),
    pin(Math.round(top / 4), e[e.length - 1]!, 8),
    pin(Math.round((2 * top) / 3), e[Math.max(0, e.length - 3)]!, 4),
    { gpuMinHz: g[0]!, gpuMaxHz: g[top]!, emcHz: e[e.length - 2]!, batch: 1 },
  ];
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
  /** Axis and true relative change of each step whose sign the model got wrong. */
  readonly flipped: { axis: string; change: number }[];
}

function score(model: BoardSpec, truth: BoardSpec, profile: WorkloadProfile, configs: readonly Config[], pairs: ReturnType<typeof trendPairs>): Score {
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
  const flipped: { axis: string; change: number }[] = [];
  for (const p of pairs) {
    const ta = evaluateConfig(truth, profile, p.a).energyPerQueryJ;
    const tb = evaluateConfig(truth, profile, p.b).energyPerQueryJ;
    if (Math.abs(tb / ta - 1) < 0.01) continue;
    counted++;
    const ma = evaluateConfig(model, profile, p.a).energyPerQueryJ;
    const mb = evaluateConfig(model, profile, p.b).energyPerQueryJ;
    if (Math.sign(tb - ta) === Math.sign(mb - ma)) kept++;
    else flipped.push({ axis: p.axis, change: Math.abs(tb / ta - 1) });
  }
  return { latency: median(lat), power: median(pw), trendsKept: kept, trends: counted, flipped };
}

async function measure(truth: BoardSpec, profile: WorkloadProfile, configs: readonly Config[], seed: number): Promise<MeasuredPoint[]> {
  const runner = createSimTrialRunner({ board: truth, profile, noise: 0.03, seed });
  const pts: MeasuredPoint[] = [];
  for (const config of configs) {
    const m = await runner.measure(config);
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
    'measured with the noisy trial runner (3 % per window, 3 windows) at 5 configurations (batch 1 and 16 at the top clocks, batch 8 at a low pinned GPU clock, batch 4 at a middle GPU clock and a lower EMC clock, batch 1 with the governor from the floor; the best of three designs tried, see the script). ' +
    "`calibrateTwin` fits the nominal twin (of the case's runtime) to them. Scored at every held-out configuration of a grid (pinned GPU clocks, every other step × every EMC clock × batch 1–32, and governed ranges from the GPU floor) against the shifted twin's exact values. " +
    'Baseline measured in the same run: the uncalibrated nominal twin at the same configurations. Trends: the sign of the change of energy per query along batch, GPU minimum clock and EMC clock steps (steps whose true change is under 1 % are not counted).',
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
  flipped: [] as { where: string; axis: string; change: number }[],
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
    const points = await measure(truth, profile, d, 100 + k);
    const r = calibrateTwin({ board, runtime: cs.runtime, profile, points });
    const cal = score(r.board, truth, profile, held, pairs);
    const nom = score(base, truth, profile, held, pairs);
    all.lat.push(cal.latency);
    all.pw.push(cal.power);
    all.latNom.push(nom.latency);
    all.pwNom.push(nom.power);
    all.kept += cal.trendsKept;
    all.trends += cal.trends;
    all.keptNom += nom.trendsKept;
    all.trendsNom += nom.trends;
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
if (all.flipped.length > 0) {
  const byAxis = new Map<string, number>();
  for (const f of all.flipped) byAxis.set(f.axis, (byAxis.get(f.axis) ?? 0) + 1);
  const big = all.flipped.filter((f) => f.change >= 0.03).length;
  out();
  out(
    `Flipped steps by axis: ${[...byAxis].map(([a, n]) => `${a} ${n}`).join(', ')}; their true change in energy per query: median ${pct(median(all.flipped.map((f) => f.change)))}, largest ${pct(Math.max(...all.flipped.map((f) => f.change)))} ` +
      `(${big} of ${all.flipped.length} at 3 % or more, the noise of one measured window); cases: ${[...new Set(all.flipped.map((f) => f.where))].join('; ')}.`,
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
if (!quick) writeFileSync(path, next);
console.log(quick ? '\n(--quick: docs/benchmarks.md not written)' : `\nwrote ${path}`);

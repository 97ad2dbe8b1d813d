/**
 * Fine-tuning beside inference, on the device twin in virtual time.
 *  1. The paper's Appendix D replay: a 60 s request stream, SLO 250 ms for 30 s then 700 ms, with
 *     fine-tuning jobs queued from the start — in the paper's mode (admit or wait) and with the
 *     Pareto-set switch, each against an oracle that knows the exact co-run latencies.
 *  2. Boards × models: SLO attainment while fine-tuning, fine-tuning throughput against the oracle,
 *     configuration switches and their energy.
 *  3. Predictor accuracy on held-out configurations and models: MAPE and interval coverage, the
 *     paper's features vs the roofline features, before and after online correction.
 * Writes the Fig. 14 timelines to docs/finetune-timeline*.json and the tables to docs/benchmarks.md.
 *   npm run bench:finetune            (--quick: fewer cells)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { formatConfig, maxClocksConfig } from '../src/core/config.ts';
import { loadBoard } from '../src/device/sim/board-spec.ts';
import { evaluateConfig } from '../src/device/sim/evaluate.ts';
import type { FeatureSet } from '../src/finetune/prediction/features.ts';
import { InterferencePredictor } from '../src/finetune/prediction/predictor.ts';
import { createRandom } from '../src/numerics/random.ts';
import { profileCoRuns, type ProfilingWorkload } from '../src/finetune/simulation/sim-environment.ts';
import { TWIN_PROFILING, twinCosts } from '../src/finetune/simulation/twin-costs.ts';
import { cachedZooProfile, runTwinReplay, type TwinReplay } from '../src/finetune/simulation/twin-replay.ts';

const quick = process.argv.includes('--quick');
const t0 = performance.now();
const md: string[] = [];
const out = (s = '') => {
  console.log(s);
  md.push(s);
};
const pct = (x: number, d = 2) => `${(100 * x).toFixed(d)} %`;

// ---- 1. Appendix D replay -------------------------------------------------------------------------
const AD = { board: 'tx2', model: 'efficientnet-b0', rateRps: 40, ftModel: 'efficientnet-b0', microBatch: 4, jobs: 4, steps: 10 };
const slo = (ms: number) => ({ latencyMs: ms, quantile: 0.99 });
function appendixD(allowSwitch: boolean, predictor: 'fitted' | 'oracle'): TwinReplay {
  return runTwinReplay({
    board: AD.board,
    model: AD.model,
    rateRps: AD.rateRps,
    durationMs: 60_000,
    slo: slo(250),
    sloChanges: [{ atMs: 30_000, slo: slo(700) }],
    submissions: Array.from({ length: AD.jobs }, (_, i) => ({
      atMs: 0,
      spec: { kind: 'sim' as const, name: `ft-${i + 1}`, model: AD.ftModel, microBatch: AD.microBatch, steps: AD.steps },
    })),
    allowSwitch,
    shrinkMicroBatch: allowSwitch,
    predictor,
    seed: 7,
  });
}

out('## Fine-tuning beside inference (`npm run bench:finetune`, 2026-12-04)');
out();
out(`Device twin, virtual time, noise 3 % (log-normal) on service and step times. Reproduce: \`npm run bench:finetune\`.`);
out();
out(`### Appendix D replay: sim:${AD.board}, ${AD.model} served at ${AD.rateRps} req/s (Poisson), SLO p99 250 ms for 30 s then 700 ms`);
out();
out(`${AD.jobs} jobs fine-tuning ${AD.ftModel} (micro-batch ${AD.microBatch}, ${AD.steps} steps each) queued at t = 0.`);
out();
const variants = [
  { name: 'paper mode (admit or wait)', allowSwitch: false },
  { name: 'with Pareto switch + smaller micro-batch', allowSwitch: true },
];
out(
  '| mode | predictor | SLO attainment | attainment while fine-tuning (requests) | first step at | steps before 30 s | steps after 30 s | jobs done | samples/s | config changes | switch energy |',
);
out('|---|---|---|---|---|---|---|---|---|---|---|');
const replays: Record<string, TwinReplay> = {};
for (const v of variants)
  for (const p of ['fitted', 'oracle'] as const) {
    const r = appendixD(v.allowSwitch, p);
    replays[`${v.allowSwitch}/${p}`] = r;
    const steps = r.result.steps;
    const first = steps[0];
    out(
      `| ${v.name} | ${p} | ${pct(r.attainment)} | ${pct(r.attainmentDuringFinetune)} (${r.requestsDuringFinetune}) | ${first ? `${(first.startMs / 1000).toFixed(2)} s` : '—'} | ${steps.filter((s) => s.startMs < 30_000).length} | ${steps.filter((s) => s.startMs >= 30_000).length} | ${r.scheduler.list().filter((j) => j.state === 'done').length}/${AD.jobs} | ${r.finetuneSamplesPerS.toFixed(2)} | ${r.configSwitches} | ${r.switchEnergyJ.toFixed(2)} J |`,
    );
  }
out();
// Progress over time (paper mode, fitted predictor), 5 s windows.
const paper = replays['false/fitted']!;
out('Paper mode, fitted predictor, per 5 s window (worst request latency, whether fine-tuning ran, steps done so far):');
out();
out('| t (s) | SLO (ms) | worst latency (ms) | p99 (ms) | fine-tuning | steps so far |');
out('|---|---|---|---|---|---|');
for (let w = 0; w < 12; w++) {
  const a = w * 5000;
  const b = a + 5000;
  const reqs = paper.result.requests
    .filter((r) => r.doneMs >= a && r.doneMs < b)
    .map((r) => r.latencyMs)
    .sort((x, y) => x - y);
  const p99 = reqs.length ? reqs[Math.min(reqs.length - 1, Math.ceil(0.99 * reqs.length) - 1)]! : 0;
  const ran = paper.result.steps.some((s) => s.startMs < b && s.endMs > a);
  const done = paper.result.steps.filter((s) => s.endMs < b).length;
  out(`| ${a / 1000}–${b / 1000} | ${w < 6 ? 250 : 700} | ${(reqs.at(-1) ?? 0).toFixed(1)} | ${p99.toFixed(1)} | ${ran ? 'yes' : 'no'} | ${done} |`);
}
out();
const waits = paper.events.filter((e) => e.type === 'job-waiting');
if (waits[0]?.type === 'job-waiting') out(`Why jobs waited under 250 ms: ${waits[0].reason}.`);
const sw = replays['true/fitted']!;
const swStart = sw.events.find((e) => e.type === 'job-started');
if (swStart?.type === 'job-started')
  out(
    `With the switch, the first job ran at ${formatConfig(swStart.admission.option.config)} (micro-batch ${swStart.admission.option.microBatch}; predicted p99 ≤ ${swStart.admission.option.tailUpperMs.toFixed(0)} ms) instead of the inference-only choice, +${(swStart.admission.extraEnergyPerQueryJ * 1000).toFixed(1)} mJ/query.`,
  );
out();
if (!existsSync('docs')) mkdirSync('docs');
writeFileSync('docs/finetune-timeline.json', `${JSON.stringify(paper.timeline)}\n`);
writeFileSync('docs/finetune-timeline-switching.json', `${JSON.stringify(sw.timeline)}\n`);
out(
  'Timelines for the report (paper Fig. 14), `{ t, sloMs, latencyMs, finetuneRunning }[]` in 0.5 s buckets: `docs/finetune-timeline.json` (paper mode), `docs/finetune-timeline-switching.json`.',
);
out();

// ---- 2. Pairs matrix -----------------------------------------------------------------------------
// Every served × fine-tuned pair of a CNN, a small CNN and a transformer, on four boards, at seeded
// loads from 20 % to 80 % of capacity and SLOs from tight to loose that change once.
const MATRIX_BOARDS = quick ? ['tx2'] : ['tx2', 'xavier-nx', 'orin-nano', 'orin-agx'];
const PAIR_MODELS = [
  { name: 'resnet-50', kind: 'CNN' },
  { name: 'mobilenet-v2', kind: 'small CNN' },
  { name: 'bert-base', kind: 'transformer' },
] as const;
const PER_PAIR = quick ? 1 : 2;
const BEFORE_MS = 20_000;
const CHANGE_MS = 40_000;
const END_MS = 60_000;
const FT_MICRO_BATCH = 8;
out('### Pairs matrix: any served model beside any fine-tuned model, SLO changes');
out();
out(
  `${MATRIX_BOARDS.length} boards × ${PAIR_MODELS.length * PAIR_MODELS.length} served/fine-tuned pairs (${PAIR_MODELS.map((m) => `${m.name} as the ${m.kind}`).join(', ')}) × ${PER_PAIR} seeded scenarios = ${MATRIX_BOARDS.length * PAIR_MODELS.length ** 2 * PER_PAIR} scenarios. ` +
    `Capacity: the served model's best max-clock throughput (batch 1–16). Load: Poisson, ${PER_PAIR > 1 ? 'one scenario drawn in 20–50 % and one in 50–80 % of capacity' : 'drawn in 20–80 % of capacity'}. ` +
    `SLO p99: tight = 1.5–2.5 × and loose = 3–6 × the lowest max-clock p99 at that load (drawn); ${PER_PAIR > 1 ? 'the first scenario goes tight → loose, the second loose → tight' : 'tight → loose'} at ${CHANGE_MS / 1000} s. ` +
    `Inference alone for ${BEFORE_MS / 1000} s ("before"), then one job fine-tuning the other model (micro-batch ${FT_MICRO_BATCH}, runs to the end at ${END_MS / 1000} s). ` +
    'Decision: what admission did with the job when it started (whole = steps as requested, accumulate = a smaller micro-batch with gradient accumulation, chunk = micro-batch 1 split into chunks that yield between batches, wait = never admitted); a later SLO change may re-size it. ' +
    'Throughput ratio: fine-tuning samples/s with the fitted predictor ÷ with the oracle scheduler (same scheduler, exact noise-free co-run latencies and the known noise level); — where neither ran. Energy: inference (batches + idle) per query over the replay, fitted / oracle.',
);
out();
out(
  '| board | served | fine-tuned | load (req/s, % cap) | SLO (ms) | before | while fine-tuning (requests) | overall | oracle while ft | decision | samples/s fitted / oracle | ratio | mJ/query fitted / oracle |',
);
out('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
interface MatrixRow {
  admitted: boolean;
  during: number;
  overall: number;
  before: number;
  ratio: number;
}
const rows: MatrixRow[] = [];
const mrng = createRandom(20261204, 'mulberry32');
const between = (a: number, b: number) => a + (b - a) * mrng.next();
for (const board of MATRIX_BOARDS) {
  const spec = loadBoard(board);
  for (const served of PAIR_MODELS)
    for (const tuned of PAIR_MODELS) {
      const profile = cachedZooProfile(served.name);
      let cap = 0;
      let capBatch = 1;
      for (const b of [1, 2, 4, 8, 16]) {
        const top = maxClocksConfig({ cpuHz: spec.cpu.freqsHz, gpuHz: spec.gpu.freqsHz, emcHz: spec.emc.freqsHz, batch: [b] }, b);
        const e = evaluateConfig(spec, profile, top);
        if (e.throughputQps > cap) {
          cap = e.throughputQps;
          capBatch = b;
        }
      }
      for (let k = 0; k < PER_PAIR; k++) {
        const frac = PER_PAIR > 1 ? (k === 0 ? between(0.2, 0.5) : between(0.5, 0.8)) : between(0.2, 0.8);
        const rate = Math.max(0.5, Number((frac * cap).toFixed(1)));
        let floor = Number.POSITIVE_INFINITY;
        for (const b of [1, 2, 4, 8, 16]) {
          const top = maxClocksConfig({ cpuHz: spec.cpu.freqsHz, gpuHz: spec.gpu.freqsHz, emcHz: spec.emc.freqsHz, batch: [b] }, b);
          const e = evaluateConfig(spec, profile, top, { rateRps: rate });
          if (!e.overloaded && Number.isFinite(e.latencyTailMs)) floor = Math.min(floor, e.latencyTailMs);
        }
        const tight = Math.round(between(1.5, 2.5) * floor);
        const loose = Math.round(between(3, 6) * floor);
        const [first, second] = k === 0 ? [tight, loose] : [loose, tight];
        const run = (p: 'fitted' | 'oracle') =>
          runTwinReplay({
            board,
            model: served.name,
            rateRps: rate,
            durationMs: END_MS,
            slo: slo(first),
            sloChanges: [{ atMs: CHANGE_MS, slo: slo(second) }],
            submissions: [{ atMs: BEFORE_MS, spec: { kind: 'sim', name: 'job', model: tuned.name, microBatch: FT_MICRO_BATCH, steps: 1_000_000 } }],
            predictor: p,
            seed: 100 + rows.length,
          });
        const f = run('fitted');
        const o = run('oracle');
        const before = f.result.requests.filter((r) => r.arrivalMs < BEFORE_MS);
        const beforeAtt = before.filter((r) => r.latencyMs <= r.sloMs).length / Math.max(1, before.length);
        const started = f.events.find((e) => e.type === 'job-started');
        const decision = started?.type === 'job-started' ? started.admission.option.action : 'wait';
        const resized = f.events.filter((e) => e.type === 'job-resized').length;
        const ratio =
          o.finetuneSamplesPerS > 0 ? f.finetuneSamplesPerS / o.finetuneSamplesPerS : f.finetuneSamplesPerS > 0 ? Number.POSITIVE_INFINITY : Number.NaN;
        const admitted = f.requestsDuringFinetune > 0;
        rows.push({ admitted, during: f.attainmentDuringFinetune, overall: f.attainment, before: beforeAtt, ratio });
        out(
          `| ${board} | ${served.name} | ${tuned.name} | ${rate} (${Math.round(100 * frac)} %, b${capBatch}) | ${first} → ${second} | ${pct(beforeAtt)} | ${admitted ? `${pct(f.attainmentDuringFinetune)} (${f.requestsDuringFinetune})` : '— (not admitted)'} | ${pct(f.attainment)} | ${o.requestsDuringFinetune ? pct(o.attainmentDuringFinetune) : '—'} | ${decision}${resized ? ` (+${resized} re-sized)` : ''} | ${f.finetuneSamplesPerS.toFixed(2)} / ${o.finetuneSamplesPerS.toFixed(2)} | ${Number.isNaN(ratio) ? '—' : ratio.toFixed(2)} | ${(f.inferenceEnergyPerQueryJ * 1000).toFixed(1)} / ${(o.inferenceEnergyPerQueryJ * 1000).toFixed(1)} |`,
        );
      }
    }
}
out();
const admittedRows = rows.filter((r) => r.admitted);
const minDuring = admittedRows.length ? Math.min(...admittedRows.map((r) => r.during)) : Number.NaN;
const minOverall = Math.min(...rows.map((r) => r.overall));
const minBefore = Math.min(...rows.map((r) => r.before));
const ratios = rows.map((r) => r.ratio).filter((x) => !Number.isNaN(x));
const medRatio = median(ratios);
const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
out(
  `${rows.length} scenarios, ${admittedRows.length} with a job admitted. Minimum attainment while fine-tuning ${pct(minDuring)} (target ≥ 99 % in every admitted scenario: ${verdict(minDuring >= 0.99)}); minimum overall ${pct(minOverall)} (target ≥ 99 %: ${verdict(minOverall >= 0.99)}); minimum before any job ${pct(minBefore)}. ` +
    `Throughput vs the oracle over ${ratios.length} scenarios where either ran: median ${medRatio.toFixed(2)} (target ≥ 0.90: ${verdict(medRatio >= 0.9)}), min ${Math.min(...ratios).toFixed(2)}, ${ratios.filter((x) => x < 0.9).length} below 0.90.`,
);
out();

// ---- 3. Predictor accuracy -----------------------------------------------------------------------
const HELD_OUT: readonly ProfilingWorkload[] = [
  { inferenceModel: 'efficientnet-b1', finetuneModel: 'efficientnet-b1', microBatch: 4 },
  { inferenceModel: 'efficientnet-b3', finetuneModel: 'mobilenet-v2', microBatch: 8 },
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'efficientnet-b3', microBatch: 2 },
  { inferenceModel: 'resnet-50', finetuneModel: 'efficientnet-b1', microBatch: 4 },
  { inferenceModel: 'efficientnet-b0', finetuneModel: 'resnet-50', microBatch: 4 },
  { inferenceModel: 'efficientnet-b4', finetuneModel: 'efficientnet-b0', microBatch: 16 },
  { inferenceModel: 'bert-base', finetuneModel: 'bert-base', microBatch: 2 },
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'bert-base', microBatch: 1, chunks: 8 },
  { inferenceModel: 'bert-base', finetuneModel: 'resnet-50', microBatch: 2 },
  { inferenceModel: 'resnet-50', finetuneModel: 'bert-tiny', microBatch: 16 },
  { inferenceModel: 'efficientnet-b0', finetuneModel: 'resnet-50', microBatch: 1, chunks: 4 },
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'resnet-50', microBatch: 8 },
];
const CONFIGS = quick ? 6 : 12;
const LIVE = 10;
out(`### Predictor accuracy on held-out configurations and models`);
out();
out(
  `Per board: ${CONFIGS} random configurations (GPU clock, EMC clock, batch 1–16 drawn with a fixed seed), each fitted from ${TWIN_PROFILING.length} profiled co-runs of the training pairs (EfficientNet-B0/B2, MobileNetV2, ResNet-50, BERT-base and BERT-tiny in ${TWIN_PROFILING.length} pairs, one with a chunked step; 5 samples each), tested on ${HELD_OUT.length} held-out pairs (EfficientNet-B1/B3/B4 beside or as the fine-tuned model, transformer/CNN pairs not profiled, chunked steps, new micro-batches), one noisy step+batch each. "Online": the same after ${LIVE} live observations of that workload. Coverage of the 90 % interval.`,
);
out();
out('| board | features | MAPE offline | coverage offline | MAPE online | coverage online | mean interval half-width offline → online |');
out('|---|---|---|---|---|---|---|');
const acc: Record<FeatureSet, number[]> = { paper: [], roofline: [] };
const cov: Record<FeatureSet, number[]> = { paper: [], roofline: [] };
for (const board of MATRIX_BOARDS) {
  const spec = loadBoard(board);
  const costs = twinCosts(spec, cachedZooProfile, 'efficientnet-b0');
  for (const fs of ['paper', 'roofline'] as const) {
    const rng = createRandom(2026, 'mulberry32');
    let ape = 0;
    let apeOn = 0;
    let n = 0;
    let inside = 0;
    let insideOn = 0;
    let half = 0;
    let halfOn = 0;
    for (let k = 0; k < CONFIGS; k++) {
      const pick = (a: readonly number[]) => a[Math.floor(rng.next() * a.length)]!;
      const g = pick(spec.gpu.freqsHz);
      const c = { cpuHz: spec.cpu.freqsHz.at(-1), gpuMinHz: g, gpuMaxHz: g, emcHz: pick(spec.emc.freqsHz), batch: pick([1, 2, 4, 8, 16]) };
      const p = new InterferencePredictor({ featureSet: fs, level: 0.9 });
      p.fit('c', profileCoRuns(costs, cachedZooProfile, c, TWIN_PROFILING, { noise: 0.03, seed: k }));
      HELD_OUT.forEach((w, wi) => {
        const live = profileCoRuns(costs, cachedZooProfile, c, Array(LIVE + 1).fill(w), { noise: 0.03, seed: 1000 * k + wi, samples: 1 });
        const test = live.pop()!;
        const off = p.predictAt('c', test.features);
        for (const l of live) p.observeAt('c', l.features, `w${wi}`, l.latencyMs);
        const on = p.predictAt('c', test.features, `w${wi}`);
        ape += Math.abs(off.meanMs - test.latencyMs) / test.latencyMs;
        apeOn += Math.abs(on.meanMs - test.latencyMs) / test.latencyMs;
        inside += test.latencyMs >= off.lowerMs && test.latencyMs <= off.upperMs ? 1 : 0;
        insideOn += test.latencyMs >= on.lowerMs && test.latencyMs <= on.upperMs ? 1 : 0;
        half += (off.upperMs - off.lowerMs) / 2 / test.latencyMs;
        halfOn += (on.upperMs - on.lowerMs) / 2 / test.latencyMs;
        n++;
      });
    }
    acc[fs].push(ape / n);
    cov[fs].push(inside / n);
    out(
      `| ${board} | ${fs} | ${pct(ape / n, 1)} | ${pct(inside / n, 0)} | ${pct(apeOn / n, 1)} | ${pct(insideOn / n, 0)} | ±${pct(half / n, 1)} → ±${pct(halfOn / n, 1)} |`,
    );
  }
}
out();
out(
  `Coverage of the 90 % interval on held-out pairs, offline (the scheduler's roofline features): mean ${pct(mean(cov.roofline), 1)}, lowest board ${pct(Math.min(...cov.roofline), 1)} (target ≥ 90 %: ${mean(cov.roofline) >= 0.9 ? 'met' : '**not met**'}). ` +
    `Mean MAPE offline: paper features ${pct(mean(acc.paper), 1)}, roofline features ${pct(mean(acc.roofline), 1)} (target ≤ 10 %); the scheduler uses the roofline set by default. Online, the error falls to the noise of a single noisy sample (3 % log-normal per term), whichever feature set. Wall time of this benchmark: ${((performance.now() - t0) / 1000).toFixed(1)} s.`,
);
out();

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
}
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

// ---- write docs/benchmarks.md (own section only) ---------------------------------------------------
if (!quick) {
  const file = 'docs/benchmarks.md';
  const section = `${md.join('\n')}\n`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const head = '## Fine-tuning beside inference';
  const at = text.indexOf(head);
  if (at >= 0) {
    const next = text.indexOf('\n## ', at + head.length);
    text = text.slice(0, at) + section + (next >= 0 ? text.slice(next + 1) : '');
  } else text = `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, text);
  console.log(`\nwrote ${file}`);
}

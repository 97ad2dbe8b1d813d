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

out('## Fine-tuning beside inference (`npm run bench:finetune`, 2026-11-26)');
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

// ---- 2. Boards × models --------------------------------------------------------------------------
const BOARDS = quick ? ['tx2', 'orin-agx'] : ['tx2', 'xavier-nx', 'orin-nano', 'orin-agx'];
const MODELS = quick ? ['efficientnet-b0', 'resnet-50'] : ['efficientnet-b0', 'mobilenet-v2', 'resnet-50', 'efficientnet-b3'];
out('### Boards × models: one long job fine-tuning the served model (micro-batch 8) for the whole 60 s');
out();
out(
  "Load: 30 % of the board's max-clock batch-8 throughput. Two SLOs per cell: loose = 2 × the max-clock p99 at that load + 1.2 × the max-clock step time; tight = the max-clock p99 + 0.5 × the max-clock step time (the job fits only at fast configurations or a smaller micro-batch). Throughput ratio = samples/s with the fitted predictor ÷ with the oracle (same scheduler, exact latencies, zero-width interval). The scheduler picks the least-energy configuration where the job fits, so a more conservative predictor can pick a faster (costlier) configuration and fine-tune faster than the oracle: read throughput together with inference energy per query. Switch energy = extra inference energy at the switched configuration over the queries served there.",
);
out();
out(
  '| board | model | load (req/s) | SLO | SLO (ms) | attainment while fine-tuning | oracle attainment | samples/s (fitted) | samples/s (oracle) | ratio | inference mJ/query fitted / oracle | config changes | switch energy |',
);
out('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
let minAtt = 1;
let minAttOracle = 1;
const ratios: number[] = [];
for (const board of BOARDS)
  for (const model of MODELS) {
    const spec = loadBoard(board);
    const profile = cachedZooProfile(model);
    const top = maxClocksConfig({ cpuHz: spec.cpu.freqsHz, gpuHz: spec.gpu.freqsHz, emcHz: spec.emc.freqsHz, batch: [8] }, 8);
    const sat = evaluateConfig(spec, profile, top);
    const rate = Math.max(1, Math.round(0.3 * sat.throughputQps));
    const atRate = evaluateConfig(spec, profile, top, { rateRps: rate });
    const step = twinCosts(spec, cachedZooProfile, model).finetuneStep(top, model, 8).stepMs;
    for (const [level, sloMs] of [
      ['loose', Math.round(2 * atRate.latencyTailMs + 1.2 * step)],
      ['tight', Math.round(atRate.latencyTailMs + 0.5 * step)],
    ] as const) {
      const run = (p: 'fitted' | 'oracle') =>
        runTwinReplay({
          board,
          model,
          rateRps: rate,
          durationMs: 60_000,
          slo: slo(sloMs),
          submissions: [{ atMs: 0, spec: { kind: 'sim', name: 'long', model, microBatch: 8, steps: 1_000_000 } }],
          predictor: p,
          seed: 11,
        });
      const f = run('fitted');
      const o = run('oracle');
      const ratio = o.finetuneSamplesPerS > 0 ? f.finetuneSamplesPerS / o.finetuneSamplesPerS : Number.NaN;
      if (f.requestsDuringFinetune > 0) minAtt = Math.min(minAtt, f.attainmentDuringFinetune);
      if (o.requestsDuringFinetune > 0) minAttOracle = Math.min(minAttOracle, o.attainmentDuringFinetune);
      if (Number.isFinite(ratio)) ratios.push(ratio);
      out(
        `| ${board} | ${model} | ${rate} | ${level} | ${sloMs} | ${f.requestsDuringFinetune ? pct(f.attainmentDuringFinetune) : '— (not admitted)'} | ${o.requestsDuringFinetune ? pct(o.attainmentDuringFinetune) : '— (not admitted)'} | ${f.finetuneSamplesPerS.toFixed(1)} | ${o.finetuneSamplesPerS.toFixed(1)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} | ${(f.inferenceEnergyPerQueryJ * 1000).toFixed(1)} / ${(o.inferenceEnergyPerQueryJ * 1000).toFixed(1)} | ${f.configSwitches} | ${f.switchEnergyJ.toFixed(1)} J |`,
      );
    }
  }
out();
out(
  `Lowest attainment while fine-tuning: fitted ${pct(minAtt)}, oracle ${pct(minAttOracle)} (target ≥ 99 %). Throughput vs oracle: median ${median(ratios).toFixed(2)}, min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}.`,
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
];
const CONFIGS = quick ? 6 : 12;
const LIVE = 10;
out(`### Predictor accuracy on held-out configurations and models`);
out();
out(
  `Per board: ${CONFIGS} random configurations (GPU clock, EMC clock, batch 1–16 drawn with a fixed seed), each fitted from ${TWIN_PROFILING.length} profiled co-runs of the training models (EfficientNet-B0/B2, MobileNetV2, ResNet-50; 5 samples each), tested on ${HELD_OUT.length} held-out workloads (EfficientNet-B1/B3/B4 beside or as the fine-tuned model, new pairs and micro-batches), one noisy step+batch each. "Online": the same after ${LIVE} live observations of that workload. Coverage of the 90 % interval.`,
);
out();
out('| board | features | MAPE offline | coverage offline | MAPE online | coverage online | mean interval half-width offline → online |');
out('|---|---|---|---|---|---|---|');
const acc: Record<FeatureSet, number[]> = { paper: [], roofline: [] };
const cov: Record<FeatureSet, number[]> = { paper: [], roofline: [] };
for (const board of BOARDS) {
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

/**
 * Suggestion trace: a fingerprint of everything the tuner decides on the noisy twin, to check that a
 * refactoring changed no behaviour bit for bit. (The digest changed when the joint search with the
 * twin prior became the default; the recorded one is in docs/benchmarks.md, "Tuner: measurements
 * per run".) It runs constrained BO alone on the tuner
 * benchmark's scenarios and seeds (every suggested point and its acquisition value) and whole
 * `tune()` runs (every trial, measurement, recommendation and fitted surrogate), then prints one
 * SHA-256 over all of it.
 *
 *   npx tsx bench/suggestion-trace.ts                      # prints the digest
 *   npx tsx bench/suggestion-trace.ts --out trace.json     # and writes the trace, to diff two runs
 *
 * Timings, run ids and dates are left out: they differ between any two runs. So is the run's
 * `modelSpec` (name, precision, sequence length), which the reference digest does not cover, so that
 * digests stay comparable with it.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ConstrainedBo, computeLandscape, createKnobSpace, createSimTrialRunner, loadBoard, type TuningRun, tune, zooProfile } from '../src/index.ts';

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1] : undefined;

const BATCHES = [1, 2, 4, 8, 16];
const SEEDS = [0, 1, 2];
const SLO_LEVELS = { tight: 1.5, medium: 3, loose: 6 } as const;
const TRIALS = 30;

const trace: Record<string, unknown> = {};

for (const boardName of ['orin-agx', 'tx2'])
  for (const model of ['efficientnet-b0', 'bert-base']) {
    const board = loadBoard(boardName);
    const profile = zooProfile(model);
    const land = computeLandscape({ board, profile, batchSizes: BATCHES, noise: 0 });
    const cpuHz = land.rows[0]!.cpu_hz;
    const d = await createSimTrialRunner({ board, profile }).describe();
    const space = createKnobSpace({ domains: { ...d.knobs, batch: BATCHES }, fixed: { cpuHz } });
    const fastest = Math.min(...land.rows.map((r) => r.latency_p99_ms));
    for (const [level, mult] of Object.entries(SLO_LEVELS))
      for (const seed of SEEDS) {
        const sloMs = +(fastest * mult).toPrecision(3);
        const runner = createSimTrialRunner({ board, profile, seed: 1000 + seed });
        const bo = new ConstrainedBo({ space, threshold: Math.log(sloMs * 0.98), seed });
        const steps: unknown[] = [];
        for (let t = 0; t < TRIALS; t++) {
          const s = bo.suggest();
          if (!s) break;
          const m = await runner.measure(space.toConfig(s.point), { quantile: 0.99 });
          steps.push([s.point, s.source, s.acquisition ?? null, m.energyPerQueryJ, m.latencyTailMs]);
          bo.observe({ point: s.point, valid: true, objective: Math.log(m.energyPerQueryJ), constraint: Math.log(m.latencyTailMs) });
        }
        trace[`cbo ${boardName} ${model} ${level} ${seed}`] = steps;
      }
    process.stderr.write(`cbo ${boardName} ${model} done\n`);
  }

const tunes: { name: string; board: string; model: string; sloMs: number; extra?: Record<string, unknown> }[] = [
  { name: 'joint', board: 'orin-agx', model: 'efficientnet-b0', sloMs: 50 },
  { name: 'joint tight', board: 'tx2', model: 'efficientnet-b0', sloMs: 40 },
  { name: 'joint bert', board: 'xavier-nx', model: 'bert-base', sloMs: 120 },
  { name: 'joint no prior', board: 'orin-nano', model: 'efficientnet-b0', sloMs: 30, extra: { prior: null } },
  { name: 'load-aware', board: 'orin-agx', model: 'resnet-50', sloMs: 60, extra: { rateRps: 40 } },
  { name: 'random', board: 'orin-agx', model: 'efficientnet-b0', sloMs: 50, extra: { optimizer: 'random', budget: 12 } },
  { name: 'two-phase', board: 'orin-agx', model: 'efficientnet-b0', sloMs: 50, extra: { method: 'two-phase' } },
];
const stripRun = (r: TuningRun) => ({
  ...r,
  id: undefined,
  createdAt: undefined,
  modelSpec: undefined,
  trials: r.trials.map((t) => ({ ...t, suggestMs: undefined })),
});
for (const t of tunes) {
  const runner = createSimTrialRunner({ board: loadBoard(t.board), profile: zooProfile(t.model), seed: 7 });
  const run = await tune({ runner, model: t.model, slo: { latencyMs: t.sloMs, quantile: 0.99 }, seed: 3, ...t.extra });
  trace[`tune ${t.name}`] = stripRun(run);
  process.stderr.write(`tune ${t.name} done\n`);
}

const text = JSON.stringify(trace, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
if (out) writeFileSync(out, text);
const configs = Object.keys(trace).length;
console.log(`${configs} traces, sha256 ${createHash('sha256').update(text).digest('hex')}`);

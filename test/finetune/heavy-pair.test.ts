import { describe, expect, it } from 'vitest';
import { InterferencePredictor } from '../../src/finetune/prediction/predictor.ts';
import { profileCoRuns, type ProfilingWorkload } from '../../src/finetune/simulation/sim-environment.ts';
import { TWIN_PROFILING, twinCosts } from '../../src/finetune/simulation/twin-costs.ts';
import { cachedZooProfile, runTwinReplay } from '../../src/finetune/simulation/twin-replay.ts';
import { loadBoard } from '../../src/device/sim/board-spec.ts';

const slo = (ms: number) => ({ latencyMs: ms, quantile: 0.99 });

describe('fine-tuning a heavier model than the served one (twin replay)', () => {
  // A transformer fine-tuned beside a small CNN served at a high rate: one whole step of BERT-base
  // lasts longer than the slack the SLO leaves, so it must be shrunk or wait.
  const replay = () =>
    runTwinReplay({
      board: 'tx2',
      model: 'mobilenet-v2',
      rateRps: 200,
      durationMs: 40_000,
      slo: slo(100),
      sloChanges: [{ atMs: 20_000, slo: slo(300) }],
      submissions: [{ atMs: 0, spec: { kind: 'sim', name: 'bert', model: 'bert-base', microBatch: 4, steps: 1_000_000 } }],
      seed: 7,
    });

  it('holds the SLO while fine-tuning, shrinks the step, and says which', () => {
    const r = replay();
    expect(r.requestsDuringFinetune).toBeGreaterThan(1000);
    expect(r.attainmentDuringFinetune).toBeGreaterThanOrEqual(0.99);
    expect(r.attainment).toBeGreaterThanOrEqual(0.99);
    expect(r.result.steps.length).toBeGreaterThan(0);
    const decisions = r.events.flatMap((e) => (e.type === 'job-started' || e.type === 'job-resized' ? [e.admission] : []));
    expect(decisions.length).toBeGreaterThan(0);
    for (const a of decisions) {
      expect(a.option.action).not.toBe('whole'); // a whole step of micro-batch 4 never fits here
      expect(a.decision).toMatch(/does not fit .*(gradient accumulation|chunks that yield)/);
      expect(a.option.partUpperMs).toBeLessThan(a.option.tailUpperMs);
    }
    // No part ran longer than the SLO leaves beside a batch.
    expect(Math.max(...r.result.steps.map((s) => s.endMs - s.startMs))).toBeLessThan(300);
  });

  it('makes the job wait, with the reason, when not even the finest step fits', () => {
    const r = runTwinReplay({
      board: 'tx2',
      model: 'mobilenet-v2',
      rateRps: 200,
      durationMs: 10_000,
      slo: slo(25),
      submissions: [{ atMs: 0, spec: { kind: 'sim', name: 'bert', model: 'bert-base', microBatch: 4, steps: 10 } }],
      seed: 3,
    });
    expect(r.result.steps).toHaveLength(0);
    const job = r.scheduler.list()[0]!;
    expect(job.state).toBe('queued');
    expect(job.reason).toMatch(/waits: .*split into 16 chunks/);
  });
});

describe('predictor interval on held-out pairs', () => {
  // Pairs, micro-batches and chunkings none of the profiled runs had.
  const HELD_OUT: readonly ProfilingWorkload[] = [
    { inferenceModel: 'bert-base', finetuneModel: 'bert-base', microBatch: 2 },
    { inferenceModel: 'mobilenet-v2', finetuneModel: 'bert-base', microBatch: 1, chunks: 8 },
    { inferenceModel: 'bert-base', finetuneModel: 'resnet-50', microBatch: 2 },
    { inferenceModel: 'resnet-50', finetuneModel: 'bert-tiny', microBatch: 16 },
    { inferenceModel: 'efficientnet-b0', finetuneModel: 'resnet-50', microBatch: 1, chunks: 4 },
    { inferenceModel: 'mobilenet-v2', finetuneModel: 'resnet-50', microBatch: 8 },
    { inferenceModel: 'efficientnet-b3', finetuneModel: 'mobilenet-v2', microBatch: 8 },
    { inferenceModel: 'resnet-50', finetuneModel: 'efficientnet-b1', microBatch: 4 },
  ];

  it('covers at least 90 % of held-out co-runs with its 90 % interval', () => {
    let inside = 0;
    let n = 0;
    for (const board of ['tx2', 'orin-nano']) {
      const spec = loadBoard(board);
      const costs = twinCosts(spec, cachedZooProfile, 'mobilenet-v2');
      const cpuHz = spec.cpu.freqsHz.at(-1)!;
      for (const [gi, ei, batch] of [
        [-1, -1, 4],
        [2, 1, 8],
        [4, -2, 1],
      ] as const) {
        const g = spec.gpu.freqsHz.at(gi)!;
        const c = { cpuHz, gpuMinHz: g, gpuMaxHz: g, emcHz: spec.emc.freqsHz.at(ei)!, batch };
        const p = new InterferencePredictor({ featureSet: 'roofline', level: 0.9 });
        p.fit('c', profileCoRuns(costs, cachedZooProfile, c, TWIN_PROFILING, { noise: 0.03, seed: gi + 10 }));
        const tests = profileCoRuns(costs, cachedZooProfile, c, HELD_OUT, { noise: 0.03, seed: 99 + gi, samples: 1 });
        for (const t of tests) {
          const pr = p.predictAt('c', t.features);
          if (t.latencyMs >= pr.lowerMs && t.latencyMs <= pr.upperMs) inside++;
          n++;
        }
      }
    }
    expect(n).toBe(48);
    expect(inside / n).toBeGreaterThanOrEqual(0.9);
  });
});

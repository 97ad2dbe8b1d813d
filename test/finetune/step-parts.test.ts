import { describe, expect, it } from 'vitest';
import { fineTuneStepCost } from '../../src/device/sim/fine-tune.ts';
import { describeGranularity, granularities, partAt } from '../../src/finetune/scheduling/granularity.ts';
import { quantileWithMargin } from '../../src/finetune/scheduling/quantile-margin.ts';
import { coRunBoundMs, partMayStart } from '../../src/finetune/scheduling/step-guard.ts';
import { stepQueueTail } from '../../src/finetune/scheduling/step-queue.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';

describe('step granularity', () => {
  it('goes from the requested step to smaller micro-batches that divide it, then to chunks', () => {
    const gs = granularities(8, true);
    expect(gs.map((g) => `${g.microBatch}x${g.accumulation}/${g.chunks}`)).toEqual(['8x1/1', '4x2/1', '2x4/1', '1x8/1', '1x8/2', '1x8/4', '1x8/8', '1x8/16']);
    expect(
      granularities(6, true)
        .slice(0, 4)
        .map((g) => g.microBatch),
    ).toEqual([6, 3, 2, 1]);
    expect(granularities(8, false)).toHaveLength(1);
    expect(describeGranularity(gs[1]!)).toMatch(/micro-batch 4 with gradient accumulation over 2/);
    expect(describeGranularity(gs[5]!)).toMatch(/split into 4 chunks that yield between inference batches/);
  });

  it('puts the optimizer update on the last micro-batch and ends the step on the last part', () => {
    const g = { microBatch: 2, accumulation: 2, chunks: 2 };
    const parts = [0, 1, 2, 3].map((i) => partAt(g, i));
    expect(parts.map((p) => p.optimizer)).toEqual([false, false, true, true]);
    expect(parts.map((p) => p.last)).toEqual([false, false, false, true]);
    expect(parts.map((p) => p.chunk)).toEqual([0, 1, 0, 1]);
  });
});

describe('step parts on the twin', () => {
  const cfg = { cpuHz: 2035200000, gpuMinHz: 1300500000, gpuMaxHz: 1300500000, emcHz: 1866000000 };
  it('splits a transformer step into chunks that together cost about the step plus a launch overhead each', () => {
    const p = zooProfile('bert-base');
    const whole = fineTuneStepCost('tx2', p, cfg, { microBatch: 1 }).stepS;
    const chunks = Array.from({ length: 4 }, (_, chunk) => fineTuneStepCost('tx2', p, cfg, { microBatch: 1, part: { chunks: 4, chunk } }).stepS);
    const sum = chunks.reduce((s, x) => s + x, 0);
    expect(sum).toBeGreaterThanOrEqual(whole);
    expect(sum).toBeLessThan(1.2 * whole);
    expect(Math.max(...chunks)).toBeLessThan(0.4 * whole);
    const noUpdate = fineTuneStepCost('tx2', p, cfg, { microBatch: 1, part: { optimizer: false } }).stepS;
    expect(noUpdate).toBeLessThan(whole);
    expect(() => fineTuneStepCost('tx2', p, cfg, { microBatch: 1, part: { chunks: 4, chunk: 4 } })).toThrow(/chunk must be in 0\.\.3/);
  });
});

describe('quantile margin', () => {
  it('raises the SLO quantile by its sampling error over a window of requests at the load', () => {
    expect(quantileWithMargin(0.99, 0)).toBe(0.99);
    const at80 = quantileWithMargin(0.99, 80);
    expect(at80).toBeGreaterThan(0.993);
    expect(at80).toBeLessThan(0.994);
    expect(quantileWithMargin(0.99, 5)).toBeGreaterThan(at80); // fewer requests, larger error
    expect(quantileWithMargin(0.99, 1e6)).toBeCloseTo(0.99, 3);
  });
});

describe('queueing behind a step', () => {
  const base = { rateRps: 150, batch: 4, serviceMs: 10, sloMs: 120, quantile: 0.993 };
  it('lets no part start that cannot fit beside a batch, however idle the device', () => {
    expect(partMayStart({ sloMs: 120, coRunUpperMs: 121, oldestWaitMs: 0 })).toBe(false);
    expect(partMayStart({ sloMs: 120, coRunUpperMs: 100, oldestWaitMs: 25 })).toBe(false);
    expect(partMayStart({ sloMs: 120, coRunUpperMs: 100, oldestWaitMs: 15 })).toBe(true);
    const never = stepQueueTail({ ...base, partMs: 115 });
    expect(never.finetuneShare).toBe(0);
  });

  it('prices a long part by the requests queued behind it, not by the mean slowdown', () => {
    const alone = stepQueueTail({ ...base, partMs: 1 });
    const long = stepQueueTail({ ...base, partMs: 90 });
    const short = stepQueueTail({ ...base, partMs: 20 });
    expect(long.tailMs).toBeGreaterThan(alone.tailMs + 40); // waits for most of a part
    expect(short.tailMs).toBeLessThan(long.tailMs);
    expect(long.tailMs).toBeLessThanOrEqual(base.sloMs); // the guard holds it within the SLO
    expect(long.finetuneShare).toBeGreaterThan(0.05);
  });

  it('holds a part to the one-sided bound at the SLO quantile when that is above the interval', () => {
    expect(coRunBoundMs({ meanMs: 100, upperMs: 110, sdMs: 5 }, 0.99)).toBeCloseTo(100 + 2.3263 * 5, 2);
    expect(coRunBoundMs({ meanMs: 100, upperMs: 130, sdMs: 5 }, 0.99)).toBe(130);
  });
});

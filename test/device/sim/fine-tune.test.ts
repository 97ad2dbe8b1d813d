import { describe, expect, it } from 'vitest';
import { totalFlopsPerSample } from '../../../src/core/workload-profile.ts';
import { OPTIMIZER_FLOPS_PER_PARAM, evaluateConfig, fineTuneStepCost, loadBoard, trainingProfile } from '../../../src/device/sim/index.ts';
import { denseCnn } from './synthetic-profiles.ts';

const profile = denseCnn();

describe('fineTuneStepCost', () => {
  it('counts forward + backward ≈ 3× forward FLOPs plus the optimizer pass', () => {
    const c = fineTuneStepCost('orin-agx', profile, {}, { microBatch: 4 });
    expect(c.flops).toBeCloseTo(3 * 4 * totalFlopsPerSample(profile) + OPTIMIZER_FLOPS_PER_PARAM * profile.params, -3);
    const t = trainingProfile(profile);
    expect(t.ops.at(-1)!.weightBytes).toBe(28 * profile.params);
    expect(trainingProfile(profile)).toBe(t);
  });

  it('takes longer and costs more than inference at the same batch, and scales with the clocks', () => {
    const g = loadBoard('orin-agx').gpu.freqsHz;
    const fast = { gpuMinHz: g[12]!, gpuMaxHz: g[12]! };
    const slow = { gpuMinHz: g[4]!, gpuMaxHz: g[4]! };
    const step = fineTuneStepCost('orin-agx', profile, fast, { microBatch: 8 });
    const inf = evaluateConfig('orin-agx', profile, { ...fast, batch: 8 });
    expect(step.stepS * 1000).toBeGreaterThan(2.5 * inf.serviceMs);
    // The per-batch host overhead is shared, so the energy ratio sits a little below the FLOP ratio.
    expect(step.energyJ).toBeGreaterThan(2 * inf.energyPerQueryJ * 8);
    expect(step.energyJ).toBeCloseTo(step.powerW * step.stepS, 12);
    expect(fineTuneStepCost('orin-agx', profile, slow, { microBatch: 8 }).stepS).toBeGreaterThan(step.stepS * 1.5);
    expect(() => fineTuneStepCost('orin-agx', profile, fast, { microBatch: 0 })).toThrow(/micro-batch/);
  });
});

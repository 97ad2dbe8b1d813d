import type { Config } from '../../src/core/config.ts';
import type { WorkloadProfile } from '../../src/core/workload-profile.ts';
import { totalBytes, totalFlopsPerSample } from '../../src/core/workload-profile.ts';
import type { DeviceCosts } from '../../src/finetune/simulation/corun-sim.ts';
import { finetuneStepFeatures } from '../../src/finetune/prediction/features.ts';
import { InterferencePredictor } from '../../src/finetune/prediction/predictor.ts';
import { createSimEnvironment } from '../../src/finetune/simulation/sim-environment.ts';
import { FinetuneService } from '../../src/finetune/scheduling/finetune-service.ts';
import { MemoryJobStore } from '../../src/finetune/scheduling/job-store.ts';
import type { CommandSpec } from '../../src/finetune/scheduling/command-runner.ts';

/** A small synthetic CNN-like profile: `gflops` per sample, `mb` MB of weights, activations ∝ size. */
export function syntheticProfile(model: string, gflops: number, weightMb: number, actMb: number, ops = 20): WorkloadProfile {
  return {
    model,
    dtype: 'fp16',
    inputBytesPerSample: 150_528,
    params: (weightMb * 1e6) / 2,
    preprocessCyclesPerSample: 0,
    ops: Array.from({ length: ops }, (_, i) => ({
      name: `op${i}`,
      opType: 'Conv',
      macsPerSample: (gflops * 1e9) / 2 / ops,
      flopsPerSample: (gflops * 1e9) / ops,
      weightBytes: (weightMb * 1e6) / ops,
      activationBytesReadPerSample: (actMb * 1e6) / ops,
      activationBytesWrittenPerSample: (actMb * 1e6) / ops,
      modelled: true,
    })),
  };
}

export const PROFILES: Record<string, WorkloadProfile> = {
  small: syntheticProfile('small', 0.8, 10, 6),
  medium: syntheticProfile('medium', 4, 50, 20),
  large: syntheticProfile('large', 12, 100, 40),
  wide: syntheticProfile('wide', 2, 200, 10),
  deep: syntheticProfile('deep', 8, 30, 60, 60),
};

export const profileOf = (name: string): WorkloadProfile => {
  const p = PROFILES[name];
  if (!p) throw new RangeError(`unknown model ${name}`);
  return p;
};

/** A roofline device: peak FLOP/s ∝ GPU max clock, bandwidth ∝ EMC clock, a launch cost per op. */
export function rooflineCosts(): DeviceCosts {
  const timeMs = (flops: number, bytes: number, ops: number, c: Config) => {
    const peak = 2000 * (c.gpuMaxHz ?? 1e9); // 2 TFLOP/s at 1 GHz
    const bw = 50 * (c.emcHz ?? 2e9); // 100 GB/s at 2 GHz
    return 1000 * Math.max(flops / peak, bytes / bw) + 0.02 * ops;
  };
  const powerW = (c: Config) => 5 + 10 * ((c.gpuMaxHz ?? 1e9) / 1e9) ** 2 + 3 * ((c.emcHz ?? 2e9) / 2e9);
  return {
    inferenceBatch(c, model) {
      const p = profileOf(model);
      const ms = timeMs(c.batch * totalFlopsPerSample(p), totalBytes(p, c.batch), p.ops.length, c);
      return { serviceMs: ms, energyJ: (powerW(c) * ms) / 1000 };
    },
    finetuneStep(c, model, mb) {
      const p = profileOf(model);
      const f = finetuneStepFeatures(p, mb);
      const ms = timeMs(f.flops, f.bytes, 3 * p.ops.length, c);
      return { stepMs: ms, energyJ: (powerW(c) * ms) / 1000 };
    },
    idlePowerW: () => 4,
  };
}

export const GPU = [0.4e9, 0.7e9, 1.0e9, 1.3e9];
export const EMC = [1e9, 2e9, 3e9];

export function cfg(gpu: number, emc: number, batch: number): Config {
  return { gpuMinHz: gpu, gpuMaxHz: gpu, emcHz: emc, batch };
}

/** Every (gpu, emc, batch) configuration of the synthetic device. */
export function grid(batches = [1, 2, 4, 8]): Config[] {
  const out: Config[] = [];
  for (const g of GPU) for (const e of EMC) for (const b of batches) out.push(cfg(g, e, b));
  return out;
}

export const PROFILING = [
  { inferenceModel: 'small', finetuneModel: 'small', microBatch: 4 },
  { inferenceModel: 'small', finetuneModel: 'large', microBatch: 2 },
  { inferenceModel: 'medium', finetuneModel: 'small', microBatch: 8 },
  { inferenceModel: 'medium', finetuneModel: 'medium', microBatch: 4 },
  { inferenceModel: 'large', finetuneModel: 'wide', microBatch: 4 },
  { inferenceModel: 'large', finetuneModel: 'medium', microBatch: 1 },
  { inferenceModel: 'wide', finetuneModel: 'large', microBatch: 8 },
  { inferenceModel: 'deep', finetuneModel: 'deep', microBatch: 2 },
];

/**
 * The co-run environment most fine-tuning tests run in: the roofline costs of the synthetic models,
 * the 'medium' model served over the grid at batches 1 and 2, a fresh roofline predictor.
 */
export function simEnvironment(costs: DeviceCosts = rooflineCosts()) {
  const predictor = new InterferencePredictor({ featureSet: 'roofline' });
  const environment = createSimEnvironment({
    costs,
    profileOf,
    model: 'medium',
    candidates: grid([1, 2]),
    predictor,
    profiling: PROFILING,
    noise: 0.02,
    seed: 1,
    baselineRequests: 400,
  });
  return { predictor, environment };
}

/**
 * A fine-tuning service on `simEnvironment()` with no inference traffic (the host is always idle):
 * SLO p99 60 ms at 20 requests/s, no switching; for tests of its admin API.
 */
export function idleService(commands?: Readonly<Record<string, CommandSpec>>): FinetuneService {
  const { predictor, environment } = simEnvironment();
  return new FinetuneService({
    store: new MemoryJobStore(),
    predictor,
    environment,
    slo: { latencyMs: 60, quantile: 0.99 },
    rateRps: 20,
    clock: () => performance.now(),
    allowSwitch: false,
    shrinkMicroBatch: false,
    host: { runWhenIdle: async (t) => t(), onIdle: () => {}, onBatch: () => {}, onSlo: () => {}, applyConfig: async () => {} },
    ...(commands ? { commands } : {}),
  });
}

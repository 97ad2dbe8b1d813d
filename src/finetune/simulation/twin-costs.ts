import type { Config } from '../../core/config.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from '../../device/sim/board-spec.ts';
import { evaluateConfig } from '../../device/sim/evaluate.ts';
import { fineTuneStepCost, type StepPart } from '../../device/sim/fine-tune.ts';
import type { DeviceCosts } from './corun-sim.ts';
import type { ProfilingWorkload } from './sim-environment.ts';

/**
 * Costs on the device twin: inference batches from `evaluateConfig` (saturated: service time and
 * active energy of one batch), fine-tuning steps from the twin's `fineTuneStepCost` (forward +
 * backward ≈ 3× the forward pass at the micro-batch plus the optimizer's update), idle power from the
 * twin's load-aware energy at a trickle of load.
 */
export function twinCosts(board: string | BoardSpec, profileOf: (name: string) => WorkloadProfile, idleModel: string): DeviceCosts {
  const spec = resolveBoard(board);
  const idle = new Map<string, number>();
  const steps = new Map<string, { stepMs: number; energyJ: number }>();
  return {
    inferenceBatch(config: Config, model: string) {
      const e = evaluateConfig(spec, profileOf(model), config);
      return { serviceMs: e.serviceMs, energyJ: e.energyPerQueryJ * e.config.batch };
    },
    finetuneStep(config: Config, model: string, microBatch: number, part?: StepPart) {
      const key = `${model}|${microBatch}|${part?.chunks ?? 1}/${part?.chunk ?? ''}/${part?.optimizer ?? true}|${config.cpuHz}|${config.gpuMinHz}|${config.gpuMaxHz}|${config.emcHz}`;
      const hit = steps.get(key);
      if (hit) return hit;
      const c = fineTuneStepCost(spec, profileOf(model), config, { microBatch, ...(part ? { part } : {}) });
      const r = { stepMs: c.stepS * 1000, energyJ: c.energyJ };
      steps.set(key, r);
      return r;
    },
    idlePowerW(config: Config) {
      const key = `${config.cpuHz}|${config.gpuMinHz}|${config.gpuMaxHz}|${config.emcHz}`;
      const hit = idle.get(key);
      if (hit !== undefined) return hit;
      const p = profileOf(idleModel);
      const c = { ...config, batch: 1 };
      const rate = 0.2;
      const sat = evaluateConfig(spec, p, c);
      const light = evaluateConfig(spec, p, c, { rateRps: rate });
      const busy = (rate * sat.serviceMs) / 1000;
      const w = Math.max(0, (rate * (light.energyPerQueryJ - sat.energyPerQueryJ)) / Math.max(1e-6, 1 - busy));
      idle.set(key, w);
      return w;
    },
  };
}

/** Profiling workloads for the twin: varied CNN/transformer pairs, micro-batches and a chunked step (training models only). */
export const TWIN_PROFILING: readonly ProfilingWorkload[] = [
  { inferenceModel: 'efficientnet-b0', finetuneModel: 'efficientnet-b0', microBatch: 8 },
  { inferenceModel: 'efficientnet-b0', finetuneModel: 'resnet-50', microBatch: 2 },
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'mobilenet-v2', microBatch: 16 },
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'efficientnet-b2', microBatch: 4 },
  { inferenceModel: 'resnet-50', finetuneModel: 'mobilenet-v2', microBatch: 4 },
  { inferenceModel: 'resnet-50', finetuneModel: 'resnet-50', microBatch: 8 },
  { inferenceModel: 'efficientnet-b2', finetuneModel: 'efficientnet-b0', microBatch: 1 },
  { inferenceModel: 'efficientnet-b2', finetuneModel: 'efficientnet-b2', microBatch: 2 },
  // Transformers beside CNNs and as the fine-tuned model, and a chunked step: pairs unlike the served one.
  { inferenceModel: 'mobilenet-v2', finetuneModel: 'bert-base', microBatch: 1 },
  { inferenceModel: 'bert-base', finetuneModel: 'efficientnet-b0', microBatch: 4 },
  { inferenceModel: 'efficientnet-b0', finetuneModel: 'bert-tiny', microBatch: 8 },
  { inferenceModel: 'resnet-50', finetuneModel: 'bert-base', microBatch: 1, chunks: 4 },
];

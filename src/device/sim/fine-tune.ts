import type { Config } from '../../core/config.ts';
import { badInput } from '../../core/errors.ts';
import type { OpCost, WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from './board-spec.ts';
import { evaluateConfig } from './evaluate.ts';

/**
 * Bytes of optimizer traffic per parameter and step (Adam with fp32 master weights: read weight,
 * gradient, first and second moment; write weight and both moments).
 */
export const OPTIMIZER_BYTES_PER_PARAM = 28;
/** Elementwise FLOPs per parameter for an Adam update. */
export const OPTIMIZER_FLOPS_PER_PARAM = 12;

const training = new WeakMap<WorkloadProfile, WorkloadProfile>();

/**
 * The training-step profile of a model: forward + backward ≈ 3× the forward FLOPs; activations are
 * written in the forward pass and read back with their gradients in the backward pass (3× traffic);
 * weights are read twice and their gradients written once; then one optimizer pass over all
 * parameters.
 */
export function trainingProfile(p: WorkloadProfile): WorkloadProfile {
  const hit = training.get(p);
  if (hit) return hit;
  const ops: OpCost[] = p.ops.map((o) => ({
    ...o,
    name: `${o.name}/fwd+bwd`,
    macsPerSample: 3 * o.macsPerSample,
    flopsPerSample: 3 * o.flopsPerSample,
    weightBytes: 3 * o.weightBytes,
    activationBytesReadPerSample: 3 * o.activationBytesReadPerSample,
    activationBytesWrittenPerSample: 3 * o.activationBytesWrittenPerSample,
  }));
  ops.push({
    name: 'optimizer/adam',
    opType: 'AdamUpdate',
    macsPerSample: 0,
    flopsPerSample: 0,
    weightBytes: OPTIMIZER_BYTES_PER_PARAM * p.params,
    activationBytesReadPerSample: 0,
    activationBytesWrittenPerSample: 0,
    modelled: true,
  });
  const t: WorkloadProfile = { ...p, model: `${p.model} (training step)`, ops };
  training.set(p, t);
  return t;
}

export interface FineTuneStepCost {
  /** Wall time of one optimizer step on `microBatch` samples, seconds. */
  readonly stepS: number;
  /** Board input energy of one step, joules. */
  readonly energyJ: number;
  /** Mean board input power during steps, watts. */
  readonly powerW: number;
  readonly flops: number;
  readonly bytes: number;
}

/** Cost of one fine-tuning step at a configuration (steps run back to back under the governor). */
export function fineTuneStepCost(
  boardIn: string | BoardSpec,
  profile: WorkloadProfile,
  config: Omit<Config, 'batch'> & { batch?: number },
  opts: { microBatch: number },
): FineTuneStepCost {
  const board = resolveBoard(boardIn);
  const mb = opts.microBatch;
  if (!(Number.isInteger(mb) && mb >= 1)) throw badInput(`micro-batch must be a positive integer, got ${mb}`);
  const t = trainingProfile(profile);
  const e = evaluateConfig(board, t, { ...config, batch: mb });
  const stepS = mb / e.throughputQps;
  let flops = 0;
  let bytes = 0;
  for (const o of t.ops) {
    flops += mb * o.flopsPerSample;
    bytes += o.weightBytes + mb * (o.activationBytesReadPerSample + o.activationBytesWrittenPerSample);
  }
  flops += OPTIMIZER_FLOPS_PER_PARAM * profile.params;
  return { stepS, energyJ: e.powerW * stepS, powerW: e.powerW, flops, bytes };
}

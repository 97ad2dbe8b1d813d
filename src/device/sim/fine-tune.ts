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

/**
 * Which part of an optimizer step to cost: the forward + backward work of layer group `chunk` of
 * `chunks` contiguous groups (balanced by work), with or without the optimizer update (a micro-batch
 * that only accumulates gradients runs none). Default: the whole step, optimizer included.
 */
export interface StepPart {
  readonly chunks?: number;
  readonly chunk?: number;
  readonly optimizer?: boolean;
}

const parts = new WeakMap<WorkloadProfile, Map<string, WorkloadProfile>>();

/**
 * The training profile of one part of a step: its layer group's ops (each group launched on its own,
 * so per-launch overheads are paid once per chunk) and its share of the optimizer update.
 */
export function trainingPartProfile(p: WorkloadProfile, part: StepPart = {}): WorkloadProfile {
  const chunks = part.chunks ?? 1;
  const chunk = part.chunk ?? chunks - 1;
  const optimizer = part.optimizer ?? true;
  if (!(Number.isInteger(chunks) && chunks >= 1)) throw badInput(`chunks must be a positive integer, got ${chunks}`);
  if (!(Number.isInteger(chunk) && chunk >= 0 && chunk < chunks)) throw badInput(`chunk must be in 0..${chunks - 1}, got ${chunk}`);
  const t = trainingProfile(p);
  if (chunks === 1 && optimizer) return t;
  let cache = parts.get(p);
  if (!cache) {
    cache = new Map();
    parts.set(p, cache);
  }
  const key = `${chunks}/${chunk}/${optimizer}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const work = t.ops.filter((o) => o.opType !== 'AdamUpdate');
  const adam = t.ops.find((o) => o.opType === 'AdamUpdate')!;
  // Contiguous groups of about equal work (FLOPs + a byte ~ 10 FLOPs), at least one op each.
  const weight = (o: (typeof work)[number]) => o.flopsPerSample + 10 * (o.activationBytesReadPerSample + o.activationBytesWrittenPerSample) + o.weightBytes;
  const total = work.reduce((s, o) => s + weight(o), 0);
  const groups: (typeof work)[] = Array.from({ length: chunks }, () => []);
  let acc = 0;
  work.forEach((o, i) => {
    const left = work.length - i;
    let g = Math.min(chunks - 1, Math.floor((acc / Math.max(total, 1e-12)) * chunks));
    // Leave at least one op for every later group.
    g = Math.max(g, chunks - left);
    groups[g]!.push(o);
    acc += weight(o);
  });
  const ops = [...groups[chunk]!];
  if (optimizer) ops.push({ ...adam, weightBytes: adam.weightBytes / chunks });
  const r: WorkloadProfile = { ...t, model: `${t.model} [part ${chunk + 1}/${chunks}${optimizer ? '' : ', no update'}]`, ops };
  cache.set(key, r);
  return r;
}

/** Cost of one fine-tuning step at a configuration (steps run back to back under the governor). */
export function fineTuneStepCost(
  boardIn: string | BoardSpec,
  profile: WorkloadProfile,
  config: Omit<Config, 'batch'> & { batch?: number },
  opts: { microBatch: number; part?: StepPart },
): FineTuneStepCost {
  const board = resolveBoard(boardIn);
  const mb = opts.microBatch;
  if (!(Number.isInteger(mb) && mb >= 1)) throw badInput(`micro-batch must be a positive integer, got ${mb}`);
  const t = trainingPartProfile(profile, opts.part);
  const e = evaluateConfig(board, t, { ...config, batch: mb });
  const stepS = mb / e.throughputQps;
  let flops = 0;
  let bytes = 0;
  for (const o of t.ops) {
    flops += mb * o.flopsPerSample;
    bytes += o.weightBytes + mb * (o.activationBytesReadPerSample + o.activationBytesWrittenPerSample);
  }
  if (opts.part?.optimizer ?? true) flops += (OPTIMIZER_FLOPS_PER_PARAM * profile.params) / (opts.part?.chunks ?? 1);
  return { stepS, energyJ: e.powerW * stepS, powerW: e.powerW, flops, bytes };
}

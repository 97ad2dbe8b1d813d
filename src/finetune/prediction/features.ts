import { arithmeticIntensity, totalBytes, totalFlopsPerSample, type WorkloadProfile } from '../../core/workload-profile.ts';

/**
 * What the interference predictor knows about one inference batch and one fine-tuning step: the
 * paper's features (FLOPs and arithmetic intensity of each side), plus bytes moved for the
 * roofline feature set. Device-independent: the hardware configuration is fixed per fit.
 */
export interface WorkFeatures {
  readonly flops: number;
  readonly bytes: number;
  /** flops / bytes */
  readonly intensity: number;
}

export interface InterferenceFeatures {
  /** One inference batch at the configuration's batch size. */
  readonly inference: WorkFeatures;
  /** One fine-tuning step (forward + backward + optimizer update) at its micro-batch. */
  readonly finetune: WorkFeatures;
}

/**
 * Bytes of optimizer traffic per parameter and step: Adam in FP32 reads weight, gradient and two
 * moments and writes weight and two moments (7 × 4 bytes).
 */
export const OPTIMIZER_BYTES_PER_PARAM = 28;

/** Backward ≈ 2× forward, so a training step is ≈ 3× the forward pass (FLOPs and activation traffic). */
export const TRAINING_PASS_FACTOR = 3;

export function inferenceFeatures(profile: WorkloadProfile, batch: number): WorkFeatures {
  if (!(Number.isInteger(batch) && batch >= 1)) throw new RangeError(`batch must be a positive integer, got ${batch}`);
  const flops = batch * totalFlopsPerSample(profile);
  const bytes = totalBytes(profile, batch);
  return { flops, bytes, intensity: arithmeticIntensity(profile, batch) };
}

export function finetuneStepFeatures(profile: WorkloadProfile, microBatch: number): WorkFeatures {
  if (!(Number.isInteger(microBatch) && microBatch >= 1)) throw new RangeError(`micro-batch must be a positive integer, got ${microBatch}`);
  const flops = TRAINING_PASS_FACTOR * microBatch * totalFlopsPerSample(profile);
  const bytes = TRAINING_PASS_FACTOR * totalBytes(profile, microBatch) + OPTIMIZER_BYTES_PER_PARAM * profile.params;
  return { flops, bytes, intensity: bytes === 0 ? 0 : flops / bytes };
}

/**
 * Feature sets of the linear model.
 * - `paper`: intercept + FLOPs + arithmetic intensity of the inference batch and of the step (paper §6, App. C).
 * - `roofline`: intercept + FLOPs + bytes moved of each side (a roofline's two terms, linear in the work).
 */
export type FeatureSet = 'paper' | 'roofline';

export const FEATURE_NAMES: Record<FeatureSet, readonly string[]> = {
  paper: ['intercept', 'inference FLOPs', 'inference AI', 'step FLOPs', 'step AI'],
  roofline: ['intercept', 'inference FLOPs', 'inference bytes', 'step FLOPs', 'step bytes'],
};

export function featureVector(set: FeatureSet, f: InterferenceFeatures): number[] {
  return set === 'paper'
    ? [1, f.inference.flops, f.inference.intensity, f.finetune.flops, f.finetune.intensity]
    : [1, f.inference.flops, f.inference.bytes, f.finetune.flops, f.finetune.bytes];
}

/**
 * One part of a fine-tuning step at a granularity (see `StepGranularity`): a layer group's share
 * (1 / `chunks`) of the forward + backward work at `microBatch`, plus its share of the optimizer
 * update when `optimizer` (the last micro-batch of an accumulated step); without it, a micro-batch
 * that only accumulates gradients.
 */
export function finetunePartFeatures(profile: WorkloadProfile, microBatch: number, chunks = 1, optimizer = true): WorkFeatures {
  if (!(Number.isInteger(chunks) && chunks >= 1)) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  const whole = finetuneStepFeatures(profile, microBatch);
  const update = OPTIMIZER_BYTES_PER_PARAM * profile.params;
  const flops = whole.flops / chunks;
  const bytes = (whole.bytes - update + (optimizer ? update : 0)) / chunks;
  return { flops, bytes, intensity: bytes === 0 ? 0 : flops / bytes };
}

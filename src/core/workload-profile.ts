/**
 * What a neural network costs, per operator, independent of the device. Produced by the ONNX
 * analyser (src/model) and consumed by the device twin (src/device/sim) and the fine-tuning
 * predictor. Costs scale linearly with batch size except weights, which are read once per batch.
 */
export type DType = 'fp32' | 'fp16';

export interface OpCost {
  readonly name: string;
  readonly opType: string;
  /** Multiply-accumulates per sample (0 for ops without MACs). */
  readonly macsPerSample: number;
  /** Floating-point operations per sample (2 × MACs for conv/matmul, elements for elementwise ops). */
  readonly flopsPerSample: number;
  /** Bytes of weights (initializers) read, once per batch. */
  readonly weightBytes: number;
  /** Bytes of activations read per sample. */
  readonly activationBytesReadPerSample: number;
  /** Bytes of activations written per sample. */
  readonly activationBytesWrittenPerSample: number;
  /** False when no cost model exists for the op: only its bytes are counted. */
  readonly modelled: boolean;
}

export interface WorkloadProfile {
  /** Model name (zoo name or file name). */
  readonly model: string;
  readonly dtype: DType;
  readonly ops: readonly OpCost[];
  /** Bytes of one input sample (for pre-processing and host→device copies). */
  readonly inputBytesPerSample: number;
  /** Number of parameters. */
  readonly params: number;
  /**
   * Relative CPU pre-processing work per sample (e.g. image decode + resize), in CPU cycles.
   * 0 when the model's input needs none (token ids).
   */
  readonly preprocessCyclesPerSample: number;
}

export function totalMacsPerSample(p: WorkloadProfile): number {
  let s = 0;
  for (const o of p.ops) s += o.macsPerSample;
  return s;
}

export function totalFlopsPerSample(p: WorkloadProfile): number {
  let s = 0;
  for (const o of p.ops) s += o.flopsPerSample;
  return s;
}

/** Bytes moved by the whole graph for a batch of `batch` samples. */
export function totalBytes(p: WorkloadProfile, batch: number): number {
  let s = 0;
  for (const o of p.ops) s += o.weightBytes + batch * (o.activationBytesReadPerSample + o.activationBytesWrittenPerSample);
  return s;
}

/** FLOPs per byte moved at a batch size: the roofline's x axis. */
export function arithmeticIntensity(p: WorkloadProfile, batch: number): number {
  const b = totalBytes(p, batch);
  return b === 0 ? 0 : (batch * totalFlopsPerSample(p)) / b;
}

/**
 * Execution contract shared by the workload runners (src/workload) and the server (src/serve):
 * something that runs a batch of a model and returns its outputs. KServe v2 / Open Inference
 * Protocol datatypes.
 */
export type TensorDatatype = 'FP32' | 'FP16' | 'FP64' | 'INT64' | 'INT32' | 'INT8' | 'UINT8' | 'BOOL' | 'BYTES';

export interface TensorSpec {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** -1 marks a dynamic dimension (the batch dimension is the first). */
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions?: readonly string[];
  /** 'onnx', 'sim', 'upstream' … */
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface Tensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly shape: readonly number[];
  /** Flat row-major data. FP16 travels as numbers (converted at the edge). */
  readonly data: ArrayLike<number> | ArrayLike<bigint> | readonly boolean[] | readonly string[];
}

export interface BatchResult {
  readonly outputs: readonly Tensor[];
  /** Time the backend spent executing the batch, ms. */
  readonly serviceMs: number;
  /** Energy the batch consumed when the backend can attribute it (the twin), joules. */
  readonly energyJ?: number;
}

/** Runs batches. Inputs are already batched along dimension 0. */
export interface InferenceBackend {
  readonly kind: string;
  models(): readonly ModelMetadata[];
  infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult>;
  close(): Promise<void>;
}

import type { DType } from './workload-profile.ts';

/**
 * The model a tuning run measured, complete enough to rebuild its workload profile: the model's
 * name (a zoo name or an .onnx path), the precision of its weights and, for a model with a sequence
 * input (the BERT encoders), the sequence length. Which inference runtime executed it is not part
 * of the spec: the project has one per workload kind, named by the run's device and workload.
 */
export interface ModelSpec {
  readonly name: string;
  /** For an .onnx file the file's own precision decides; this is the precision it was declared with. */
  readonly dtype: DType;
  /** Tokens per sample, for models with a sequence input only. */
  readonly seq?: number;
}

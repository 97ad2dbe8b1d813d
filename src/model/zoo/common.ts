/** What every zoo builder shares: options, the batch dimension and fp16 input/output casts. */
import type { DType } from '../../core/workload-profile.ts';
import { ElemType } from '../onnx/dtype.ts';
import type { StoredDim } from '../onnx/graph.ts';
import { type GraphBuilder, int } from './builder.ts';

export interface BuildOptions {
  readonly dtype?: DType;
  /** A fixed batch size; omitted: a symbolic batch dimension named "batch". */
  readonly batch?: number;
  /** Sequence length of the transformer models. */
  readonly seq?: number;
}

export const batchDim = (o: BuildOptions): StoredDim => o.batch ?? 'batch';

/** A float32 graph input, cast to the model's float type when that is fp16 (inputs stay fp32). */
export function floatInput(b: GraphBuilder, name: string, dims: readonly StoredDim[]): string {
  b.input(name, ElemType.FLOAT, dims);
  return b.floatType === ElemType.FLOAT ? name : b.node('Cast', [name], { to: int(b.floatType) }, `${name}.fp16`);
}

/** Marks `x` as a float32 graph output named `name` (cast back from fp16 when needed). */
export function floatOutput(b: GraphBuilder, x: string, name: string, dims: readonly StoredDim[]): void {
  const out = b.node(b.floatType === ElemType.FLOAT ? 'Identity' : 'Cast', [x], b.floatType === ElemType.FLOAT ? {} : { to: int(ElemType.FLOAT) }, name);
  b.output(out, ElemType.FLOAT, dims);
}

/**
 * Builds in-memory ONNX graphs for the zoo. Weights are shape-only (a fill recipe, no bytes), so a
 * graph of BERT-large costs a few hundred kilobytes until `models build` writes it; small constants
 * (shapes, axes, scalars) carry their bytes because shape inference reads them.
 */
import type { DType } from '../../core/workload-profile.ts';
import { ElemType } from '../onnx/dtype.ts';
import type { Attribute, GraphNode, OnnxModel, StoredDim, Tensor, TensorFill, ValueInfo } from '../onnx/graph.ts';
import { floatToHalf } from '../onnx/float16.ts';

export const OPSET = 17;
export const IR_VERSION = 8;

export const ints = (value: readonly number[]): Attribute => ({ type: 'INTS', value });
export const int = (value: number): Attribute => ({ type: 'INT', value });
export const float = (value: number): Attribute => ({ type: 'FLOAT', value });

export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly initializers: Tensor[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly used = new Map<string, number>();
  /** Element type of weights and activations (FLOAT or FLOAT16). */
  readonly floatType: number;

  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {
    this.floatType = dtype === 'fp16' ? ElemType.FLOAT16 : ElemType.FLOAT;
  }

  /** A unique value name starting with `base`. */
  fresh(base: string): string {
    const n = this.used.get(base) ?? 0;
    this.used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  input(name: string, elemType: number, dims: readonly StoredDim[]): string {
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  output(name: string, elemType: number, dims: readonly StoredDim[]): void {
    this.outputs.push({ name, elemType, dims });
  }

  /** A weight of the model's float type, filled at build time. */
  weight(name: string, dims: readonly number[], fill: TensorFill): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims, dataType: this.floatType, fill });
    return n;
  }

  /** An int64 constant with its bytes (shapes, axes, indices). */
  int64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const n = this.fresh(name);
    const data = new Uint8Array(values.length * 8);
    const dv = new DataView(data.buffer);
    values.forEach((v, i) => {
      dv.setBigInt64(i * 8, BigInt(v), true);
    });
    this.initializers.push({ name: n, dims, dataType: ElemType.INT64, data });
    return n;
  }

  /** A int64 tensor filled at build time (e.g. position ids 0…L-1). */
  int64Filled(name: string, dims: readonly number[], fill: TensorFill): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims, dataType: ElemType.INT64, fill });
    return n;
  }

  /** A scalar of the model's float type with its bytes. */
  scalar(name: string, value: number): string {
    const n = this.fresh(name);
    let data: Uint8Array;
    if (this.floatType === ElemType.FLOAT16) {
      data = new Uint8Array(2);
      new DataView(data.buffer).setUint16(0, floatToHalf(value), true);
    } else {
      data = new Uint8Array(4);
      new DataView(data.buffer).setFloat32(0, value, true);
    }
    this.initializers.push({ name: n, dims: [], dataType: this.floatType, data });
    return n;
  }

  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outName?: string): string {
    const out = this.fresh(outName ?? opType.toLowerCase());
    this.nodes.push({ name: `${opType}:${out}`, opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  }

  /** Conv with bias (batch norm folded in, as exported inference graphs have it). */
  conv(x: string, cin: number, cout: number, k: number, o: { stride?: number; groups?: number; name: string; pad?: number }): string {
    const groups = o.groups ?? 1;
    const fanIn = (cin / groups) * k * k;
    const w = this.weight(`${o.name}.weight`, [cout, cin / groups, k, k], { kind: 'random', std: Math.sqrt(2 / fanIn) });
    const b = this.weight(`${o.name}.bias`, [cout], { kind: 'random', std: 0.01 });
    const p = o.pad ?? Math.floor((k - 1) / 2);
    return this.node(
      'Conv',
      [x, w, b],
      { kernel_shape: ints([k, k]), strides: ints([o.stride ?? 1, o.stride ?? 1]), pads: ints([p, p, p, p]), group: int(groups) },
      o.name,
    );
  }

  /** y = x·W + b for x [..., cin] (MatMul + Add, the way transformer exports have it). */
  linear(x: string, cin: number, cout: number, name: string, std = 0.02): string {
    const w = this.weight(`${name}.weight`, [cin, cout], { kind: 'random', std });
    const b = this.weight(`${name}.bias`, [cout], { kind: 'constant', value: 0 });
    return this.node('Add', [this.node('MatMul', [x, w], {}, `${name}.matmul`), b], {}, name);
  }

  /** Gemm for the classifier head of the CNNs: [N, cin] → [N, cout]. */
  gemm(x: string, cin: number, cout: number, name: string): string {
    const w = this.weight(`${name}.weight`, [cout, cin], { kind: 'random', std: Math.sqrt(1 / cin) });
    const b = this.weight(`${name}.bias`, [cout], { kind: 'constant', value: 0 });
    return this.node('Gemm', [x, w, b], { transB: int(1) }, name);
  }

  build(): OnnxModel {
    return {
      irVersion: IR_VERSION,
      opsets: [{ domain: '', version: OPSET }],
      producerName: 'polythrottle',
      docString: '',
      graph: {
        name: this.name,
        nodes: [...this.nodes],
        initializers: [...this.initializers],
        inputs: [...this.inputs],
        outputs: [...this.outputs],
        valueInfo: [],
      },
    };
  }
}

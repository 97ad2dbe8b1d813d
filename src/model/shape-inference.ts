/**
 * Shape inference at a concrete batch size, with constant folding of the small integer tensors that
 * exported graphs compute shapes with (Shape → Gather → Concat → Reshape). The analyser runs it at
 * two batch sizes to recover the symbolic batch dimension (see analyze.ts).
 */
import { ElemType, product } from './onnx/dtype.ts';
import type { Attribute, GraphNode, OnnxModel, Tensor, ValueInfo } from './onnx/graph.ts';
import { defaultOpset } from './onnx/graph.ts';
import { MAX_FOLDED_ELEMENTS, tensorNumbers } from './onnx/tensor-values.ts';
import { isKnownDomain, resolveAlias } from './op-aliases.ts';

export interface ValueState {
  /** undefined when the shape is unknown. */
  readonly dims: readonly number[] | undefined;
  readonly elemType: number;
  /** The numbers of a small tensor whose contents are known before run time. */
  readonly value?: readonly number[] | undefined;
  /** Initializers and Constant outputs: read from weight memory, not produced per sample. */
  readonly weight: boolean;
}

export interface ShapeInference {
  readonly values: ReadonlyMap<string, ValueState>;
  /** Node name → why its output shapes could not be inferred (value_info used when it had them). */
  readonly failures: ReadonlyMap<string, string>;
}

type Out = { dims: number[]; elemType: number; value?: number[] | undefined };

class ShapeError extends Error {}
const fail = (msg: string): never => {
  throw new ShapeError(msg);
};

/** What a shape rule sees of one node. */
class NodeView {
  constructor(
    readonly node: GraphNode,
    readonly opset: number,
    private readonly states: (ValueState | undefined)[],
  ) {}
  get count(): number {
    return this.states.length;
  }
  has(i: number): boolean {
    return this.node.inputs[i] !== undefined && this.node.inputs[i] !== '';
  }
  state(i: number): ValueState {
    const s = this.states[i];
    if (!s) fail(`input ${i} ('${this.node.inputs[i] ?? ''}') is unknown`);
    return s as ValueState;
  }
  dims(i: number): number[] {
    const d = this.state(i).dims;
    if (!d) fail(`shape of input ${i} ('${this.node.inputs[i]}') is unknown`);
    return [...(d as number[])];
  }
  type(i: number): number {
    return this.state(i).elemType;
  }
  value(i: number): number[] | undefined {
    if (!this.has(i)) return undefined;
    const v = this.states[i]?.value;
    return v ? [...v] : undefined;
  }
  needValue(i: number, what: string): number[] {
    const v = this.value(i);
    if (!v) fail(`${what} (input ${i}) is computed at run time`);
    return v as number[];
  }
  attr(name: string): Attribute | undefined {
    return this.node.attributes[name];
  }
  int(name: string, def: number): number {
    const a = this.attr(name);
    return a?.type === 'INT' ? a.value : def;
  }
  ints(name: string): number[] | undefined {
    const a = this.attr(name);
    return a?.type === 'INTS' ? [...a.value] : undefined;
  }
  float(name: string, def: number): number {
    const a = this.attr(name);
    return a?.type === 'FLOAT' ? a.value : def;
  }
  string(name: string, def: string): string {
    const a = this.attr(name);
    return a?.type === 'STRING' ? a.value : def;
  }
  /** An axes list from an attribute (older opsets) or from input `i` (newer ones). */
  axes(i: number, attrName = 'axes'): number[] | undefined {
    return this.ints(attrName) ?? (this.has(i) ? this.needValue(i, 'axes') : undefined);
  }
}

const norm = (axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
};

export function broadcast(...shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) fail(`cannot broadcast [${shapes.map((x) => x.join(',')).join('] with [')}]`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Evaluate an elementwise function on small known tensors with broadcasting. */
function foldElementwise(v: NodeView, fn: (...xs: number[]) => number): number[] | undefined {
  const vals: number[][] = [];
  const shapes: number[][] = [];
  for (let i = 0; i < v.count; i++) {
    const x = v.value(i);
    const s = v.state(i).dims;
    if (!x || !s) return undefined;
    vals.push(x);
    shapes.push([...s]);
  }
  const out = broadcast(...shapes);
  const n = product(out);
  if (n > MAX_FOLDED_ELEMENTS) return undefined;
  const res: number[] = new Array(n);
  const idx = new Array<number>(out.length).fill(0);
  for (let k = 0; k < n; k++) {
    const args = vals.map((x, j) => {
      const s = shapes[j] as number[];
      let off = 0;
      for (let a = 0; a < s.length; a++) {
        const d = s[a] as number;
        const oi = idx[out.length - s.length + a] as number;
        off = off * d + (d === 1 ? 0 : oi);
      }
      return x[off] as number;
    });
    res[k] = fn(...args);
    for (let a = out.length - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (out[a] as number)) break;
      idx[a] = 0;
    }
  }
  return res;
}

const same = (v: NodeView): Out[] => [{ dims: v.dims(0), elemType: v.type(0), value: v.value(0) }];

/** Output spatial size of a sliding window (Conv, pooling). */
function windowed(v: NodeView, inDims: number[], kernel: number[]): number[] {
  const k = kernel.length;
  const strides = v.ints('strides') ?? new Array(k).fill(1);
  const dil = v.ints('dilations') ?? new Array(k).fill(1);
  const pads = v.ints('pads') ?? new Array(2 * k).fill(0);
  const autoPad = v.string('auto_pad', 'NOTSET');
  const ceil = v.int('ceil_mode', 0) === 1;
  return inDims.map((x, i) => {
    const s = strides[i] ?? 1;
    const eff = ((kernel[i] as number) - 1) * (dil[i] ?? 1) + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(x / s);
    if (autoPad === 'VALID') return Math.floor((x - eff) / s) + 1;
    const span = x + (pads[i] ?? 0) + (pads[i + k] ?? 0) - eff;
    const o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (o < 1) fail(`window ${kernel.join('×')} does not fit input ${inDims.join('×')}`);
    return o;
  });
}

function reduceShape(dims: number[], axes: number[] | undefined, keep: boolean, noopEmpty: boolean): number[] {
  if (!axes || axes.length === 0) {
    if (noopEmpty) return dims;
    return keep ? dims.map(() => 1) : [];
  }
  const set = new Set(axes.map((a) => norm(a, dims.length)));
  const out: number[] = [];
  dims.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

const clampIndex = (x: number, d: number, step: number): number => {
  let i = x < 0 ? x + d : x;
  if (step > 0) i = Math.min(Math.max(i, 0), d);
  else i = Math.min(Math.max(i, -1), d - 1);
  return i;
};

function sliceCounts(dims: number[], starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined) {
  const out = [...dims];
  const ranges: { axis: number; start: number; step: number; count: number }[] = [];
  starts.forEach((s0, j) => {
    const axis = norm(axes?.[j] ?? j, dims.length);
    const d = dims[axis] as number;
    const step = steps?.[j] ?? 1;
    if (step === 0) fail('slice step 0');
    const s = clampIndex(s0, d, step);
    const e = clampIndex(ends[j] as number, d, step);
    const count = Math.max(0, Math.ceil((e - s) / step));
    out[axis] = count;
    ranges.push({ axis, start: s, step, count });
  });
  return { out, ranges };
}

const ELEMENTWISE_UNARY = [
  'Relu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Sqrt',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'Reciprocal',
  'LeakyRelu',
  'Elu',
  'Selu',
  'Celu',
  'Softplus',
  'Softsign',
  'Mish',
  'ThresholdedRelu',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Identity',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'InstanceNormalization',
  'LRN',
  'CumSum',
  'Trilu',
  'IsNaN',
  'IsInf',
  'Shrink',
  'QuickGelu',
  'FastGelu',
  'BiasGelu',
  'MeanVarianceNormalization',
];

const BINARY: Record<string, (...x: number[]) => number> = {
  Add: (a, b) => (a as number) + (b as number),
  Sub: (a, b) => (a as number) - (b as number),
  Mul: (a, b) => (a as number) * (b as number),
  Div: (a, b) => (a as number) / (b as number),
  Pow: (a, b) => (a as number) ** (b as number),
  Max: (...x) => Math.max(...x),
  Min: (...x) => Math.min(...x),
  Sum: (...x) => x.reduce((s, y) => s + y, 0),
  Mean: (...x) => x.reduce((s, y) => s + y, 0) / x.length,
  Mod: (a, b) => (a as number) % (b as number),
  PRelu: (a, b) => ((a as number) < 0 ? (a as number) * (b as number) : (a as number)),
  BitShift: (a) => a as number,
};
const COMPARE: Record<string, (...x: number[]) => number> = {
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number((a as number) < (b as number)),
  LessOrEqual: (a, b) => Number((a as number) <= (b as number)),
  Greater: (a, b) => Number((a as number) > (b as number)),
  GreaterOrEqual: (a, b) => Number((a as number) >= (b as number)),
  And: (a, b) => Number(Boolean(a) && Boolean(b)),
  Or: (a, b) => Number(Boolean(a) || Boolean(b)),
  Xor: (a, b) => Number(Boolean(a) !== Boolean(b)),
};

type Rule = (v: NodeView) => Out[];

function tensorOut(t: Tensor): Out {
  return { dims: [...t.dims], elemType: t.dataType, value: tensorNumbers(t) };
}

const RULES: Record<string, Rule> = {
  Conv: (v) => {
    const x = v.dims(0);
    const w = v.dims(1);
    const kernel = v.ints('kernel_shape') ?? w.slice(2);
    return [{ dims: [x[0] as number, w[0] as number, ...windowed(v, x.slice(2), kernel)], elemType: v.type(0) }];
  },
  ConvTranspose: (v) => {
    const x = v.dims(0);
    const w = v.dims(1);
    const k = w.length - 2;
    const kernel = v.ints('kernel_shape') ?? w.slice(2);
    const cout = (w[1] as number) * v.int('group', 1);
    const explicit = v.ints('output_shape');
    if (explicit) return [{ dims: [x[0] as number, cout, ...explicit.slice(-k)], elemType: v.type(0) }];
    const strides = v.ints('strides') ?? new Array(k).fill(1);
    const dil = v.ints('dilations') ?? new Array(k).fill(1);
    const pads = v.ints('pads') ?? new Array(2 * k).fill(0);
    const outPad = v.ints('output_padding') ?? new Array(k).fill(0);
    const autoPad = v.string('auto_pad', 'NOTSET');
    const sp = x.slice(2).map((d, i) => {
      const s = strides[i] ?? 1;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * s;
      const padTotal = autoPad === 'VALID' ? 0 : (pads[i] ?? 0) + (pads[i + k] ?? 0);
      return s * (d - 1) + (outPad[i] ?? 0) + ((kernel[i] as number) - 1) * (dil[i] ?? 1) + 1 - padTotal;
    });
    return [{ dims: [x[0] as number, cout, ...sp], elemType: v.type(0) }];
  },
  MaxPool: (v) => {
    const x = v.dims(0);
    const kernel = v.ints('kernel_shape') ?? fail('MaxPool without kernel_shape');
    const dims = [x[0] as number, x[1] as number, ...windowed(v, x.slice(2), kernel as number[])];
    return [
      { dims, elemType: v.type(0) },
      { dims, elemType: ElemType.INT64 },
    ];
  },
  AveragePool: (v) => {
    const x = v.dims(0);
    const kernel = v.ints('kernel_shape') ?? fail('AveragePool without kernel_shape');
    return [{ dims: [x[0] as number, x[1] as number, ...windowed(v, x.slice(2), kernel as number[])], elemType: v.type(0) }];
  },
  GlobalAveragePool: (v) => {
    const x = v.dims(0);
    return [{ dims: [x[0] as number, x[1] as number, ...x.slice(2).map(() => 1)], elemType: v.type(0) }];
  },
  Gemm: (v) => {
    const a = v.dims(0);
    const b = v.dims(1);
    const m = v.int('transA', 0) ? a[1] : a[0];
    const n = v.int('transB', 0) ? b[0] : b[1];
    return [{ dims: [m as number, n as number], elemType: v.type(0) }];
  },
  MatMul: (v) => {
    let a = v.dims(0);
    let b = v.dims(1);
    const aVec = a.length === 1;
    const bVec = b.length === 1;
    if (aVec) a = [1, a[0] as number];
    if (bVec) b = [b[0] as number, 1];
    if (a[a.length - 1] !== b[b.length - 2]) fail(`MatMul inner dimensions differ: [${a}] × [${b}]`);
    const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
    const out = [...batch];
    if (!aVec) out.push(a[a.length - 2] as number);
    if (!bVec) out.push(b[b.length - 1] as number);
    return [{ dims: out, elemType: v.type(0) }];
  },
  BatchNormalization: (v) => [{ dims: v.dims(0), elemType: v.type(0) }],
  LayerNormalization: (v) => {
    const x = v.dims(0);
    const axis = norm(v.int('axis', -1), x.length);
    const stat = x.map((d, i) => (i < axis ? d : 1));
    return [
      { dims: x, elemType: v.type(0) },
      { dims: stat, elemType: ElemType.FLOAT },
      { dims: stat, elemType: ElemType.FLOAT },
    ];
  },
  Clip: (v) => [{ dims: v.dims(0), elemType: v.type(0) }],
  Dropout: (v) => [
    { dims: v.dims(0), elemType: v.type(0), value: v.value(0) },
    { dims: v.dims(0), elemType: ElemType.BOOL },
  ],
  Cast: (v) => [{ dims: v.dims(0), elemType: v.int('to', v.type(0)), value: v.value(0) }],
  Not: (v) => [{ dims: v.dims(0), elemType: ElemType.BOOL, value: v.value(0)?.map((x) => Number(!x)) }],
  Where: (v) => [
    { dims: broadcast(v.dims(0), v.dims(1), v.dims(2)), elemType: v.type(1), value: foldElementwise(v, (c, a, b) => (c ? (a as number) : (b as number))) },
  ],
  Reshape: (v) => {
    const x = v.dims(0);
    const target = v.ints('shape') ?? v.needValue(1, 'the target shape');
    const allowZero = v.int('allowzero', 0) === 1;
    const out = target.map((d, i) => (d === 0 && !allowZero ? (x[i] ?? fail('reshape copies a missing dimension')) : d));
    const known = product(out.filter((d) => d !== -1));
    const total = product(x);
    const inferred = out.indexOf(-1);
    if (inferred >= 0) {
      if (known === 0 || total % known !== 0) fail(`cannot reshape [${x}] to [${target}]`);
      out[inferred] = total / known;
    } else if (known !== total) fail(`cannot reshape [${x}] (${total} elements) to [${out}]`);
    return [{ dims: out as number[], elemType: v.type(0), value: v.value(0) }];
  },
  Flatten: (v) => {
    const x = v.dims(0);
    const axis = v.int('axis', 1);
    const a = axis < 0 ? axis + x.length : axis;
    return [{ dims: [product(x.slice(0, a)), product(x.slice(a))], elemType: v.type(0), value: v.value(0) }];
  },
  Transpose: (v) => {
    const x = v.dims(0);
    const perm = v.ints('perm') ?? x.map((_, i) => x.length - 1 - i);
    return [{ dims: perm.map((p) => x[p] as number), elemType: v.type(0) }];
  },
  Squeeze: (v) => {
    const x = v.dims(0);
    const axes = v.axes(1);
    const drop = new Set(axes ? axes.map((a) => norm(a, x.length)) : x.flatMap((d, i) => (d === 1 ? [i] : [])));
    return [{ dims: x.filter((_, i) => !drop.has(i)), elemType: v.type(0), value: v.value(0) }];
  },
  Unsqueeze: (v) => {
    const x = v.dims(0);
    const axes = v.axes(1) ?? fail('Unsqueeze without axes');
    const rank = x.length + (axes as number[]).length;
    const set = new Set((axes as number[]).map((a) => norm(a, rank)));
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : (x[j++] as number));
    return [{ dims: out, elemType: v.type(0), value: v.value(0) }];
  },
  Concat: (v) => {
    const shapes = Array.from({ length: v.count }, (_, i) => v.dims(i)).filter((s) => s.length > 0 || v.count === 1);
    const first = shapes[0] ?? fail('Concat without inputs');
    const axis = norm(v.int('axis', 0), (first as number[]).length);
    const out = [...(first as number[])];
    out[axis] = shapes.reduce((s, d) => s + (d[axis] as number), 0);
    const vals = Array.from({ length: v.count }, (_, i) => v.value(i));
    const value = axis === 0 && vals.every((x) => x) ? vals.flatMap((x) => x as number[]) : undefined;
    return [{ dims: out, elemType: v.type(0), value }];
  },
  Split: (v) => {
    const x = v.dims(0);
    const axis = norm(v.int('axis', 0), x.length);
    const n = v.node.outputs.length;
    let parts = v.ints('split') ?? (v.has(1) ? v.needValue(1, 'split sizes') : undefined);
    if (!parts) {
      const d = x[axis] as number;
      const each = Math.ceil(d / n);
      parts = Array.from({ length: n }, (_, i) => Math.min(each, d - each * i));
    }
    return parts.map((p) => {
      const dims = [...x];
      dims[axis] = p;
      return { dims, elemType: v.type(0) };
    });
  },
  Slice: (v) => {
    const x = v.dims(0);
    const old = v.opset < 10;
    const starts = old ? (v.ints('starts') ?? fail('Slice without starts')) : v.needValue(1, 'slice starts');
    const ends = old ? (v.ints('ends') ?? fail('Slice without ends')) : v.needValue(2, 'slice ends');
    const axes = old ? v.ints('axes') : v.value(3);
    const steps = old ? undefined : v.value(4);
    const { out, ranges } = sliceCounts(x, starts as number[], ends as number[], axes, steps);
    const src = v.value(0);
    let value: number[] | undefined;
    const r = ranges[0];
    if (src && x.length === 1 && r) value = Array.from({ length: r.count }, (_, i) => src[r.start + i * r.step] as number);
    return [{ dims: out, elemType: v.type(0), value }];
  },
  Gather: (v) => {
    const data = v.dims(0);
    const idx = v.dims(1);
    const axis = norm(v.int('axis', 0), data.length);
    const out = [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
    const src = v.value(0);
    const ix = v.value(1);
    const d = data[axis] as number;
    const value = src && ix && data.length === 1 ? ix.map((i) => src[i < 0 ? i + d : i] as number) : undefined;
    return [{ dims: out, elemType: v.type(0), value }];
  },
  GatherElements: (v) => [{ dims: v.dims(1), elemType: v.type(0) }],
  Pad: (v) => {
    const x = v.dims(0);
    const pads = v.ints('pads') ?? v.needValue(1, 'pads');
    const axes = v.has(3) ? v.needValue(3, 'axes').map((a) => norm(a, x.length)) : x.map((_, i) => i);
    const k = axes.length;
    const out = [...x];
    axes.forEach((a, j) => {
      out[a] = (out[a] as number) + (pads[j] as number) + (pads[j + k] as number);
    });
    return [{ dims: out, elemType: v.type(0) }];
  },
  Resize: (v) => {
    const x = v.dims(0);
    const sizes = v.opset >= 11 ? v.value(3) : undefined;
    const scales = v.opset >= 11 ? v.value(2) : v.value(1);
    if (sizes?.length) return [{ dims: sizes, elemType: v.type(0) }];
    if (scales?.length) return [{ dims: x.map((d, i) => Math.floor(d * (scales[i] as number))), elemType: v.type(0) }];
    return fail('Resize needs constant scales or sizes');
  },
  Upsample: (v) => {
    const x = v.dims(0);
    const scales = v.ints('scales') ?? v.needValue(1, 'scales');
    return [{ dims: x.map((d, i) => Math.floor(d * (scales[i] as number))), elemType: v.type(0) }];
  },
  Shape: (v) => {
    const x = v.dims(0);
    const r = x.length;
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
    const vals = x.slice(clamp(v.int('start', 0)), clamp(v.int('end', r)));
    return [{ dims: [vals.length], elemType: ElemType.INT64, value: vals }];
  },
  Size: (v) => [{ dims: [], elemType: ElemType.INT64, value: [product(v.dims(0))] }],
  Constant: (v) => {
    const a = v.attr('value');
    if (a?.type === 'TENSOR') return [tensorOut(a.value)];
    const f = v.attr('value_float');
    if (f?.type === 'FLOAT') return [{ dims: [], elemType: ElemType.FLOAT, value: [f.value] }];
    const fs = v.attr('value_floats');
    if (fs?.type === 'FLOATS') return [{ dims: [fs.value.length], elemType: ElemType.FLOAT, value: [...fs.value] }];
    const i = v.attr('value_int');
    if (i?.type === 'INT') return [{ dims: [], elemType: ElemType.INT64, value: [i.value] }];
    const is = v.attr('value_ints');
    if (is?.type === 'INTS') return [{ dims: [is.value.length], elemType: ElemType.INT64, value: [...is.value] }];
    return fail('Constant with an unsupported value kind');
  },
  ConstantOfShape: (v) => {
    const dims = v.needValue(0, 'the shape');
    const a = v.attr('value');
    const t = a?.type === 'TENSOR' ? a.value : undefined;
    const fillValue = t ? (tensorNumbers(t)?.[0] ?? 0) : 0;
    const n = product(dims);
    return [{ dims, elemType: t?.dataType ?? ElemType.FLOAT, value: n <= MAX_FOLDED_ELEMENTS ? new Array(n).fill(fillValue) : undefined }];
  },
  Expand: (v) => {
    const dims = broadcast(v.dims(0), v.needValue(1, 'the shape'));
    const src = v.value(0);
    const value = src && src.length === 1 && product(dims) <= MAX_FOLDED_ELEMENTS ? new Array(product(dims)).fill(src[0]) : undefined;
    return [{ dims, elemType: v.type(0), value }];
  },
  Tile: (v) => {
    const reps = v.needValue(1, 'repeats');
    return [{ dims: v.dims(0).map((d, i) => d * (reps[i] as number)), elemType: v.type(0) }];
  },
  Range: (v) => {
    const [start, limit, delta] = [v.needValue(0, 'start')[0], v.needValue(1, 'limit')[0], v.needValue(2, 'delta')[0]] as number[];
    const n = Math.max(Math.ceil(((limit as number) - (start as number)) / (delta as number)), 0);
    const value = n <= MAX_FOLDED_ELEMENTS ? Array.from({ length: n }, (_, i) => (start as number) + i * (delta as number)) : undefined;
    return [{ dims: [n], elemType: v.type(0), value }];
  },
  ArgMax: (v) => [{ dims: reduceShape(v.dims(0), [v.int('axis', 0)], v.int('keepdims', 1) === 1, false), elemType: ElemType.INT64 }],
  TopK: (v) => {
    const x = v.dims(0);
    const axis = norm(v.int('axis', -1), x.length);
    const k = v.ints('k')?.[0] ?? v.needValue(1, 'K')[0];
    const dims = [...x];
    dims[axis] = k as number;
    return [
      { dims, elemType: v.type(0) },
      { dims, elemType: ElemType.INT64 },
    ];
  },
  DepthToSpace: (v) => {
    const [n, c, h, w] = v.dims(0) as [number, number, number, number];
    const b = v.int('blocksize', 1);
    return [{ dims: [n, c / (b * b), h * b, w * b], elemType: v.type(0) }];
  },
  SpaceToDepth: (v) => {
    const [n, c, h, w] = v.dims(0) as [number, number, number, number];
    const b = v.int('blocksize', 1);
    return [{ dims: [n, c * b * b, h / b, w / b], elemType: v.type(0) }];
  },
  GroupNormalization: (v) => [{ dims: v.dims(0), elemType: v.type(0) }],
  QuantizeLinear: (v) => [{ dims: v.dims(0), elemType: v.has(2) ? v.type(2) : v.int('output_dtype', 0) || ElemType.UINT8 }],
  DequantizeLinear: (v) => [{ dims: v.dims(0), elemType: v.type(1) }],
  DynamicQuantizeLinear: (v) => [
    { dims: v.dims(0), elemType: ElemType.UINT8 },
    { dims: [], elemType: ElemType.FLOAT },
    { dims: [], elemType: ElemType.UINT8 },
  ],
};
RULES.GlobalMaxPool = RULES.GlobalAveragePool as Rule;
RULES.LpPool = RULES.AveragePool as Rule;
RULES.ArgMin = RULES.ArgMax as Rule;
RULES.SkipLayerNormalization = RULES.LayerNormalization as Rule;
for (const op of ELEMENTWISE_UNARY) RULES[op] ??= same;
for (const [op, fn] of Object.entries(BINARY)) {
  RULES[op] = (v) => {
    const shapes = Array.from({ length: v.count }, (_, i) => v.dims(i));
    return [{ dims: broadcast(...shapes), elemType: v.type(0), value: foldElementwise(v, fn) }];
  };
}
for (const [op, fn] of Object.entries(COMPARE)) {
  RULES[op] = (v) => [{ dims: broadcast(v.dims(0), v.dims(1)), elemType: ElemType.BOOL, value: foldElementwise(v, fn) }];
}
for (const op of [
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
]) {
  RULES[op] = (v) => {
    const axesFromInput = v.opset >= 18 || (op === 'ReduceSum' && v.opset >= 13);
    const axes = axesFromInput ? (v.has(1) ? v.needValue(1, 'axes') : undefined) : v.ints('axes');
    const dims = reduceShape(v.dims(0), axes, v.int('keepdims', 1) === 1, v.int('noop_with_empty_axes', 0) === 1);
    return [{ dims, elemType: v.type(0) }];
  };
}

/**
 * Infer every value's shape, given the concrete dims of the graph inputs. A node whose rule fails
 * (or that has none) takes the producer's value_info shapes when `resolveStored` can resolve them.
 */
export function inferShapes(
  model: OnnxModel,
  inputDims: ReadonlyMap<string, readonly number[]>,
  resolveStored: (v: ValueInfo) => number[] | undefined,
): ShapeInference {
  const g = model.graph;
  const opset = defaultOpset(model);
  const values = new Map<string, ValueState>();
  const failures = new Map<string, string>();
  for (const t of g.initializers) values.set(t.name, { dims: t.dims, elemType: t.dataType, value: tensorNumbers(t), weight: true });
  for (const i of g.inputs) {
    if (values.has(i.name)) continue; // an input with an initializer default
    values.set(i.name, { dims: inputDims.get(i.name), elemType: i.elemType, weight: false });
  }
  const stored = new Map<string, ValueInfo>();
  for (const v of [...g.valueInfo, ...g.outputs]) stored.set(v.name, v);

  for (const node of g.nodes) {
    const resolved = resolveAlias(
      node,
      node.inputs.map((n) => (n === '' ? undefined : values.get(n))),
    );
    const rule = isKnownDomain(node.domain) ? RULES[resolved.node.opType] : undefined;
    let outs: Out[] | undefined;
    if (rule) {
      try {
        outs = rule(new NodeView(resolved.node, opset, resolved.values));
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        failures.set(node.name, e.message);
      }
    } else {
      failures.set(node.name, `no shape rule for ${node.domain ? `${node.domain}.` : ''}${node.opType}`);
    }
    const isConstant = node.opType === 'Constant';
    node.outputs.forEach((name, k) => {
      if (name === '') return;
      const o = outs?.[k];
      if (o) {
        values.set(name, { dims: o.dims, elemType: o.elemType, value: o.value, weight: isConstant });
        return;
      }
      const s = stored.get(name);
      values.set(name, { dims: s ? resolveStored(s) : undefined, elemType: s?.elemType ?? 0, weight: false });
    });
  }
  return { values, failures };
}

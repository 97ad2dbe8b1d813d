/**
 * The ONNX analyser: per node, op type, output shape (with the symbolic batch N), MACs, FLOPs,
 * weight bytes, activation bytes read and written, and arithmetic intensity at a batch size; model
 * totals; unmodelled ops; and the device-independent WorkloadProfile.
 *
 * The batch dimension is made symbolic by inferring shapes at batch 1 and batch 2: a dimension that
 * doubles is k·N, one that stays is a constant. Per-sample costs are the difference between the two
 * passes (exact for graphs whose cost is affine in the batch), weights are read once per batch.
 */
import { badInput } from '../core/errors.ts';
import type { DType, OpCost, WorkloadProfile } from '../core/workload-profile.ts';
import { ElemType, elemSize, elemTypeName, isFloatType, product } from './onnx/dtype.ts';
import type { OnnxModel, StoredDim, ValueInfo } from './onnx/graph.ts';
import { defaultOpset } from './onnx/graph.ts';
import { type NodeCost, costNode } from './op-costs.ts';
import { preprocessCyclesPerSample } from './preprocess.ts';
import { type ShapeInference, inferShapes } from './shape-inference.ts';

export interface AnalyzeOptions {
  /** Batch size the per-node numbers are given at (default 1). */
  readonly batch?: number;
  /** Model name for the profile (default: the graph name). */
  readonly name?: string;
  /** Values of symbolic input dimensions other than the batch, e.g. { sequence: 128 }. */
  readonly dims?: Readonly<Record<string, number>>;
}

export interface NodeAnalysis extends NodeCost {
  readonly name: string;
  readonly opType: string;
  /** Shape of the first output, with N for the batch ("N×1000"), or "?" when unknown. */
  readonly outputShape: string;
  /** FLOPs per byte moved (weights + activations) at the analysed batch. */
  readonly arithmeticIntensity: number;
}

export interface TensorSummary {
  readonly name: string;
  readonly shape: string;
  readonly elemType: string;
}

export interface AnalysisTotals {
  readonly macs: number;
  readonly flops: number;
  readonly weightBytes: number;
  readonly activationBytesRead: number;
  readonly activationBytesWritten: number;
  readonly bytes: number;
  readonly arithmeticIntensity: number;
}

export interface UnmodelledOp {
  readonly opType: string;
  readonly count: number;
  readonly reason: string;
  readonly nodes: readonly string[];
}

export interface ModelAnalysis {
  readonly model: string;
  readonly batch: number;
  /** False when every input has a fixed leading dimension: the graph runs at one batch only. */
  readonly symbolicBatch: boolean;
  /** True when a fixed-batch model was analysed with its leading input dimension set to `batch`. */
  readonly batchOverridden: boolean;
  readonly irVersion: number;
  readonly opset: number;
  readonly producer: string;
  readonly dtype: DType;
  readonly inputs: readonly TensorSummary[];
  readonly outputs: readonly TensorSummary[];
  readonly params: number;
  /** Bytes of all weights (initializers and Constant tensors). */
  readonly parameterBytes: number;
  readonly nodeCount: number;
  readonly nodes: readonly NodeAnalysis[];
  readonly totals: AnalysisTotals;
  readonly unmodelled: readonly UnmodelledOp[];
  /** Nodes whose output shapes could not be inferred, with the reason. */
  readonly shapeFailures: readonly { readonly node: string; readonly reason: string }[];
  readonly notes: readonly string[];
  readonly profile: WorkloadProfile;
}

interface Pass {
  readonly batch: number;
  readonly inference: ShapeInference;
  readonly costs: readonly NodeCost[];
  readonly inputDims: ReadonlyMap<string, readonly number[]>;
}

const isBatchDim = (d: StoredDim, i: number): boolean => i === 0 && (d === null || typeof d === 'string');

function graphInputs(m: OnnxModel): ValueInfo[] {
  const inits = new Set(m.graph.initializers.map((t) => t.name));
  return m.graph.inputs.filter((i) => !inits.has(i.name));
}

function resolveInputDims(m: OnnxModel, batch: number, opts: AnalyzeOptions, overrideLeading: boolean): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const batchNames = new Set<string>();
  for (const i of graphInputs(m)) {
    const d0 = i.dims?.[0];
    if (typeof d0 === 'string') batchNames.add(d0);
  }
  for (const i of graphInputs(m)) {
    if (!i.dims) throw badInput(`input '${i.name}' has no shape in the model; cannot analyse it`);
    out.set(
      i.name,
      i.dims.map((d, k) => {
        if (typeof d === 'number') return overrideLeading && k === 0 ? batch : d;
        if (isBatchDim(d, k) || (typeof d === 'string' && batchNames.has(d))) return batch;
        const given = typeof d === 'string' ? opts.dims?.[d] : undefined;
        if (given !== undefined) return given;
        throw badInput(
          `input '${i.name}' has a symbolic dimension ${typeof d === 'string' ? `'${d}'` : `#${k}`} that is not the batch`,
          typeof d === 'string' ? `give its value, e.g. --dim ${d}=128` : 'give the model a fixed shape for that dimension',
        );
      }),
    );
  }
  return out;
}

function runPass(m: OnnxModel, batch: number, opts: AnalyzeOptions, batchNames: ReadonlySet<string>, overrideLeading = false): Pass {
  const inputDims = resolveInputDims(m, batch, opts, overrideLeading);
  const resolveStored = (v: ValueInfo): number[] | undefined => {
    if (!v.dims) return undefined;
    const out: number[] = [];
    for (const d of v.dims) {
      if (typeof d === 'number') out.push(d);
      else if (typeof d === 'string' && batchNames.has(d)) out.push(batch);
      else if (typeof d === 'string' && opts.dims?.[d] !== undefined) out.push(opts.dims[d] as number);
      else return undefined;
    }
    return out;
  };
  const inference = inferShapes(m, inputDims, resolveStored);
  const costs = m.graph.nodes.map((n) =>
    costNode(
      n,
      n.inputs.map((x) => (x === '' ? undefined : inference.values.get(x))),
      n.outputs.map((x) => (x === '' ? undefined : inference.values.get(x))),
    ),
  );
  return { batch, inference, costs, inputDims };
}

/** "N×3×224×224" from the dims at batch 1 and batch 2. */
function symbolicShape(d1: readonly number[] | undefined, d2: readonly number[] | undefined): string {
  if (!d1) return '?';
  if (!d2 || d2.length !== d1.length) return d1.join('×') || 'scalar';
  const parts = d1.map((a, i) => {
    const b = d2[i] as number;
    if (a === b) return String(a);
    if (b === 2 * a) return a === 1 ? 'N' : `${a}N`;
    return '?';
  });
  return parts.join('×') || 'scalar';
}

const intensity = (flops: number, bytes: number): number => (bytes > 0 ? flops / bytes : 0);

function sumCosts(costs: readonly NodeCost[]): AnalysisTotals {
  let macs = 0;
  let flops = 0;
  let weightBytes = 0;
  let read = 0;
  let written = 0;
  for (const c of costs) {
    macs += c.macs;
    flops += c.flops;
    weightBytes += c.weightBytes;
    read += c.activationBytesRead;
    written += c.activationBytesWritten;
  }
  const bytes = weightBytes + read + written;
  return { macs, flops, weightBytes, activationBytesRead: read, activationBytesWritten: written, bytes, arithmeticIntensity: intensity(flops, bytes) };
}

function countParams(m: OnnxModel): { params: number; bytes: number; fp16Bytes: number; fp32Bytes: number } {
  let params = 0;
  let bytes = 0;
  let fp16Bytes = 0;
  let fp32Bytes = 0;
  const add = (dims: readonly number[], t: number) => {
    const n = product(dims);
    bytes += n * elemSize(t);
    if (!isFloatType(t)) return;
    params += n;
    if (t === ElemType.FLOAT16 || t === ElemType.BFLOAT16) fp16Bytes += n * elemSize(t);
    else fp32Bytes += n * elemSize(t);
  };
  for (const t of m.graph.initializers) add(t.dims, t.dataType);
  for (const n of m.graph.nodes) {
    const v = n.attributes.value;
    if (n.opType === 'Constant' && v?.type === 'TENSOR') add(v.value.dims, v.value.dataType);
  }
  return { params, bytes, fp16Bytes, fp32Bytes };
}

/** Analyse a parsed model (from a file or from the zoo builder). */
export function analyzeModel(model: OnnxModel, opts: AnalyzeOptions = {}): ModelAnalysis {
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw badInput(`batch must be a positive integer, got ${batch}`);
  const name = opts.name ?? (model.graph.name || 'model');
  const inputs = graphInputs(model);
  if (inputs.length === 0) throw badInput(`${name}: the graph has no inputs`);
  const batchNames = new Set<string>();
  let symbolicBatch = false;
  for (const i of inputs) {
    const d0 = i.dims?.[0];
    if (i.dims && i.dims.length > 0 && isBatchDim(d0 ?? null, 0)) symbolicBatch = true;
    if (typeof d0 === 'string') batchNames.add(d0);
  }
  const notes: string[] = [];
  const p1 = runPass(model, 1, opts, batchNames);
  let p2 = symbolicBatch ? runPass(model, 2, opts, batchNames) : undefined;
  if (p2 && p2.inference.failures.size > p1.inference.failures.size) {
    // A graph that hard-codes batch 1 somewhere (a Reshape to [1, -1]) only works at batch 1.
    notes.push('the graph only runs at batch 1 (a node fixes the batch); per-sample costs are those at batch 1');
    symbolicBatch = false;
    p2 = undefined;
  }
  let at: Pass = p1;
  const fixedBatch = symbolicBatch ? 1 : Math.max(1, (p1.inputDims.get(inputs[0]?.name ?? '') ?? [1])[0] ?? 1);
  // Passes the symbolic shapes are read from.
  let shape1: Pass = p1;
  let shape2: Pass | undefined = p2;
  let batchOverridden = false;
  if (!symbolicBatch) {
    if (opts.batch !== undefined && opts.batch !== fixedBatch) {
      // Try the graph with its leading input dimension set to the batch asked for: most fixed-batch
      // exports compute the same per sample (unless a node hard-codes the batch).
      const o1 = runPass(model, 1, opts, batchNames, true);
      const o2 = runPass(model, 2, opts, batchNames, true);
      if (o1.inference.failures.size <= p1.inference.failures.size && o2.inference.failures.size <= o1.inference.failures.size) {
        at = batch === 1 ? o1 : batch === 2 ? o2 : runPass(model, batch, opts, batchNames, true);
        shape1 = o1;
        shape2 = o2;
        batchOverridden = true;
        notes.push(
          `the model fixes its batch at ${fixedBatch}; analysed with its leading input dimension set to ${batch} (the file itself runs at batch ${fixedBatch} only)`,
        );
      } else notes.push(`the model has a fixed batch of ${fixedBatch} that a node depends on; --batch ${opts.batch} is ignored`);
    }
  } else if (batch === 2 && p2) at = p2;
  else if (batch !== 1) at = runPass(model, batch, opts, batchNames);

  const shapeOf = (outName: string | undefined): string => {
    if (!outName) return '?';
    const d1 = shape1.inference.values.get(outName)?.dims;
    return shape2 ? symbolicShape(d1, shape2.inference.values.get(outName)?.dims) : symbolicShape(d1, d1);
  };
  const nodes: NodeAnalysis[] = model.graph.nodes.map((n, i) => {
    const c = at.costs[i] as NodeCost;
    return {
      name: n.name,
      opType: n.opType,
      ...c,
      outputShape: shapeOf(n.outputs[0]),
      arithmeticIntensity: intensity(c.flops, c.weightBytes + c.activationBytesRead + c.activationBytesWritten),
    };
  });

  const unmodelledMap = new Map<string, { count: number; reason: string; nodes: string[] }>();
  for (const n of nodes) {
    if (n.modelled) continue;
    const key = n.opType;
    const e = unmodelledMap.get(key) ?? { count: 0, reason: n.reason ?? 'no cost model', nodes: [] };
    e.count++;
    e.nodes.push(n.name);
    unmodelledMap.set(key, e);
  }
  const unmodelled = [...unmodelledMap.entries()].map(([opType, e]) => ({ opType, ...e })).sort((a, b) => b.count - a.count);
  const shapeFailures = [...at.inference.failures.entries()].map(([node, reason]) => ({ node, reason }));
  const counts = countParams(model);
  const dtype: DType = counts.fp16Bytes > counts.fp32Bytes ? 'fp16' : 'fp32';

  const summary = (v: ValueInfo): TensorSummary => ({ name: v.name, shape: shapeOf(v.name), elemType: elemTypeName(v.elemType) });
  const profile = buildProfile(model, name, dtype, counts.params, p1, p2, fixedBatch);
  return {
    model: name,
    batch: symbolicBatch || batchOverridden ? at.batch : fixedBatch,
    symbolicBatch,
    batchOverridden,
    irVersion: model.irVersion,
    opset: defaultOpset(model),
    producer: model.producerName,
    dtype,
    inputs: inputs.map(summary),
    outputs: model.graph.outputs.map(summary),
    params: counts.params,
    parameterBytes: counts.bytes,
    nodeCount: nodes.length,
    nodes,
    totals: sumCosts(at.costs),
    unmodelled,
    shapeFailures,
    notes,
    profile,
  };
}

function buildProfile(model: OnnxModel, name: string, dtype: DType, params: number, p1: Pass, p2: Pass | undefined, fixedBatch: number): WorkloadProfile {
  const perSample = (f: (c: NodeCost) => number, i: number): number => {
    const a = f(p1.costs[i] as NodeCost);
    if (!p2) return a / fixedBatch;
    return Math.max(0, f(p2.costs[i] as NodeCost) - a);
  };
  const ops: OpCost[] = [];
  model.graph.nodes.forEach((n, i) => {
    const c = p1.costs[i] as NodeCost;
    const op: OpCost = {
      name: n.name,
      opType: n.opType,
      macsPerSample: perSample((x) => x.macs, i),
      flopsPerSample: perSample((x) => x.flops, i),
      weightBytes: c.weightBytes,
      activationBytesReadPerSample: perSample((x) => x.activationBytesRead, i),
      activationBytesWrittenPerSample: perSample((x) => x.activationBytesWritten, i),
      modelled: c.modelled,
    };
    // Views, constants and shape arithmetic launch no kernel and move nothing per sample.
    const free =
      op.macsPerSample === 0 &&
      op.flopsPerSample === 0 &&
      op.weightBytes === 0 &&
      op.activationBytesReadPerSample === 0 &&
      op.activationBytesWrittenPerSample === 0;
    if (!free || !op.modelled) ops.push(op);
  });
  const sampleInputs = graphInputs(model).map((v) => {
    const d = p1.inputDims.get(v.name) ?? [];
    return { elemType: v.elemType, dims: d.slice(1), bytes: (product(d) * elemSize(v.elemType)) / fixedBatch };
  });
  return {
    model: name,
    dtype,
    ops,
    inputBytesPerSample: sampleInputs.reduce((s, x) => s + x.bytes, 0),
    params,
    preprocessCyclesPerSample: preprocessCyclesPerSample(sampleInputs),
  };
}

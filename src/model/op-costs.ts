/**
 * The cost of one node from its input and output shapes: MACs, FLOPs and bytes. The per-op
 * constants come from data/models/op-costs.json; ops missing there are counted for their bytes and
 * flagged unmodelled.
 */
import table from '../../data/models/op-costs.json' with { type: 'json' };
import { elemSize, product } from './onnx/dtype.ts';
import type { GraphNode } from './onnx/graph.ts';
import { OP_ALIASES, isKnownDomain, resolveAlias } from './op-aliases.ts';
import type { ValueState } from './shape-inference.ts';

type OpKind =
  | 'conv'
  | 'convTranspose'
  | 'gemm'
  | 'matmul'
  | 'elementwise'
  | 'normalize'
  | 'reduce'
  | 'window'
  | 'resize'
  | 'copy'
  | 'view'
  | 'constant'
  | 'metadata';

interface OpEntry {
  readonly kind: OpKind;
  readonly flopsPerElement?: number | Readonly<Record<string, number>>;
  readonly perExtraInput?: boolean;
}

const OPS = table.ops as Readonly<Record<string, OpEntry>>;

export interface NodeCost {
  readonly macs: number;
  readonly flops: number;
  readonly weightBytes: number;
  readonly activationBytesRead: number;
  readonly activationBytesWritten: number;
  /** False when the op has no cost model or a shape it needs is unknown. */
  readonly modelled: boolean;
  /** Why not modelled (no cost model, unknown shapes). */
  readonly reason?: string | undefined;
}

/** The ops with a cost model. */
export const MODELLED_OPS: ReadonlySet<string> = new Set([...Object.keys(OPS), ...Object.keys(OP_ALIASES)]);

const bytesOf = (s: ValueState | undefined): number | undefined => (s?.dims ? product(s.dims) * elemSize(s.elemType) : undefined);
const elems = (s: ValueState | undefined): number | undefined => (s?.dims ? product(s.dims) : undefined);

export function costNode(original: GraphNode, allIns: readonly (ValueState | undefined)[], outs: readonly (ValueState | undefined)[]): NodeCost {
  const { node, values: ins } = resolveAlias(original, allIns);
  const entry = isKnownDomain(node.domain) ? OPS[node.opType] : undefined;
  let unknown = false;
  let weightBytes = 0;
  let read = 0;
  let written = 0;
  // Bytes: every input of the node as written (scales and zero points of quantised ops too).
  original.inputs.forEach((name, i) => {
    if (name === '') return;
    const s = allIns[i];
    const b = bytesOf(s);
    if (b === undefined) {
      unknown = true;
      return;
    }
    if (s?.weight) weightBytes += b;
    else read += b;
  });
  node.outputs.forEach((name, i) => {
    if (name === '') return;
    const b = bytesOf(outs[i]);
    if (b === undefined) unknown = true;
    else written += b;
  });
  const zero = { macs: 0, flops: 0 };
  const movesAll = { weightBytes, activationBytesRead: read, activationBytesWritten: written };
  if (!entry) {
    return { ...zero, ...movesAll, modelled: false, reason: `no cost model for ${node.domain ? `${node.domain}.` : ''}${node.opType}` };
  }
  const out0 = outs[0];
  const in0 = ins[0];
  const nOut = elems(out0);
  const perElement = (mode?: string): number => {
    const f = entry.flopsPerElement;
    if (typeof f === 'number') return f;
    return (f && mode !== undefined ? f[mode] : undefined) ?? 0;
  };
  const unknownShape = (): NodeCost => ({ ...zero, ...movesAll, modelled: false, reason: 'shapes unknown' });
  let macs = 0;
  let flops = 0;
  switch (entry.kind) {
    case 'view':
      return { ...zero, weightBytes: 0, activationBytesRead: 0, activationBytesWritten: 0, modelled: true };
    case 'constant':
      return { ...zero, weightBytes: 0, activationBytesRead: 0, activationBytesWritten: 0, modelled: true };
    case 'metadata':
      return { ...zero, weightBytes: 0, activationBytesRead: 0, activationBytesWritten: written, modelled: !unknown };
    case 'copy':
      if (node.opType === 'Gather' && in0?.weight && nOut !== undefined) {
        // An embedding lookup reads only the gathered rows, which scale with the batch.
        const idx = bytesOf(ins[1]) ?? 0;
        return { ...zero, weightBytes: 0, activationBytesRead: idx + written, activationBytesWritten: written, modelled: !unknown };
      }
      return { ...zero, ...movesAll, modelled: !unknown };
    case 'conv': {
      const w = ins[1]?.dims;
      if (nOut === undefined || !w) return unknownShape();
      macs = nOut * product(w.slice(1));
      flops = 2 * macs + (node.inputs[2] ? nOut : 0);
      break;
    }
    case 'convTranspose': {
      const w = ins[1]?.dims;
      const nIn = elems(in0);
      if (nIn === undefined || !w || nOut === undefined) return unknownShape();
      macs = nIn * product(w.slice(1));
      flops = 2 * macs + (node.inputs[2] ? nOut : 0);
      break;
    }
    case 'gemm': {
      const a = in0?.dims;
      if (!a || nOut === undefined) return unknownShape();
      const attr = node.attributes.transA;
      const k = attr?.type === 'INT' && attr.value === 1 ? a[0] : a[1];
      macs = nOut * (k ?? 0);
      flops = 2 * macs + (node.inputs[2] ? nOut : 0);
      break;
    }
    case 'matmul': {
      const a = in0?.dims;
      if (!a || nOut === undefined) return unknownShape();
      macs = nOut * (a[a.length - 1] ?? 1);
      flops = 2 * macs;
      break;
    }
    case 'elementwise': {
      if (nOut === undefined) return unknownShape();
      const extra = entry.perExtraInput ? Math.max(1, node.inputs.filter((n) => n !== '').length - 1) : 1;
      flops = perElement() * nOut * extra;
      break;
    }
    case 'normalize':
      if (nOut === undefined) return unknownShape();
      flops = perElement() * nOut;
      break;
    case 'reduce': {
      const nIn = elems(in0);
      if (nIn === undefined) return unknownShape();
      flops = perElement() * nIn;
      break;
    }
    case 'window': {
      const k = node.attributes.kernel_shape;
      if (nOut === undefined || k?.type !== 'INTS') return unknownShape();
      flops = perElement() * nOut * product(k.value);
      break;
    }
    case 'resize': {
      if (nOut === undefined) return unknownShape();
      const m = node.attributes.mode;
      flops = perElement(m?.type === 'STRING' ? m.value : 'nearest') * nOut;
      break;
    }
  }
  return { macs, flops, ...movesAll, modelled: !unknown, reason: unknown ? 'some shapes unknown' : undefined };
}

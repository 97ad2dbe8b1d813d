/** Protobuf bytes → OnnxModel, with one clear error per way a file can be wrong. */
import { PolyThrottleError, badInput } from '../../core/errors.ts';
import { AttrType, ModelProto, toNum } from './schema.ts';
import type { Attribute, ExternalLocation, Graph, GraphNode, OnnxModel, StoredDim, Tensor, ValueInfo } from './graph.ts';

/** IR versions this reader understands (ONNX 1.0 … 1.18 wrote 3 … 11). */
export const MIN_IR_VERSION = 3;
export const MAX_IR_VERSION = 11;

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages are untyped
type Msg = any;

const textDecoder = new TextDecoder();
const str = (b: Uint8Array | string | undefined): string => (typeof b === 'string' ? b : b ? textDecoder.decode(b) : '');

function decodeTensor(t: Msg): Tensor {
  const dims = (t.dims ?? []).map(toNum) as number[];
  let external: ExternalLocation | undefined;
  if (toNum(t.dataLocation) === 1) {
    const kv = new Map<string, string>((t.externalData ?? []).map((e: Msg) => [e.key as string, e.value as string]));
    const location = kv.get('location');
    if (!location) throw badInput(`tensor '${t.name}' is stored externally but names no location`);
    const length = kv.get('length');
    external = { location, offset: Number(kv.get('offset') ?? 0), length: length === undefined ? undefined : Number(length) };
  }
  let values: number[] | undefined;
  if (t.floatData?.length) values = t.floatData as number[];
  else if (t.int32Data?.length) values = t.int32Data as number[];
  else if (t.int64Data?.length) values = (t.int64Data as unknown[]).map(toNum);
  else if (t.doubleData?.length) values = t.doubleData as number[];
  else if (t.uint64Data?.length) values = (t.uint64Data as unknown[]).map(toNum);
  const raw = t.rawData as Uint8Array | undefined;
  return {
    name: t.name ?? '',
    dims,
    dataType: toNum(t.dataType),
    data: raw && raw.length > 0 ? raw : undefined,
    values,
    external,
  };
}

function decodeValueInfo(v: Msg): ValueInfo {
  const tt = v.type?.tensorType;
  if (!tt) return { name: v.name ?? '', elemType: 0, dims: undefined };
  const dims: StoredDim[] | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d: Msg): StoredDim => {
        if (d.dimParam) return d.dimParam as string;
        if (d.dimValue !== undefined && d.dimValue !== null) {
          const n = toNum(d.dimValue);
          return n > 0 ? n : null;
        }
        return null;
      })
    : undefined;
  return { name: v.name ?? '', elemType: toNum(tt.elemType), dims };
}

function decodeAttribute(a: Msg): Attribute {
  switch (toNum(a.type)) {
    case AttrType.FLOAT:
      return { type: 'FLOAT', value: a.f ?? 0 };
    case AttrType.INT:
      return { type: 'INT', value: toNum(a.i) };
    case AttrType.STRING:
      return { type: 'STRING', value: str(a.s) };
    case AttrType.TENSOR:
      return { type: 'TENSOR', value: decodeTensor(a.t ?? {}) };
    case AttrType.FLOATS:
      return { type: 'FLOATS', value: a.floats ?? [] };
    case AttrType.INTS:
      return { type: 'INTS', value: (a.ints ?? []).map(toNum) };
    case AttrType.STRINGS:
      return { type: 'STRINGS', value: (a.strings ?? []).map(str) };
    default:
      return { type: 'OTHER', kind: String(a.type) };
  }
}

function decodeNode(n: Msg, i: number): GraphNode {
  const attributes: Record<string, Attribute> = {};
  for (const a of n.attribute ?? []) attributes[a.name] = decodeAttribute(a);
  const outputs = (n.output ?? []) as string[];
  return {
    name: n.name || `${n.opType}_${i}${outputs[0] ? `(${outputs[0]})` : ''}`,
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: n.input ?? [],
    outputs,
    attributes,
  };
}

function decodeGraph(g: Msg): Graph {
  const initializers = (g.initializer ?? []).map(decodeTensor) as Tensor[];
  // Sparse initializers: count their dense shape for parameters, their stored values for bytes.
  for (const s of g.sparseInitializer ?? []) {
    const v = s.values ? decodeTensor(s.values) : undefined;
    if (v) initializers.push({ ...v, dims: (s.dims ?? []).map(toNum) });
  }
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map(decodeNode),
    initializers,
    inputs: (g.input ?? []).map(decodeValueInfo),
    outputs: (g.output ?? []).map(decodeValueInfo),
    valueInfo: (g.valueInfo ?? []).map(decodeValueInfo),
  };
}

/**
 * Decode a model. `source` names it in errors. Throws a PolyThrottleError (exit 2) when the bytes
 * are not ONNX, are cut short, or use an IR version outside MIN_IR_VERSION … MAX_IR_VERSION.
 */
export function decodeOnnx(bytes: Uint8Array, source: string): OnnxModel {
  if (bytes.length === 0) throw badInput(`${source}: empty file, not an ONNX model`);
  let m: Msg;
  try {
    m = ModelProto.decode(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/index out of range|premature end|truncated/i.test(msg)) {
      throw badInput(`${source}: truncated ONNX file (the protobuf ends mid-message)`, 'the file was cut short: copy or download it again', e);
    }
    throw badInput(`${source}: not an ONNX model (protobuf decoding failed: ${msg})`, undefined, e);
  }
  const ir = toNum(m.irVersion);
  if (!m.graph || ir === 0 || !(m.opsetImport?.length > 0 || ir < 3)) {
    throw badInput(`${source}: not an ONNX model (no ir_version, graph or opset)`);
  }
  if (ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
    throw new PolyThrottleError('UNSUPPORTED', `${source}: unsupported ONNX IR version ${ir} (supported: ${MIN_IR_VERSION}–${MAX_IR_VERSION})`, {
      hint: ir > MAX_IR_VERSION ? 'convert it with an older exporter or onnx.version_converter' : 're-export the model with a current exporter',
    });
  }
  let graph: Graph;
  try {
    graph = decodeGraph(m.graph);
  } catch (e) {
    if (e instanceof PolyThrottleError) throw e;
    throw badInput(`${source}: malformed ONNX graph (${e instanceof Error ? e.message : String(e)})`, undefined, e);
  }
  return {
    irVersion: ir,
    opsets: (m.opsetImport ?? []).map((o: Msg) => ({ domain: o.domain ?? '', version: toNum(o.version) })),
    producerName: m.producerName ?? '',
    docString: m.docString ?? '',
    graph,
  };
}

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

/** ModelProto's fields: number → wire type (0 varint, 2 length-delimited) and name. */
const MODEL_FIELDS: ReadonlyMap<number, readonly [number, string]> = new Map([
  [1, [0, 'ir_version']],
  [2, [2, 'producer_name']],
  [3, [2, 'producer_version']],
  [4, [2, 'domain']],
  [5, [0, 'model_version']],
  [6, [2, 'doc_string']],
  [7, [2, 'graph']],
  [8, [2, 'opset_import']],
  [14, [2, 'metadata_props']],
  [20, [2, 'training_info']],
  [25, [2, 'functions']],
]);

type Shape =
  | { readonly kind: 'whole' }
  | { readonly kind: 'cut'; readonly field: string; readonly needs: string }
  | { readonly kind: 'foreign'; readonly at: number; readonly why: string };

/** A varint at `at`: its value and the offset after it; undefined when the bytes end inside it. */
function varint(b: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    value += (b[i]! & 0x7f) * scale;
    scale *= 128;
    if ((b[i]! & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/**
 * Walk the top level of a ModelProto without decoding the fields' contents: `whole` when every
 * field is a known one with its wire type and ends inside the file, `cut` when the bytes are such
 * fields up to a field the file ends inside (a valid prefix: truly truncated), `foreign` at the
 * first byte that no ModelProto can have there.
 */
function scanModelProto(b: Uint8Array): Shape {
  let at = 0;
  while (at < b.length) {
    const tag = varint(b, at);
    if (!tag) return { kind: 'cut', field: 'tag', needs: 'more bytes' };
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    const known = MODEL_FIELDS.get(field);
    if (!known) return { kind: 'foreign', at, why: `field number ${field}` };
    const [want, name] = known;
    if (wire !== want) return { kind: 'foreign', at, why: `wire type ${wire} for ${name}` };
    if (wire === 0) {
      const v = varint(b, tag.next);
      if (!v) return { kind: 'cut', field: name, needs: 'the rest of its number' };
      at = v.next;
      continue;
    }
    const len = varint(b, tag.next);
    if (!len) return { kind: 'cut', field: name, needs: 'the rest of its length' };
    const end = len.next + len.value;
    if (end > b.length) return { kind: 'cut', field: name, needs: `${len.value} bytes, ${b.length - len.next} are left` };
    at = end;
  }
  return { kind: 'whole' };
}

/** Printable text, as a short quote: undefined when the bytes are binary. */
function asText(b: Uint8Array): string | undefined {
  const head = b.subarray(0, 64);
  for (const c of head) if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc2)) return undefined;
  const t = new TextDecoder().decode(head).split(/\r?\n/)[0]!.trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

/** What the bytes are instead of a ModelProto, in words (one line: the CLI prints no hint for it). */
function notProtobuf(b: Uint8Array, at: number, why: string): string {
  const text = asText(b);
  if (text === undefined) return `not a protobuf ModelProto (byte ${at}: ${why} is not part of one)`;
  if (text.startsWith('version https://git-lfs')) return 'a Git LFS pointer, not the model (fetch the model itself with `git lfs pull`)';
  if (text.startsWith('<')) return `a text file ("${text}"), likely a web page saved instead of the model; an .onnx file is binary protobuf`;
  return `a text file ("${text}"); an .onnx file is binary protobuf`;
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
    // Text is never called truncated, even when its first bytes happen to read as a field.
    const scanned = scanModelProto(bytes);
    const shape: Shape = scanned.kind === 'cut' && asText(bytes) !== undefined ? { kind: 'foreign', at: 0, why: 'text' } : scanned;
    if (shape.kind === 'cut')
      throw badInput(
        `${source}: truncated ONNX file (${bytes.length} bytes of well-formed ONNX that end inside field ${shape.field}, which needs ${shape.needs})`,
        'the file was cut short: copy or download it again',
        e,
      );
    if (shape.kind === 'foreign') throw badInput(`${source}: not an ONNX model: ${notProtobuf(bytes, shape.at, shape.why)}`, undefined, e);
    throw badInput(`${source}: not a valid ONNX model (its top-level fields are well-formed, but decoding them failed: ${msg})`, undefined, e);
  }
  const ir = toNum(m.irVersion);
  if (!m.graph || ir === 0 || !(m.opsetImport?.length > 0 || ir < 3)) {
    const text = asText(bytes) === undefined ? '' : `: ${notProtobuf(bytes, 0, 'text')}`;
    throw badInput(`${source}: not an ONNX model (no ir_version, graph or opset)${text}`);
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

/**
 * OnnxModel → .onnx bytes. The graph skeleton is encoded by protobufjs; each initializer's bytes
 * are produced one tensor at a time and streamed after it, so writing BERT-large holds one tensor
 * in memory, not 1.3 GB. Protobuf does not care about field order, so initializers (GraphProto
 * field 5) after the nodes are valid.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { badInput } from '../../core/errors.ts';
import { tensorBytes } from '../weights.ts';
import { elemSize, product } from './dtype.ts';
import type { Attribute, OnnxModel, Tensor, ValueInfo } from './graph.ts';
import { AttrType, GraphProto, ModelProto, TensorProto } from './schema.ts';

/** Above this many weight bytes, tensors go to an external data file (protobuf's limit is 2 GiB). */
export const EXTERNAL_DATA_THRESHOLD = 1.8 * 2 ** 30;

/** Tensors smaller than this stay inside the .onnx even with external data (runtimes read shapes and constants from them). */
export const EXTERNAL_MIN_TENSOR_BYTES = 1024;

export interface EncodeOptions {
  /** Seed of the random weights (default 0). */
  readonly seed?: number;
  /** Called after each tensor with bytes done and total weight bytes. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface WriteOptions extends EncodeOptions {
  /** true: weights in `<file>.data`; 'auto' (default): only when the model would exceed protobuf's limit. */
  readonly externalData?: boolean | 'auto';
}

const enc = new TextEncoder();

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

const TAG_GRAPH = 0x3a; // ModelProto.graph = 7, length-delimited
const TAG_INITIALIZER = 0x2a; // GraphProto.initializer = 5
const TAG_RAW_DATA = 0x4a; // TensorProto.raw_data = 9

function valueInfoObject(v: ValueInfo) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType,
        shape: v.dims ? { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) } : undefined,
      },
    },
  };
}

function tensorObject(t: Tensor, seed: number) {
  return { name: t.name, dims: [...t.dims], dataType: t.dataType, rawData: tensorBytes(t, seed) };
}

function attributeObject(name: string, a: Attribute, seed: number) {
  switch (a.type) {
    case 'FLOAT':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'INT':
      return { name, type: AttrType.INT, i: a.value };
    case 'STRING':
      return { name, type: AttrType.STRING, s: enc.encode(a.value) };
    case 'TENSOR':
      return { name, type: AttrType.TENSOR, t: tensorObject(a.value, seed) };
    case 'FLOATS':
      return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'INTS':
      return { name, type: AttrType.INTS, ints: [...a.value] };
    case 'STRINGS':
      return { name, type: AttrType.STRINGS, strings: a.value.map((s) => enc.encode(s)) };
    default:
      throw badInput(`cannot write attribute '${name}' of kind ${a.kind}`);
  }
}

interface Plan {
  readonly head: Uint8Array[];
  readonly tensors: readonly { readonly t: Tensor; readonly header: Uint8Array; readonly external: boolean; readonly size: number }[];
  readonly totalWeightBytes: number;
}

const tensorSize = (t: Tensor): number => Math.ceil(product(t.dims) * elemSize(t.dataType));

function plan(model: OnnxModel, seed: number, external: (t: Tensor) => { location: string; offset: number } | undefined): Plan {
  const g = model.graph;
  const graphSkeleton = GraphProto.encode(
    GraphProto.fromObject({
      node: g.nodes.map((n) => ({
        input: [...n.inputs],
        output: [...n.outputs],
        name: n.name,
        opType: n.opType,
        domain: n.domain || undefined,
        attribute: Object.entries(n.attributes).map(([k, a]) => attributeObject(k, a, seed)),
      })),
      name: g.name,
      input: g.inputs.map(valueInfoObject),
      output: g.outputs.map(valueInfoObject),
      valueInfo: g.valueInfo.map(valueInfoObject),
    }),
  ).finish();
  let graphLen = graphSkeleton.length;
  let totalWeightBytes = 0;
  const tensors = g.initializers.map((t) => {
    const size = tensorSize(t);
    totalWeightBytes += size;
    const ext = external(t);
    const header = TensorProto.encode(
      TensorProto.fromObject({
        name: t.name,
        dims: [...t.dims],
        dataType: t.dataType,
        ...(ext
          ? {
              dataLocation: 1,
              externalData: [
                { key: 'location', value: ext.location },
                { key: 'offset', value: String(ext.offset) },
                { key: 'length', value: String(size) },
              ],
            }
          : {}),
      }),
    ).finish();
    const tensorLen = header.length + (ext ? 0 : 1 + varint(size).length + size);
    graphLen += 1 + varint(tensorLen).length + tensorLen;
    return { t, header, external: ext !== undefined, size };
  });
  const modelSkeleton = ModelProto.encode(
    ModelProto.fromObject({
      irVersion: model.irVersion,
      producerName: model.producerName,
      docString: model.docString || undefined,
      opsetImport: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    }),
  ).finish();
  return { head: [modelSkeleton, Uint8Array.of(TAG_GRAPH), varint(graphLen), graphSkeleton], tensors, totalWeightBytes };
}

/** The .onnx bytes as a sequence of chunks; `data` receives the bytes of external tensors. */
function* chunks(p: Plan, seed: number, onData: (b: Uint8Array) => void, onProgress?: (done: number, total: number) => void): Generator<Uint8Array> {
  yield* p.head;
  let done = 0;
  for (const { t, header, external, size } of p.tensors) {
    const bytes = tensorBytes(t, seed);
    if (bytes.length !== size) throw badInput(`tensor '${t.name}' has ${bytes.length} bytes, its shape needs ${size}`);
    const tensorLen = header.length + (external ? 0 : 1 + varint(size).length + size);
    yield Uint8Array.of(TAG_INITIALIZER);
    yield varint(tensorLen);
    yield header;
    if (external) onData(bytes);
    else {
      yield Uint8Array.of(TAG_RAW_DATA);
      yield varint(size);
      yield bytes;
    }
    done += size;
    onProgress?.(done, p.totalWeightBytes);
  }
}

/** Encode a model with all weights inside (for small models, tests and in-memory sessions). */
export function encodeOnnx(model: OnnxModel, opts: EncodeOptions = {}): Uint8Array {
  const seed = opts.seed ?? 0;
  const p = plan(model, seed, () => undefined);
  if (p.totalWeightBytes > EXTERNAL_DATA_THRESHOLD) throw badInput('model too large for one protobuf message; write it to a file with external data');
  const parts = [...chunks(p, seed, () => {}, opts.onProgress)];
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

export interface WrittenModel {
  readonly path: string;
  readonly bytes: number;
  /** The external data file, when one was written. */
  readonly dataPath: string | undefined;
  readonly weightBytes: number;
  /** Bytes in the external data file (0 without one). */
  readonly externalBytes: number;
}

/**
 * Write a model to `path` (atomically: a temporary file renamed at the end, so an interrupted
 * build leaves no truncated model behind).
 */
export function writeOnnxFile(model: OnnxModel, path: string, opts: WriteOptions = {}): WrittenModel {
  const seed = opts.seed ?? 0;
  const total = model.graph.initializers.reduce((s, t) => s + tensorSize(t), 0);
  const useExternal = opts.externalData === true || ((opts.externalData ?? 'auto') === 'auto' && total > EXTERNAL_DATA_THRESHOLD);
  const dataName = `${basename(path)}.data`;
  const dataPath = join(dirname(path), dataName);
  let offset = 0;
  const p = plan(model, seed, (t) => {
    if (!useExternal || tensorSize(t) < EXTERNAL_MIN_TENSOR_BYTES) return undefined;
    const at = { location: dataName, offset };
    offset += tensorSize(t);
    return at;
  });
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const tmpData = `${dataPath}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const dataFd = useExternal ? openSync(tmpData, 'w') : undefined;
  let bytes = 0;
  try {
    const writeAll = (f: number, b: Uint8Array) => {
      let o = 0;
      while (o < b.length) o += writeSync(f, b, o, b.length - o);
    };
    for (const c of chunks(p, seed, (b) => writeAll(dataFd as number, b), opts.onProgress)) {
      writeAll(fd, c);
      bytes += c.length;
    }
  } catch (e) {
    closeSync(fd);
    if (dataFd !== undefined) closeSync(dataFd);
    rmSync(tmp, { force: true });
    rmSync(tmpData, { force: true });
    throw e;
  }
  closeSync(fd);
  if (dataFd !== undefined) {
    closeSync(dataFd);
    renameSync(tmpData, dataPath);
  } else rmSync(dataPath, { force: true });
  renameSync(tmp, path);
  return { path, bytes, dataPath: useExternal ? dataPath : undefined, weightBytes: total, externalBytes: offset };
}

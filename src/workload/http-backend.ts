/**
 * `http` backend: forwards batches to a KServe v2 / Open Inference Protocol endpoint (Triton,
 * KServe, OpenVINO Model Server, MLServer, or PolyThrottle's own server) over REST/JSON.
 * Reads `GET /v2/models/{m}` for the metadata, sends `POST /v2/models/{m}/infer`. Every failure is a
 * `WorkloadError` with the reason: connection, timeout, non-2xx status (with the server's
 * `{"error": …}` text), or a malformed answer.
 */
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor, TensorDatatype, TensorSpec } from '../core/inference.ts';
import { WorkloadError } from './errors.ts';
import { floatToHalf, halfToFloat } from '../model/onnx/float16.ts';

export interface HttpBackendOptions {
  /** Base URL of the endpoint, e.g. http://127.0.0.1:8000 (Triton's HTTP port). */
  readonly url: string;
  /** Models to use; their metadata is read when the backend connects. */
  readonly models: readonly string[];
  /** Model version, when the endpoint serves several (default: the server's choice). */
  readonly version?: string;
  /** Per-request timeout, ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. an Authorization header for KServe behind a gateway). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Send inputs and ask for outputs as raw bytes after the JSON header (Triton's binary tensor
   * data extension) instead of JSON numbers: smaller bodies and no number parsing on either side.
   */
  readonly binary?: boolean;
}

/** An infer request ready to send: JSON text, or Triton binary (JSON header + raw tensor bytes). */
export type EncodedRequest = string | { readonly bytes: Uint8Array; readonly headerLength: number };

const DATATYPES: readonly TensorDatatype[] = ['FP32', 'FP16', 'FP64', 'INT64', 'INT32', 'INT8', 'UINT8', 'BOOL', 'BYTES'];

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function parseSpec(x: unknown, where: string): TensorSpec {
  if (!isRecord(x) || typeof x.name !== 'string' || typeof x.datatype !== 'string' || !Array.isArray(x.shape))
    throw new WorkloadError('bad-response', `${where}: a tensor entry lacks name, datatype or shape: ${JSON.stringify(x).slice(0, 200)}`);
  if (!DATATYPES.includes(x.datatype as TensorDatatype))
    throw new WorkloadError('bad-response', `${where}: tensor "${x.name}" has datatype ${x.datatype}, which PolyThrottle does not handle`);
  return { name: x.name, datatype: x.datatype as TensorDatatype, shape: x.shape.map(Number) };
}

/** Parses a KServe v2 model-metadata answer. */
export function parseModelMetadata(json: unknown, where: string): ModelMetadata {
  if (!isRecord(json) || typeof json.name !== 'string' || !Array.isArray(json.inputs) || !Array.isArray(json.outputs))
    throw new WorkloadError('bad-response', `${where}: not KServe v2 model metadata (needs name, inputs, outputs)`);
  return {
    name: json.name,
    ...(Array.isArray(json.versions) ? { versions: json.versions.map(String) } : {}),
    platform: typeof json.platform === 'string' ? json.platform : 'upstream',
    inputs: json.inputs.map((t) => parseSpec(t, where)),
    outputs: json.outputs.map((t) => parseSpec(t, where)),
  };
}

/** The JSON body of an infer request for a batch of tensors. */
export function encodeInferRequest(inputs: readonly Tensor[]): string {
  return JSON.stringify({
    inputs: inputs.map((t) => ({
      name: t.name,
      shape: t.shape,
      datatype: t.datatype,
      data: Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
    })),
  });
}

const BYTES_PER: Partial<Record<TensorDatatype, number>> = { FP32: 4, FP16: 2, FP64: 8, INT64: 8, INT32: 4, INT8: 1, UINT8: 1, BOOL: 1 };

/** Raw little-endian bytes of a tensor as the binary extension lays them out. */
function tensorBytes(t: Tensor): Uint8Array {
  const d = t.data as ArrayLike<unknown>;
  const n = d.length;
  if (t.datatype === 'BYTES') {
    const parts = Array.from(d, (v) => Buffer.from(String(v), 'utf8'));
    const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, o);
      p.copy(out, o + 4);
      o += 4 + p.length;
    }
    return out;
  }
  const view = new DataView(new ArrayBuffer(n * BYTES_PER[t.datatype]!));
  for (let i = 0; i < n; i++) {
    const v = d[i];
    switch (t.datatype) {
      case 'FP32':
        view.setFloat32(i * 4, Number(v), true);
        break;
      case 'FP16':
        view.setUint16(i * 2, floatToHalf(Number(v)), true);
        break;
      case 'FP64':
        view.setFloat64(i * 8, Number(v), true);
        break;
      case 'INT64':
        view.setBigInt64(i * 8, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))), true);
        break;
      case 'INT32':
        view.setInt32(i * 4, Number(v), true);
        break;
      case 'INT8':
        view.setInt8(i, Number(v));
        break;
      case 'UINT8':
        view.setUint8(i, Number(v));
        break;
      case 'BOOL':
        view.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  return new Uint8Array(view.buffer);
}

/** A binary-extension request: JSON header (sizes, binary outputs asked for) + the tensors' bytes. */
export function encodeBinaryInferRequest(inputs: readonly Tensor[], outputs: readonly string[]): EncodedRequest {
  const blobs = inputs.map(tensorBytes);
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((t, i) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: blobs[i]!.length } })),
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
    'utf8',
  );
  return { bytes: Buffer.concat([header, ...blobs]), headerLength: header.length };
}

function decodeBinary(datatype: TensorDatatype, bytes: Uint8Array, where: string): Tensor['data'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let o = 0; o + 4 <= bytes.length; ) {
      const len = view.getUint32(o, true);
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + o + 4, len).toString('utf8'));
      o += 4 + len;
    }
    return out;
  }
  const size = BYTES_PER[datatype]!;
  if (bytes.length % size !== 0) throw new WorkloadError('bad-response', `${where}: ${bytes.length} bytes of ${datatype} is not a whole number of elements`);
  const n = bytes.length / size;
  switch (datatype) {
    case 'FP32':
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
    case 'FP16':
      return Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(i * 2, true)));
    case 'FP64':
      return Float64Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true));
    case 'INT64':
      return BigInt64Array.from({ length: n }, (_, i) => view.getBigInt64(i * 8, true));
    case 'INT32':
      return Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true));
    case 'INT8':
      return Int8Array.from({ length: n }, (_, i) => view.getInt8(i));
    case 'UINT8':
      return Uint8Array.from(bytes);
    default:
      return Array.from(bytes, (b) => b !== 0);
  }
}

function parseInferResponse(json: unknown, where: string, binary?: Uint8Array): Tensor[] {
  if (!isRecord(json) || !Array.isArray(json.outputs)) throw new WorkloadError('bad-response', `${where}: the answer has no "outputs" list`);
  let offset = 0;
  return json.outputs.map((o) => {
    const spec = parseSpec(o, where);
    const rec = o as Record<string, unknown>;
    const size = isRecord(rec.parameters) ? rec.parameters.binary_data_size : undefined;
    if (typeof size === 'number') {
      if (!binary || offset + size > binary.length)
        throw new WorkloadError('bad-response', `${where}: output "${spec.name}" announces ${size} binary bytes the answer does not hold`);
      const data = decodeBinary(spec.datatype, binary.subarray(offset, offset + size), where);
      offset += size;
      return { ...spec, data };
    }
    if (!Array.isArray(rec.data)) throw new WorkloadError('bad-response', `${where}: output "${spec.name}" has no data array`);
    return { ...spec, data: rec.data.flat(Number.POSITIVE_INFINITY) as Tensor['data'] };
  });
}

/** One line for a failed fetch: the system error code (ECONNREFUSED …) when there is one. */
function connectionReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

export class HttpBackend implements InferenceBackend {
  readonly kind = 'http';
  private readonly meta = new Map<string, ModelMetadata>();
  private closed = false;
  readonly baseUrl: string;
  readonly timeoutMs: number;

  private constructor(private readonly opts: HttpBackendOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Checks the URL, reads every model's metadata; fails with the reason when it cannot. */
  static async connect(opts: HttpBackendOptions): Promise<HttpBackend> {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw badInput(`not a URL: ${opts.url}`, 'give the endpoint as http://host:port, e.g. http://127.0.0.1:8000 for Triton');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badInput(`the endpoint must be http:// or https://, got ${opts.url}`);
    if (opts.models.length === 0) throw badInput('the http backend needs at least one model name');
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw badInput(`timeout must be positive, got ${opts.timeoutMs}`);
    const b = new HttpBackend(opts);
    if (opts.binary) await b.checkBinaryExtension();
    for (const m of opts.models) b.meta.set(m, await b.fetchMetadata(m));
    return b;
  }

  private modelPath(model: string): string {
    const v = this.opts.version ? `/versions/${encodeURIComponent(this.opts.version)}` : '';
    return `/v2/models/${encodeURIComponent(model)}${v}`;
  }

  /**
   * One request with the timeout and typed failures; returns the parsed JSON of a 2xx answer and,
   * for a binary-extension answer, the bytes after its JSON header.
   */
  private async request(method: 'GET' | 'POST', path: string, body?: EncodedRequest): Promise<{ json: unknown; binary?: Uint8Array }> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> =
      body === undefined
        ? {}
        : typeof body === 'string'
          ? { 'content-type': 'application/json' }
          : { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(body.headerLength) };
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...headers, ...this.opts.headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : body.bytes }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw new WorkloadError('timeout', `${method} ${url}: no answer within ${this.timeoutMs} ms`, { cause: e });
      throw new WorkloadError('connection', `${method} ${url}: connection failed (${connectionReason(e)})`, {
        cause: e,
        hint: 'is the inference server running and listening on that address?',
      });
    }
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      const what = (e as Error).name === 'TimeoutError' ? `no complete answer within ${this.timeoutMs} ms` : `answer cut off (${connectionReason(e)})`;
      throw new WorkloadError((e as Error).name === 'TimeoutError' ? 'timeout' : 'connection', `${method} ${url}: ${what}`, { cause: e });
    }
    const jsonLength = Number(res.headers.get('inference-header-content-length') ?? raw.length);
    if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > raw.length)
      throw new WorkloadError('bad-response', `${method} ${url}: Inference-Header-Content-Length ${jsonLength} does not fit the ${raw.length}-byte answer`);
    const text = Buffer.from(raw.buffer, raw.byteOffset, jsonLength).toString('utf8');
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const detail = isRecord(json) && typeof json.error === 'string' ? json.error : text.slice(0, 200);
      throw new WorkloadError('http-status', `${method} ${url}: ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`, {
        status: res.status,
      });
    }
    if (json === undefined) throw new WorkloadError('bad-response', `${method} ${url}: the answer is not JSON: ${text.slice(0, 120)}`);
    return jsonLength < raw.length ? { json, binary: raw.subarray(jsonLength) } : { json };
  }

  /**
   * With binary tensors asked for: a server whose metadata (`GET /v2`) lists its extensions without
   * "binary_tensor_data" would reject every request, so say so now. A server that does not answer
   * `GET /v2` is given the benefit of the doubt.
   */
  private async checkBinaryExtension(): Promise<void> {
    let json: unknown;
    try {
      json = (await this.request('GET', '/v2')).json;
    } catch (e) {
      if (e instanceof WorkloadError && e.failure === 'http-status') return;
      throw e;
    }
    if (isRecord(json) && Array.isArray(json.extensions) && !json.extensions.includes('binary_tensor_data'))
      throw badInput(
        `the endpoint ${this.baseUrl} does not support binary tensors (its extensions: ${json.extensions.join(', ') || 'none'})`,
        'drop --binary-data to send JSON',
      );
  }

  private async fetchMetadata(model: string): Promise<ModelMetadata> {
    try {
      const { json } = await this.request('GET', this.modelPath(model));
      return parseModelMetadata(json, `metadata of "${model}"`);
    } catch (e) {
      if (e instanceof WorkloadError && e.status === 404)
        throw new PolyThrottleError('NOT_FOUND', `the endpoint ${this.baseUrl} has no model "${model}"`, {
          cause: e,
          hint: 'check the model name (Triton: the folder name in the model repository)',
        });
      throw e;
    }
  }

  models(): readonly ModelMetadata[] {
    return [...this.meta.values()];
  }

  metadata(model: string): ModelMetadata {
    const m = this.meta.get(model);
    if (!m) throw badInput(`model "${model}" was not declared to the http backend (declared: ${[...this.meta.keys()].join(', ')})`);
    return m;
  }

  /** True when requests use Triton's binary tensor extension. */
  get binary(): boolean {
    return this.opts.binary === true;
  }

  /** Encodes a batch the way this backend sends it (JSON, or binary when asked for). */
  encode(model: string, inputs: readonly Tensor[]): EncodedRequest {
    return this.opts.binary
      ? encodeBinaryInferRequest(
          inputs,
          this.metadata(model).outputs.map((o) => o.name),
        )
      : encodeInferRequest(inputs);
  }

  infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    try {
      return this.inferEncoded(model, this.encode(model, inputs));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Sends an already-encoded infer request (the runner encodes a batch once and reuses it, so that
   * encoding is not timed); serviceMs is the client-side round trip.
   */
  async inferEncoded(model: string, body: EncodedRequest): Promise<BatchResult> {
    if (this.closed) throw new WorkloadError('closed', 'the http backend is closed');
    this.metadata(model);
    const t0 = performance.now();
    const { json, binary } = await this.request('POST', `${this.modelPath(model)}/infer`, body);
    const serviceMs = performance.now() - t0;
    return { outputs: parseInferResponse(json, `infer on "${model}"`, binary), serviceMs };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

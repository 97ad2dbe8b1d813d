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
}

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

function parseInferResponse(json: unknown, where: string): Tensor[] {
  if (!isRecord(json) || !Array.isArray(json.outputs))
    throw new WorkloadError('bad-response', `${where}: the answer has no "outputs" list`);
  return json.outputs.map((o) => {
    const spec = parseSpec(o, where);
    const data = (o as Record<string, unknown>).data;
    if (!Array.isArray(data)) throw new WorkloadError('bad-response', `${where}: output "${spec.name}" has no data array`);
    return { ...spec, data: data.flat(Number.POSITIVE_INFINITY) as Tensor['data'] };
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
    for (const m of opts.models) b.meta.set(m, await b.fetchMetadata(m));
    return b;
  }

  private modelPath(model: string): string {
    const v = this.opts.version ? `/versions/${encodeURIComponent(this.opts.version)}` : '';
    return `/v2/models/${encodeURIComponent(model)}${v}`;
  }

  /** One request with the timeout and typed failures; returns the parsed JSON body of a 2xx answer. */
  private async request(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    const url = this.baseUrl + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...this.opts.headers },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      if ((e as Error).name === 'TimeoutError')
        throw new WorkloadError('timeout', `${method} ${url}: no answer within ${this.timeoutMs} ms`, { cause: e });
      throw new WorkloadError('connection', `${method} ${url}: connection failed (${connectionReason(e)})`, {
        cause: e,
        hint: 'is the inference server running and listening on that address?',
      });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      const what = (e as Error).name === 'TimeoutError' ? `no complete answer within ${this.timeoutMs} ms` : `answer cut off (${connectionReason(e)})`;
      throw new WorkloadError((e as Error).name === 'TimeoutError' ? 'timeout' : 'connection', `${method} ${url}: ${what}`, { cause: e });
    }
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
    return json;
  }

  private async fetchMetadata(model: string): Promise<ModelMetadata> {
    try {
      const json = await this.request('GET', this.modelPath(model));
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

  infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    return this.inferEncoded(model, encodeInferRequest(inputs));
  }

  /**
   * Sends an already-encoded infer body (the runner encodes a batch once and reuses it, so that
   * JSON encoding is not timed); serviceMs is the client-side round trip.
   */
  async inferEncoded(model: string, body: string): Promise<BatchResult> {
    if (this.closed) throw new WorkloadError('closed', 'the http backend is closed');
    this.metadata(model);
    const t0 = performance.now();
    const json = await this.request('POST', `${this.modelPath(model)}/infer`, body);
    const serviceMs = performance.now() - t0;
    return { outputs: parseInferResponse(json, `infer on "${model}"`), serviceMs };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * `onnx` backend: onnxruntime-node on the CPU, in a pool of worker threads (session.run is a
 * blocking native call; on the main thread it would stall the event loop for the whole batch).
 * Each worker loads every model; a batch goes to the first idle worker.
 */
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { badInput } from '../core/errors.ts';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor, TensorDatatype, TensorSpec } from '../core/inference.ts';
import { WorkloadError } from './errors.ts';
import { fromHalfArray, toHalfArray } from '../model/onnx/float16.ts';

export interface OnnxModelFile {
  /** Name the model is served and addressed by. */
  readonly name: string;
  readonly path: string;
}

export interface OnnxBackendOptions {
  readonly models: readonly OnnxModelFile[];
  /** Worker threads, each with its own sessions (default 1). */
  readonly workers?: number;
  /** onnxruntime intra-op threads per session (default: the CPU count divided among the workers). */
  readonly intraOpThreads?: number;
  /** onnxruntime inter-op threads per session (default 1; execution is sequential). */
  readonly interOpThreads?: number;
}

type OrtType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool' | 'string';

const TO_ORT: Record<TensorDatatype, OrtType> = {
  FP32: 'float32',
  FP16: 'float16',
  FP64: 'float64',
  INT64: 'int64',
  INT32: 'int32',
  INT8: 'int8',
  UINT8: 'uint8',
  BOOL: 'bool',
  BYTES: 'string',
};
const FROM_ORT: Record<string, TensorDatatype> = Object.fromEntries(Object.entries(TO_ORT).map(([k, v]) => [v, k as TensorDatatype]));

interface WorkerValueInfo {
  name: string;
  type: string;
  shape: number[];
}
interface WorkerFeed {
  name: string;
  type: OrtType;
  dims: number[];
  data: unknown;
}
type FromWorker =
  | { type: 'ready'; models: { name: string; inputs: WorkerValueInfo[]; outputs: WorkerValueInfo[] }[] }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; outputs: WorkerFeed[]; serviceMs: number }
  | { type: 'error'; id: number; message: string };

interface Job {
  readonly id: number;
  readonly model: string;
  readonly feeds: WorkerFeed[];
  resolve(r: BatchResult): void;
  reject(e: unknown): void;
}

interface PoolWorker {
  readonly worker: Worker;
  job: Job | undefined;
}

function toSpec(v: WorkerValueInfo, model: string): TensorSpec {
  const datatype = FROM_ORT[v.type];
  if (!datatype) throw badInput(`model "${model}": ${v.name} has type ${v.type}, which the onnx backend cannot feed`);
  return { name: v.name, datatype, shape: v.shape };
}

/** Turns a KServe-style tensor into what onnxruntime takes (typed array of the exact type). */
export function toOrtFeed(t: Tensor, spec: TensorSpec | undefined): WorkerFeed {
  const type = TO_ORT[t.datatype];
  if (spec && spec.datatype !== t.datatype) throw badInput(`input "${t.name}" is ${t.datatype}; the model declares ${spec.datatype}`);
  const d = t.data as ArrayLike<unknown>;
  let data: unknown;
  switch (type) {
    case 'float32':
      data = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
      break;
    case 'float16':
      data = toHalfArray(d as ArrayLike<number>);
      break;
    case 'float64':
      data = d instanceof Float64Array ? d : Float64Array.from(d as ArrayLike<number>);
      break;
    case 'int64':
      data = d instanceof BigInt64Array ? d : BigInt64Array.from(d as ArrayLike<number | bigint>, (x) => BigInt(x));
      break;
    case 'int32':
      data = d instanceof Int32Array ? d : Int32Array.from(d as ArrayLike<number>);
      break;
    case 'int8':
      data = d instanceof Int8Array ? d : Int8Array.from(d as ArrayLike<number>);
      break;
    case 'uint8':
      data = d instanceof Uint8Array ? d : Uint8Array.from(d as ArrayLike<number>);
      break;
    case 'bool':
      data = Uint8Array.from(d as ArrayLike<unknown>, (x) => (x ? 1 : 0));
      break;
    case 'string':
      data = Array.from(d as ArrayLike<unknown>, String);
      break;
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if ((data as ArrayLike<unknown>).length !== n)
    throw badInput(`input "${t.name}" has ${(data as ArrayLike<unknown>).length} values for shape [${t.shape.join(', ')}] (${n})`);
  return { name: t.name, type, dims: [...t.shape], data };
}

function fromOrtOutput(o: WorkerFeed): Tensor {
  const datatype = FROM_ORT[o.type] ?? 'FP32';
  let data = o.data as Tensor['data'];
  if (o.type === 'float16') data = fromHalfArray(o.data as Uint16Array);
  else if (o.type === 'bool') data = Array.from(o.data as Uint8Array, (x) => x !== 0);
  return { name: o.name, datatype, shape: o.dims, data };
}

export class OnnxBackend implements InferenceBackend {
  readonly kind = 'onnx';
  /** Workers that loaded their models and take batches. */
  private readonly pool: PoolWorker[] = [];
  /** Every thread started, ready or not (all are terminated on close). */
  private readonly threads: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly meta = new Map<string, ModelMetadata>();
  private nextId = 1;
  private broken: string | undefined;
  private closed = false;

  private constructor(readonly options: Required<Omit<OnnxBackendOptions, 'models'>> & Pick<OnnxBackendOptions, 'models'>) {}

  /** Starts the workers and loads every model in each; rejects with the loader's reason. */
  static async create(opts: OnnxBackendOptions): Promise<OnnxBackend> {
    if (opts.models.length === 0) throw badInput('the onnx backend needs at least one model file');
    for (const m of opts.models) {
      try {
        await access(m.path);
      } catch {
        throw badInput(`model file not found: ${m.path}`);
      }
    }
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw badInput(`workers must be a positive integer, got ${workers}`);
    const intra = opts.intraOpThreads ?? Math.max(1, Math.floor(availableParallelism() / workers));
    if (!Number.isInteger(intra) || intra < 1) throw badInput(`intra-op threads must be a positive integer, got ${intra}`);
    const inter = opts.interOpThreads ?? 1;
    const b = new OnnxBackend({ models: opts.models, workers, intraOpThreads: intra, interOpThreads: inter });
    try {
      await Promise.all(Array.from({ length: workers }, () => b.startWorker()));
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  private startWorker(): Promise<void> {
    const worker = new Worker(new URL('./onnx-worker.mjs', import.meta.url), {
      workerData: {
        models: this.options.models.map((m) => ({ name: m.name, path: m.path })),
        intraOpThreads: this.options.intraOpThreads,
        interOpThreads: this.options.interOpThreads,
      },
    });
    this.threads.push(worker);
    const pw: PoolWorker = { worker, job: undefined };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          ready = true;
          for (const m of msg.models) {
            if (this.meta.has(m.name)) continue;
            this.meta.set(m.name, {
              name: m.name,
              platform: 'onnx',
              inputs: m.inputs.map((v) => toSpec(v, m.name)),
              outputs: m.outputs.filter((v) => FROM_ORT[v.type]).map((v) => toSpec(v, m.name)),
            });
          }
          this.pool.push(pw);
          resolve();
          this.pump();
        } else if (msg.type === 'fatal') {
          reject(badInput(msg.message));
        } else {
          const job = pw.job;
          pw.job = undefined;
          if (job && job.id === msg.id) {
            if (msg.type === 'result') job.resolve({ outputs: msg.outputs.map(fromOrtOutput), serviceMs: msg.serviceMs });
            else job.reject(new WorkloadError('worker', `onnxruntime failed on model "${job.model}": ${msg.message}`));
          }
          this.pump();
        }
      });
      worker.on('error', (e) => {
        const reason = `an onnx worker thread crashed: ${e.message}`;
        if (!ready) reject(new WorkloadError('worker', reason, { cause: e }));
        this.fail(pw, reason);
      });
      worker.on('exit', (code) => {
        if (this.closed) return;
        const reason = `an onnx worker thread exited (code ${code})`;
        if (!ready) reject(new WorkloadError('worker', reason));
        this.fail(pw, reason);
      });
    });
  }

  /** A dead worker fails its batch and every later one: a trial must not go on with fewer workers. */
  private fail(pw: PoolWorker, reason: string): void {
    this.broken ??= reason;
    const i = this.pool.indexOf(pw);
    if (i >= 0) this.pool.splice(i, 1);
    pw.job?.reject(new WorkloadError('worker', reason));
    pw.job = undefined;
    if (this.pool.length === 0) for (const j of this.queue.splice(0)) j.reject(new WorkloadError('worker', reason));
  }

  private pump(): void {
    for (const pw of this.pool) {
      if (pw.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      pw.job = job;
      pw.worker.postMessage({ type: 'run', id: job.id, model: job.model, feeds: job.feeds });
    }
  }

  models(): readonly ModelMetadata[] {
    return [...this.meta.values()];
  }

  metadata(model: string): ModelMetadata {
    const m = this.meta.get(model);
    if (!m) throw badInput(`unknown model "${model}" (loaded: ${[...this.meta.keys()].join(', ')})`);
    return m;
  }

  /** Intra-op threads each session uses. */
  get intraOpThreads(): number {
    return this.options.intraOpThreads;
  }

  get workers(): number {
    return this.options.workers;
  }

  infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new WorkloadError('closed', 'the onnx backend is closed'));
    if (this.broken) return Promise.reject(new WorkloadError('worker', this.broken));
    let feeds: WorkerFeed[];
    try {
      const meta = this.metadata(model);
      for (const spec of meta.inputs) if (!inputs.some((t) => t.name === spec.name)) throw badInput(`input "${spec.name}" of model "${model}" is missing`);
      feeds = inputs.map((t) =>
        toOrtFeed(
          t,
          meta.inputs.find((s) => s.name === t.name),
        ),
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, model, feeds, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new WorkloadError('closed', 'the onnx backend was closed'));
    for (const pw of this.pool.splice(0)) pw.job?.reject(new WorkloadError('closed', 'the onnx backend was closed'));
    await Promise.all(this.threads.splice(0).map((w) => w.terminate()));
  }
}

/** A model name from a file path: "models/efficientnet-b0.onnx" → "efficientnet-b0". */
export function modelNameFromPath(path: string): string {
  return basename(path).replace(/\.onnx$/i, '');
}

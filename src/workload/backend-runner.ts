/**
 * Drives any InferenceBackend (onnx, http, sim) as a WorkloadRunner: keeps `concurrency` batches in
 * flight, times each batch on the client side, counts failures (never averages them in) and stops
 * early once failures make the run useless.
 */
import { performance } from 'node:perf_hooks';
import { badInput } from '../core/errors.ts';
import type { BatchResult, InferenceBackend, Tensor } from '../core/inference.ts';
import { isWorkloadError } from './errors.ts';
import type { InputFactory } from './inputs.ts';
import { ErrorTally, type RunRequest, type RunResult, type WorkloadKind, type WorkloadRunner } from './runner.ts';

/** Sends one batch; `prepare` turns tensors into what is sent (once per batch size). */
export interface BatchSender<P> {
  prepare(inputs: readonly Tensor[]): P;
  send(prepared: P): Promise<BatchResult>;
}

export interface BackendRunnerOptions<P> {
  readonly kind: WorkloadKind;
  readonly description: string;
  readonly backend: InferenceBackend;
  readonly inputs: InputFactory;
  readonly sender: BatchSender<P>;
  /** Batches in flight when the request does not say (default 1). */
  readonly defaultConcurrency?: number;
  /** Stop a run after this many failed batches (default 5): the trial is invalid anyway. */
  readonly maxErrors?: number;
  /** Close the backend with the runner (default true). */
  readonly ownsBackend?: boolean;
}

/** A sender that calls backend.infer with the tensors as they are. */
export function plainSender(backend: InferenceBackend, model: string): BatchSender<readonly Tensor[]> {
  return { prepare: (t) => t, send: (t) => backend.infer(model, t) };
}

export function checkRunRequest(req: RunRequest): void {
  if (!Number.isInteger(req.batch) || req.batch < 1) throw badInput(`batch must be a positive integer, got ${req.batch}`);
  if ('durationS' in req.length && !(req.length.durationS > 0)) throw badInput(`run duration must be positive, got ${req.length.durationS} s`);
  if ('batches' in req.length && (!Number.isInteger(req.length.batches) || req.length.batches < 1))
    throw badInput(`batch count must be a positive integer, got ${req.length.batches}`);
  if (req.concurrency !== undefined && (!Number.isInteger(req.concurrency) || req.concurrency < 1))
    throw badInput(`concurrency must be a positive integer, got ${req.concurrency}`);
}

export class BackendRunner<P> implements WorkloadRunner {
  readonly kind: WorkloadKind;
  readonly description: string;
  private readonly prepared = new Map<number, P>();

  constructor(private readonly o: BackendRunnerOptions<P>) {
    this.kind = o.kind;
    this.description = o.description;
  }

  get backend(): InferenceBackend {
    return this.o.backend;
  }

  async run(req: RunRequest): Promise<RunResult> {
    checkRunRequest(req);
    let body = this.prepared.get(req.batch);
    if (body === undefined) {
      body = this.o.sender.prepare(this.o.inputs.batch(req.batch));
      this.prepared.set(req.batch, body);
    }
    const payload = body;
    const lanes = req.concurrency ?? this.o.defaultConcurrency ?? 1;
    const maxErrors = this.o.maxErrors ?? 5;
    const latencies: number[] = [];
    const errors = new ErrorTally();
    let energyJ: number | undefined = 0;
    let started = 0;
    let lastEnd = 0;
    req.onStart?.();
    const t0 = performance.now();
    const deadline = 'durationS' in req.length ? t0 + req.length.durationS * 1000 : Number.POSITIVE_INFINITY;
    const limit = 'batches' in req.length ? req.length.batches : Number.POSITIVE_INFINITY;
    const more = () => !req.signal?.aborted && errors.count < maxErrors && started < limit && performance.now() < deadline;

    const lane = async () => {
      while (more()) {
        started++;
        const s = performance.now();
        try {
          const r = await this.o.sender.send(payload);
          const e = performance.now();
          latencies.push(e - s);
          lastEnd = Math.max(lastEnd, e);
          energyJ = r.energyJ === undefined || energyJ === undefined ? undefined : energyJ + r.energyJ;
        } catch (err) {
          if (!isWorkloadError(err)) throw err; // a bad option or input: not a measurement, stop now
          errors.add(err.message);
        }
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    const wallS = latencies.length === 0 ? (performance.now() - t0) / 1000 : (lastEnd - t0) / 1000;
    return {
      batch: req.batch,
      batchLatenciesMs: latencies,
      served: latencies.length * req.batch,
      errors: errors.count,
      errorReasons: errors.reasons,
      wallS,
      ...(energyJ === undefined || latencies.length === 0 ? {} : { energyJ }),
    };
  }

  async close(): Promise<void> {
    if (this.o.ownsBackend ?? true) await this.o.backend.close();
  }
}

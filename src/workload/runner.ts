/**
 * The one interface every workload runner implements, whatever executes the model: the device twin
 * (`sim`), onnxruntime in worker threads (`onnx`), a KServe v2 endpoint such as Triton (`http`), or
 * a benchmark program such as trtexec (`command`). The measured trial (src/measure) drives a runner
 * and meters power around it; the benchmarks drive it directly.
 */
import { mulberry32 } from '../numerics/random.ts';

export type WorkloadKind = 'sim' | 'onnx' | 'http' | 'command';

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['sim', 'onnx', 'http', 'command'];

/** How long one run lasts: a timed window, or a count of batches. */
export type RunLength = { readonly durationS: number } | { readonly batches: number };

export interface RunRequest {
  readonly batch: number;
  readonly length: RunLength;
  /**
   * Batches kept in flight at once (default 1: back-to-back). An `http` runner keeps this many
   * requests open; in-process runners are limited by their worker count.
   */
  readonly concurrency?: number;
  /**
   * Called once, when the measured part starts (just before the first batch is sent; for a
   * program, when its first latency line appears). The trial opens its energy window here so
   * that start-up work is not billed to the queries.
   */
  readonly onStart?: () => void;
  /** Aborts the run; what finished so far is returned. */
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly batch: number;
  /** Client-side latency of each completed batch, ms, in completion order. */
  readonly batchLatenciesMs: readonly number[];
  /** Queries served in the measured part (completed batches × batch size). */
  readonly served: number;
  /** Batches that failed; any failure makes a measurement invalid, never averaged in. */
  readonly errors: number;
  /** Distinct failure reasons, first seen first (at most a handful). */
  readonly errorReasons: readonly string[];
  /** Wall time from `onStart` to the end of the last batch, s. */
  readonly wallS: number;
  /** Energy the runner attributes to the served batches itself (the twin), J. */
  readonly energyJ?: number;
}

export interface WorkloadRunner {
  readonly kind: WorkloadKind;
  /** One line for logs, e.g. "onnx efficientnet-b0.onnx · 1 worker × 2 threads". */
  readonly description: string;
  run(req: RunRequest): Promise<RunResult>;
  close(): Promise<void>;
}

/**
 * Per-request latencies of a run, ms. Without an arrival rate (saturated) every request of a batch
 * waits for the whole batch: its latency is the batch's. With Poisson arrivals at rate λ (the twin
 * assumes the same), the k-th of b requests of a batch (k = 0 first) also waited for the b − 1 − k
 * arrivals after it, an Erlang(b − 1 − k, λ) time, drawn from a seeded generator.
 */
export function requestLatenciesMs(result: Pick<RunResult, 'batch' | 'batchLatenciesMs'>, rateRps?: number, seed = 1): number[] {
  const b = result.batch;
  const out: number[] = new Array(result.batchLatenciesMs.length * b);
  const rnd = mulberry32(seed);
  let i = 0;
  for (const s of result.batchLatenciesMs) {
    for (let k = 0; k < b; k++) {
      let waitS = 0;
      if (rateRps !== undefined) for (let m = 0; m < b - 1 - k; m++) waitS -= Math.log(1 - rnd()) / rateRps;
      out[i++] = s + waitS * 1000;
    }
  }
  return out;
}

/** Keeps the first few distinct failure reasons. */
export class ErrorTally {
  count = 0;
  readonly reasons: string[] = [];
  constructor(private readonly keep = 5) {}
  add(reason: string): void {
    this.count++;
    if (this.reasons.length < this.keep && !this.reasons.includes(reason)) this.reasons.push(reason);
  }
}

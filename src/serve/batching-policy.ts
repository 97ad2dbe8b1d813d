/**
 * The batching policy's formulas, as pure functions (documented in the README's `serve` section).
 *
 * One batch runs at a time on the device. A request that arrives to an idle server waits at most
 * the queue delay D for its batch to fill; in the worst case the device has just started another
 * batch when D expires, so the request waits for that one (≤ S) and then its own (S):
 *
 *     latency ≤ D + 2·S    ⇒    D = clamp(L·(1 − m) − 2·S, 0, Dmax)
 *
 * with L the SLO latency, m the serving margin (`SLO_MARGINS.serving`, 10 %) and S the SLO's quantile (p99) of
 * the measured batch service time at the maximum batch size (see service-time.ts). Waiting therefore never breaks the SLO by
 * itself. Under load, admission control predicts a new request's latency from the work queued ahead
 * of it and refuses it (503 + Retry-After) when the prediction exceeds L·(1 − m), so admitted
 * requests keep their latency and the queue stays bounded.
 */
import { latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';

/** Longest time the oldest queued request waits for its batch to fill, ms. */
export function queueDelayMs(slo: Slo, serviceMs: number, opts: { margin?: number; maxDelayMs?: number } = {}): number {
  const d = latencyLimitMs(slo, opts.margin ?? SLO_MARGINS.serving) - 2 * serviceMs;
  return Math.max(0, Math.min(opts.maxDelayMs ?? Number.POSITIVE_INFINITY, d));
}

/** Work already committed to the device when a request arrives, per model. */
export interface QueuedWork {
  /** Rows waiting in the model's queue. */
  readonly queuedRows: number;
  readonly maxBatch: number;
  /** Estimated service time of a batch of `rows` rows, ms. */
  readonly serviceMs: (rows: number) => number;
}

/**
 * Predicted latency of a request of `rows` rows for model `target`: the rest of the running batch,
 * then every batch queued ahead (all models share the device; full batches, then the partial one),
 * then its own batch.
 */
export function predictedLatencyMs(target: string, rows: number, work: ReadonlyMap<string, QueuedWork>, runningRemainingMs: number): number {
  let t = Math.max(0, runningRemainingMs);
  for (const [name, w] of work) {
    const q = name === target ? w.queuedRows + rows : w.queuedRows;
    const full = Math.floor(q / w.maxBatch);
    const rest = q - full * w.maxBatch;
    if (full > 0) t += full * w.serviceMs(w.maxBatch);
    if (rest > 0) t += w.serviceMs(rest);
  }
  return t;
}

/** Retry-After for a refused request: time for the work ahead to shrink to the budget, seconds (≥ 1). */
export function retryAfterS(predictedMs: number, budgetMs: number): number {
  return Math.max(1, Math.ceil((predictedMs - budgetMs) / 1000));
}

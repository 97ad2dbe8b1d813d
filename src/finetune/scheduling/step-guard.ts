import { normalQuantile } from '../../numerics/quantile-functions.ts';

/**
 * The runtime rule for starting one part of a fine-tuning step while inference requests may be
 * waiting: the device time-shares and a part is not preemptible, so the oldest queued request waits
 * for the whole part and then for its own batch. A part may start only when that still meets the
 * SLO at the part's predicted upper bound. With nothing queued the next arrival could come at once,
 * so the part and one batch must fit the SLO by themselves.
 */
export function partMayStart(o: {
  readonly sloMs: number;
  /** Upper bound of one part followed by one inference batch (the predictor's co-run interval), ms. */
  readonly coRunUpperMs: number;
  /** How long the oldest queued request has waited, ms (0 when nothing is queued). */
  readonly oldestWaitMs: number;
}): boolean {
  return o.oldestWaitMs + o.coRunUpperMs <= o.sloMs;
}

/**
 * The co-run bound the scheduler holds a part to: the predictor's upper bound, or the one-sided bound
 * at the SLO's quantile (mean + z_q·sd) when that is higher — a part that overruns delays every
 * request queued behind it, so for a p99 SLO a part may overrun its bound about 1 % of the time, not
 * the 5 % a 90 % interval allows.
 */
export function coRunBoundMs(p: { readonly meanMs: number; readonly upperMs: number; readonly sdMs: number }, quantile: number): number {
  return Math.max(p.upperMs, p.meanMs + normalQuantile(quantile) * p.sdMs);
}

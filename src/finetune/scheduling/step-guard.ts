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

import { normalQuantile } from '../../numerics/quantile-functions.ts';

/** Window over which attainment is judged by default, seconds (a replay's first 20–30 s, a dashboard's panel). */
export const ATTAINMENT_WINDOW_S = 20;
/** Confidence that a window's attainment stays at or above the SLO quantile. */
export const ATTAINMENT_CONFIDENCE = 0.95;

/**
 * The quantile a configuration's latency must meet so that, over a window of `rateRps × windowS`
 * requests, the share of requests within the SLO stays ≥ `q` with probability `confidence`: misses
 * in a window are binomial, so the miss probability p must satisfy p + z·√(p/n) ≤ 1 − q (normal
 * approximation, 1 − p ≈ 1). At 80 req/s over 20 s, p99 becomes p99.33; at 5 req/s, p99.78.
 */
export function quantileWithMargin(q: number, rateRps: number, windowS = ATTAINMENT_WINDOW_S, confidence = ATTAINMENT_CONFIDENCE): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  const n = rateRps * windowS;
  if (!(n >= 1)) return q;
  const a = normalQuantile(confidence) / Math.sqrt(n);
  const x = (-a + Math.sqrt(a * a + 4 * (1 - q))) / 2;
  return 1 - x * x;
}

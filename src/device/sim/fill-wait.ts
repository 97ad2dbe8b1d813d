/**
 * Waiting time of a request for its batch to fill, with Poisson arrivals at rate λ: the request that
 * arrives k-th of B waits for B−k more arrivals, an Erlang(B−k, λ) time; a random request is a uniform
 * mixture over k. Quantiles are found by bisection on the mixture CDF.
 */

/** P(Erlang(m, λ) ≤ t). */
function erlangCdf(m: number, lambda: number, t: number): number {
  if (m === 0) return 1;
  const x = lambda * t;
  let term = Math.exp(-x);
  let sum = term;
  for (let i = 1; i < m; i++) {
    term *= x / i;
    sum += term;
  }
  return 1 - sum;
}

function mixtureCdf(batch: number, lambda: number, t: number): number {
  let s = 0;
  for (let m = 0; m < batch; m++) s += erlangCdf(m, lambda, t);
  return s / batch;
}

const cache = new Map<string, number>();

/** Quantile q of the batch-fill wait, seconds (0 at batch 1). */
export function fillWaitQuantileS(batch: number, rateRps: number, q: number): number {
  if (batch <= 1) return 0;
  const key = `${batch}|${rateRps}|${q}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let lo = 0;
  let hi = (batch + 10 * Math.sqrt(batch) + 10) / rateRps;
  while (mixtureCdf(batch, rateRps, hi) < q) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mixtureCdf(batch, rateRps, mid) < q) lo = mid;
    else hi = mid;
  }
  if (cache.size > 10000) cache.clear();
  cache.set(key, hi);
  return hi;
}

/**
 * Queueing delay for the GPU at quantile q (Kingman's G/G/1 approximation with Erlang-B batch
 * inter-arrivals and deterministic service), seconds. `utilisation` must be below 1.
 */
export function queueWaitQuantileS(batch: number, serviceS: number, utilisation: number, q: number): number {
  const rho = utilisation;
  if (rho <= 0 || rho >= 1) return rho <= 0 ? 0 : Number.POSITIVE_INFINITY;
  const ca2 = 1 / batch;
  const meanWait = (rho / (1 - rho)) * (ca2 / 2) * serviceS;
  if (1 - q >= rho) return 0;
  return (meanWait / rho) * Math.log(rho / (1 - q));
}

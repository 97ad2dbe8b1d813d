/**
 * Seeded measurement noise. Every draw is a pure function of (seed, a key, a counter), so the same
 * seed gives the same numbers whatever order other configurations are measured in.
 */
/** Standard normal draw (Box–Muller). */
export function gaussian(u: () => number): number {
  const u1 = Math.max(u(), 1e-12);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
}

/** Multiplicative factors for one measurement window. */
export interface WindowNoise {
  /** Scales service time (latency up, throughput down). */
  readonly service: number;
  /** Extra tail-latency factor: jitter around 1 (median 1) plus rare stalls (× 1.5–3). */
  readonly tail: number;
  /** Scales power readings. */
  readonly power: number;
  readonly outlier: boolean;
}

export const OUTLIER_PROBABILITY = 0.02;

/** Noise of one window: `level` is the relative standard deviation (0.03 = 3 %); 0 gives exact values. */
export function windowNoise(level: number, u: () => number): WindowNoise {
  if (level <= 0) return { service: 1, tail: 1, power: 1, outlier: false };
  const service = Math.exp(level * gaussian(u));
  const power = Math.exp(0.6 * level * gaussian(u));
  // Extra jitter of the tail quantile around its true value, symmetric in log: a window's p99 reads
  // as often below the exact one as above it (|N| here made every window read high, +2.4 % on average).
  let tail = Math.exp(level * gaussian(u));
  const outlier = u() < OUTLIER_PROBABILITY;
  let p = power;
  if (outlier) {
    // A stall (thermal event, background job, page-cache miss): the tail jumps, power spikes a little.
    tail *= 1.5 + 1.5 * u();
    p *= 1.05 + 0.1 * u();
  }
  return { service, tail, power: p, outlier };
}

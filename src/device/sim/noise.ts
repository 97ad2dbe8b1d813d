/**
 * Seeded measurement noise. Every draw is a pure function of (seed, a key, a counter), so the same
 * seed gives the same numbers whatever order other configurations are measured in.
 */
import { gaussian } from '../../numerics/random.ts';

/** Multiplicative factors for one measurement window. */
export interface WindowNoise {
  /** Scales service time (latency up, throughput down). */
  readonly service: number;
  /** Extra tail-latency factor: jitter around 1 (median 1) times the stall factor (`tailJitter × stall`). */
  readonly tail: number;
  /** Jitter of the tail quantile's excess over the median (median 1). */
  readonly tailJitter: number;
  /** Rare stall (× 1.5–3 on the tail), else 1. */
  readonly stall: number;
  /** Scales power readings. */
  readonly power: number;
  readonly outlier: boolean;
}

export const OUTLIER_PROBABILITY = 0.02;

/** Noise of one window: `level` is the relative standard deviation (0.03 = 3 %); 0 gives exact values. */
export function windowNoise(level: number, u: () => number): WindowNoise {
  if (level <= 0) return { service: 1, tail: 1, tailJitter: 1, stall: 1, power: 1, outlier: false };
  const service = Math.exp(level * gaussian(u));
  const power = Math.exp(0.6 * level * gaussian(u));
  // Extra jitter of the tail quantile around its true value, symmetric in log: a window's p99 reads
  // as often below the exact one as above it (|N| here made every window read high, +2.4 % on average).
  const tailJitter = Math.exp(level * gaussian(u));
  const outlier = u() < OUTLIER_PROBABILITY;
  let p = power;
  let stall = 1;
  if (outlier) {
    // A stall (thermal event, background job, page-cache miss): the tail jumps, power spikes a little.
    stall = 1.5 + 1.5 * u();
    p *= 1.05 + 0.1 * u();
  }
  return { service, tail: tailJitter * stall, tailJitter, stall, power: p, outlier };
}

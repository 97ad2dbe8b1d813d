import { mulberry32 } from '../core/random.ts';

/** Seeded randomness for virtual-time replays (mulberry32 + Box–Muller). */
export class Rng {
  private readonly uniform: () => number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.uniform = mulberry32(seed >>> 0 || 0x9e3779b9);
  }
  next(): number {
    return this.uniform();
  }
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Multiplicative noise factor with log-standard-deviation `sigma` (mean ≈ 1). */
  factor(sigma: number): number {
    return sigma > 0 ? Math.exp(sigma * this.normal() - (sigma * sigma) / 2) : 1;
  }
  exponential(rate: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) / rate;
  }
}

/** Poisson arrival times (ms) at `rateRps` over `durationMs`. */
export function poissonArrivals(rateRps: number, durationMs: number, seed: number): number[] {
  if (!(rateRps > 0)) throw new RangeError(`arrival rate must be > 0 requests/s, got ${rateRps}`);
  const rng = new Rng(seed);
  const out: number[] = [];
  for (let t = rng.exponential(rateRps / 1000); t < durationMs; t += rng.exponential(rateRps / 1000)) out.push(t);
  return out;
}

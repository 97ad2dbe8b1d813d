/** Seeded randomness for virtual-time replays (mulberry32 + Box–Muller). */
export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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

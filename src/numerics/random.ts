/**
 * The project's one home for seeded randomness: the same seed gives the same stream, so simulated
 * noise, generated weights and inputs, the optimiser's random choices and virtual-time replays are
 * reproducible.
 *
 * Two uniform bit generators are kept because existing seeds must keep producing the same streams:
 * mulberry32 (the twin's keyed noise, generated weights and inputs, fine-tuning replays) and sfc32
 * seeded through splitmix32 (the optimiser). Every distribution is drawn from a uniform stream by the
 * functions below, whichever generator feeds it.
 */

/** A source of uniforms in [0, 1). */
export type Uniform = () => number;

/** mulberry32: a small, fast, well-mixed 32-bit generator returning uniforms in [0, 1). */
export function mulberry32(seed: number): Uniform {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** sfc32 seeded through splitmix32 (its first 12 outputs discarded): uniforms in [0, 1). */
export function sfc32(seed: number): Uniform {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** 32-bit FNV-1a of a string, mixed with a seed: a seed for one keyed stream. */
export function hash32(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Box–Muller on two uniforms u, v: a pair of independent standard normals. The first (cosine) is what
 * a single draw uses; the second (sine) is kept by `Random.normal` for its next call.
 */
export function boxMuller(u: number, v: number): readonly [number, number] {
  const r = Math.sqrt(-2 * Math.log(Math.max(u, 1e-12)));
  return [r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v)];
}

/** One standard normal draw from two uniforms of the stream (the first of `boxMuller`). */
export function gaussian(uniform: Uniform): number {
  const u = uniform();
  return boxMuller(u, uniform())[0];
}

/** A seeded stream with the distributions the project draws from. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller; the pair's second value serves the next call). */
  normal(): number;
  /** Multiplicative noise factor with log-standard-deviation `sigma` (mean ≈ 1). */
  factor(sigma: number): number;
  /** Exponential with the given rate. */
  exponential(rate: number): number;
}

export type Generator = 'sfc32' | 'mulberry32';

/**
 * A seeded stream. `sfc32` (the default) is the optimiser's; `mulberry32` is the replays' (there seed
 * 0 is replaced by the golden-ratio constant, as mulberry32 starts poorly from 0).
 */
export function createRandom(seed: number, generator: Generator = 'sfc32'): Random {
  const next = generator === 'sfc32' ? sfc32(seed) : mulberry32(seed >>> 0 || 0x9e3779b9);
  let spare: number | undefined;
  const positive = (): number => {
    let u = 0;
    while (u === 0) u = next();
    return u;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal() {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      const u = positive();
      const [a, b] = boxMuller(u, next());
      spare = b;
      return a;
    },
    factor(sigma) {
      return sigma > 0 ? Math.exp(sigma * this.normal() - (sigma * sigma) / 2) : 1;
    },
    exponential: (rate) => -Math.log(positive()) / rate,
  };
}

/** Poisson arrival times (ms) at `rateRps` over `durationMs`. */
export function poissonArrivals(rateRps: number, durationMs: number, seed: number): number[] {
  if (!(rateRps > 0)) throw new RangeError(`arrival rate must be > 0 requests/s, got ${rateRps}`);
  const rng = createRandom(seed, 'mulberry32');
  const out: number[] = [];
  for (let t = rng.exponential(rateRps / 1000); t < durationMs; t += rng.exponential(rateRps / 1000)) out.push(t);
  return out;
}

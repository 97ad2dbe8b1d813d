/**
 * Quasi-random initial designs: a Halton sequence with a random (Cranley–Patterson) shift, snapped
 * to the discrete grid, skipping invalid and repeated points.
 */
import type { Random } from '../numerics/random.ts';
import { pointKey, type SearchSpace, snapToIndices } from './search-space.ts';

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/** Radical inverse of i in base b (van der Corput). */
export function radicalInverse(i: number, b: number): number {
  let f = 1;
  let r = 0;
  while (i > 0) {
    f /= b;
    r += f * (i % b);
    i = Math.floor(i / b);
  }
  return r;
}

/** The i-th point (1-based) of the d-dimensional Halton sequence, shifted by `shift` modulo 1. */
export function haltonPoint(i: number, d: number, shift: ArrayLike<number>): Float64Array {
  if (d > PRIMES.length) throw new Error(`Halton design supports at most ${PRIMES.length} dimensions`);
  const u = new Float64Array(d);
  for (let k = 0; k < d; k++) u[k] = (radicalInverse(i, PRIMES[k]!) + shift[k]!) % 1;
  return u;
}

/**
 * `count` distinct valid grid points spread quasi-uniformly over the space. Points in `exclude`
 * are skipped. Returns fewer when the space runs out.
 */
export function initialDesign(space: SearchSpace, count: number, rng: Random, exclude: ReadonlySet<string> = new Set()): number[][] {
  const d = space.dims.length;
  const shift = Array.from({ length: d }, () => rng.next());
  const seen = new Set(exclude);
  const out: number[][] = [];
  for (let i = 1; out.length < count && i < 200 * count + 1000; i++) {
    const p = snapToIndices(space, haltonPoint(i, d, shift));
    const key = pointKey(p);
    if (seen.has(key) || (space.isValid && !space.isValid(p))) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

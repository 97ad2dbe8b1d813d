/**
 * Baseline search strategies the constrained BO is compared against: uniform random search, a coarse
 * grid visited in random order, and exhaustive enumeration (the ground truth on small grids).
 */
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createRandom, type Random } from '../numerics/random.ts';
import { checkSpace, enumerateGrid, gridPoint, pointKey, type SearchSpace } from './search-space.ts';

function shuffle<T>(a: T[], rng: Random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Visits a fixed list of points in order. */
class ListSearch implements Optimizer {
  private next = 0;
  private readonly visited = new Set<string>();
  constructor(
    readonly name: string,
    private readonly source: 'random' | 'grid' | 'exhaustive',
    private readonly points: number[][],
  ) {}
  suggest(): Suggestion | null {
    const t0 = performance.now();
    while (this.next < this.points.length) {
      const p = this.points[this.next++]!;
      if (!this.visited.has(pointKey(p))) return { point: p, source: this.source, suggestMs: performance.now() - t0 };
    }
    return null;
  }
  observe(o: Observation): void {
    this.visited.add(pointKey(o.point));
  }
}

/** Uniformly random valid points without repetition (the grid is enumerated up to `maxGridPoints`). */
export function randomSearch(space: SearchSpace, seed = 0, maxGridPoints = 2_000_000): Optimizer {
  checkSpace(space);
  const g = enumerateGrid(space, maxGridPoints);
  if (!g) throw new Error('random search: the space is too large to enumerate');
  const pts = Array.from({ length: g.size }, (_, i) => gridPoint(g, i));
  return new ListSearch('random', 'random', shuffle(pts, createRandom(seed)));
}

/** Evenly spaced level indices: k of n (always including both ends when k ≥ 2). */
export function levels(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k <= 1) return [n - 1];
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.round((i * (n - 1)) / (k - 1)));
  return [...out].sort((a, b) => a - b);
}

/**
 * A coarse grid of at most `budget` valid points: evenly spaced levels per dimension, grown one
 * dimension at a time (the one with the fewest levels relative to its table first) while the valid
 * grid still fits the budget; visited in a seeded random order so that a truncated run is not
 * biased to one corner.
 */
export function gridSearch(space: SearchSpace, budget: number, seed = 0): Optimizer {
  checkSpace(space);
  const sizes = space.dims.map((d) => d.values.length);
  const build = (k: readonly number[]) => {
    let all: number[][] = [[]];
    k.forEach((kk, i) => {
      const lv = levels(sizes[i]!, kk);
      all = all.flatMap((p) => lv.map((v) => [...p, v]));
    });
    return all.filter((p) => !space.isValid || space.isValid(p));
  };
  const k = sizes.map(() => 1);
  let chosen = build(k);
  for (;;) {
    const order = sizes
      .map((n, i) => ({ i, room: n > k[i]! ? k[i]! / n : Number.POSITIVE_INFINITY }))
      .filter((x) => Number.isFinite(x.room))
      .sort((a, b) => a.room - b.room);
    let grown = false;
    for (const { i } of order) {
      const next = k.slice();
      next[i] = next[i]! + 1;
      const pts = build(next);
      if (pts.length <= budget) {
        k[i] = next[i]!;
        chosen = pts;
        grown = true;
        break;
      }
    }
    if (!grown) break;
  }
  return new ListSearch('grid', 'grid', shuffle(chosen, createRandom(seed)));
}

/** Every valid point in grid order. */
export function exhaustiveSearch(space: SearchSpace, maxGridPoints = 2_000_000): Optimizer {
  checkSpace(space);
  const g = enumerateGrid(space, maxGridPoints);
  if (!g) throw new Error('exhaustive search: the space is too large to enumerate');
  return new ListSearch(
    'exhaustive',
    'exhaustive',
    Array.from({ length: g.size }, (_, i) => gridPoint(g, i)),
  );
}

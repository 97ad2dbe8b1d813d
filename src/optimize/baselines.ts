/**
 * Baseline search strategies the constrained BO is compared against: uniform random search, a coarse
 * grid visited in random order, and exhaustive enumeration (the ground truth on small grids).
 */
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createRng, type Rng } from './rng.ts';
import { checkSpace, enumerateGrid, gridPoint, pointKey, type SearchSpace } from './search-space.ts';

function shuffle<T>(a: T[], rng: Rng): T[] {
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
  return new ListSearch('random', 'random', shuffle(pts, createRng(seed)));
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
 * A coarse grid of about `budget` valid points (the same number of levels on every dimension, as
 * many as fit), visited in a seeded random order so that a truncated run is not biased to one corner.
 */
export function gridSearch(space: SearchSpace, budget: number, seed = 0): Optimizer {
  checkSpace(space);
  const maxLevels = Math.max(...space.dims.map((d) => d.values.length));
  let chosen: number[][] = [];
  for (let k = 1; k <= maxLevels; k++) {
    const lv = space.dims.map((dim) => levels(dim.values.length, k));
    const pts: number[][] = [[]];
    let all = pts;
    for (const l of lv) all = all.flatMap((p) => l.map((v) => [...p, v]));
    const valid = all.filter((p) => !space.isValid || space.isValid(p));
    if (valid.length > budget && chosen.length > 0) break;
    chosen = valid;
    if (valid.length >= budget) break;
  }
  return new ListSearch('grid', 'grid', shuffle(chosen, createRng(seed)));
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

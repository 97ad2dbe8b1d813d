/**
 * Maximising the constrained acquisition over a discrete search space, every strategy in one place:
 *
 * - a grid small enough to enumerate is scored at every unvisited point, either exactly with cached
 *   grid tables and bound pruning ('fast', grid-scorer.ts) or by predicting both GPs at every point
 *   ('plain', the reference the fast path is checked and benchmarked against); both pick the same
 *   point, the first grid index among equal best values;
 * - a larger space is sampled at random valid points and the best few samples are refined by
 *   coordinate-wise local search (every value of one dimension at a time).
 *
 * The maximiser also keeps the set of measured points, which it never proposes.
 */
import { type AcquisitionMode, scoreAcquisition } from './acquisition.ts';
import type { Gp } from './gp.ts';
import { GridScorer } from './grid-scorer.ts';
import type { Random } from '../numerics/random.ts';
import { createEncoder, dimensionCoordinates, enumerateGrid, type Grid, gridPoint, pointKey, type SearchSpace } from './search-space.ts';

export interface AcquisitionSearchOptions {
  /** Largest Cartesian product scored exhaustively (default 50 000). */
  readonly maxGridPoints?: number;
  /** Candidates sampled when the grid is too large (default 4096). */
  readonly sampleSize?: number;
  /** How an enumerated grid is scored (default 'fast'); see the file comment. */
  readonly gridScoring?: 'fast' | 'plain';
}

export interface SurrogateModels {
  readonly objective: Gp;
  readonly constraint: Gp;
  /**
   * Prior means added to the GPs' predictions (the GPs then model the residual from the prior):
   * objective and constraint at a point, same units as the observations. Absent = none.
   */
  readonly prior?: PriorMean;
  /** Which of the two GPs model a residual from the prior (each chosen by its evidence). */
  readonly residual?: { readonly objective: boolean; readonly constraint: boolean };
}

/** A prior mean of both outputs at a point of the search space (e.g. a simulator's prediction). */
export type PriorMean = (point: readonly number[]) => { readonly objective: number; readonly constraint: number };

export interface AcquisitionPick {
  readonly point: number[];
  readonly value: number;
  readonly mode: AcquisitionMode;
}

/** Starts of the local search: the best samples. */
const LOCAL_SEARCH_STARTS = 5;
/** Sweeps over every dimension per start, at most. */
const LOCAL_SEARCH_ROUNDS = 10;

export class AcquisitionMaximiser {
  /** The enumerated valid grid, or null when the space is searched by sampling. */
  readonly grid: Grid | null;
  private readonly space: SearchSpace;
  private readonly rng: Random;
  private readonly encode: ReturnType<typeof createEncoder>;
  private readonly scorer: GridScorer | null;
  private readonly sampleSize: number;
  private readonly measured = new Set<string>();
  /** The prior over the enumerated grid (objective, constraint per grid index), computed once. */
  private gridPrior: { readonly prior: PriorMean; readonly objective: Float64Array; readonly constraint: Float64Array } | null = null;

  constructor(space: SearchSpace, rng: Random, opts: AcquisitionSearchOptions = {}) {
    this.space = space;
    this.rng = rng;
    this.encode = createEncoder(space);
    this.sampleSize = opts.sampleSize ?? 4096;
    this.grid = enumerateGrid(space, opts.maxGridPoints ?? 50_000);
    if (this.grid && this.grid.size === 0) throw new Error('search space has no valid point');
    this.scorer = this.grid && opts.gridScoring !== 'plain' ? new GridScorer(this.grid, space.dims.map(dimensionCoordinates)) : null;
  }

  /** Keys (`pointKey`) of the points marked measured. */
  get visited(): ReadonlySet<string> {
    return this.measured;
  }

  /** Every point of the enumerated grid is measured. */
  get exhausted(): boolean {
    return this.grid !== null && this.measured.size >= this.grid.size;
  }

  /** A point was measured: it is not proposed again. */
  markVisited(point: readonly number[]): void {
    const key = pointKey(point);
    this.measured.add(key);
    this.scorer?.markVisited(key);
  }

  /**
   * The unvisited point of largest acquisition (log EI × PoF below `threshold`, or log PoF alone
   * when `best` is null), or null when no point is left.
   */
  maximise(models: SurrogateModels, threshold: number, best: number | null): AcquisitionPick | null {
    if (!this.grid) return this.bySampling(models, threshold, best);
    return this.scorer ? this.onGridFast(models, threshold, best) : this.onGridPlain(models, threshold, best);
  }

  private onGridFast(models: SurrogateModels, threshold: number, best: number | null): AcquisitionPick | null {
    const offsets = this.gridOffsets(models);
    const p = this.scorer!.pick(
      {
        objective: models.objective.posterior,
        constraint: models.constraint.posterior,
        ...(offsets.objective ? { objectiveOffset: offsets.objective } : {}),
        ...(offsets.constraint ? { constraintOffset: offsets.constraint } : {}),
      },
      threshold,
      best,
    );
    if (!p) return null;
    return { point: gridPoint(this.grid!, p.index), value: p.value, mode: p.mode };
  }

  private onGridPlain(models: SurrogateModels, threshold: number, best: number | null): AcquisitionPick | null {
    const g = this.grid!;
    const d = g.d;
    const keep: number[] = [];
    for (let i = 0; i < g.size; i++) if (!this.measured.has(pointKey(g.indices.subarray(i * d, (i + 1) * d)))) keep.push(i);
    if (keep.length === 0) return null;
    const x = new Float64Array(keep.length * d);
    keep.forEach((gi, j) => {
      x.set(g.x.subarray(gi * d, (gi + 1) * d), j * d);
    });
    const { mode, values } = score(models, threshold, best, x, keep.length, (j) => gridPoint(g, keep[j]!));
    let bi = 0;
    for (let j = 1; j < values.length; j++) if (values[j]! > values[bi]!) bi = j;
    return { point: gridPoint(g, keep[bi]!), value: values[bi]!, mode };
  }

  private bySampling(models: SurrogateModels, threshold: number, best: number | null): AcquisitionPick | null {
    const cands = this.sampleCandidates();
    if (cands.length === 0) return null;
    const scored = score(models, threshold, best, this.encodeAll(cands), cands.length, (j) => cands[j]!);
    const order = Array.from(cands.keys()).sort((a, b) => scored.values[b]! - scored.values[a]!);
    let bestPoint = cands[order[0]!]!;
    let bestValue = scored.values[order[0]!]!;
    for (const start of order.slice(0, LOCAL_SEARCH_STARTS)) {
      const r = this.localSearch(models, threshold, best, cands[start]!, scored.values[start]!);
      if (r.value > bestValue) {
        bestValue = r.value;
        bestPoint = r.point;
      }
    }
    return { point: bestPoint, value: bestValue, mode: scored.mode };
  }

  /** Up to `sampleSize` random valid points, distinct and unvisited. */
  private sampleCandidates(): number[][] {
    const cands: number[][] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.sampleSize; i++) {
      const p = this.randomValidPoint();
      if (!p) break;
      const k = pointKey(p);
      if (this.measured.has(k) || keys.has(k)) continue;
      keys.add(k);
      cands.push(p);
    }
    return cands;
  }

  private randomValidPoint(): number[] | null {
    for (let tries = 0; tries < 1000; tries++) {
      const p = this.space.dims.map((dim) => this.rng.int(dim.values.length));
      if (!this.space.isValid || this.space.isValid(p)) return p;
    }
    return null;
  }

  /** Coordinate-wise ascent from `start`: moves to the best valid unvisited value of one dimension at a time. */
  private localSearch(models: SurrogateModels, threshold: number, best: number | null, start: number[], startValue: number) {
    let cur = start.slice();
    let curV = startValue;
    for (let round = 0; round < LOCAL_SEARCH_ROUNDS; round++) {
      let improved = false;
      for (let k = 0; k < this.space.dims.length; k++) {
        const pts = this.neighboursAlong(cur, k);
        if (pts.length === 0) continue;
        const s = score(models, threshold, best, this.encodeAll(pts), pts.length, (j) => pts[j]!);
        for (let i = 0; i < pts.length; i++)
          if (s.values[i]! > curV) {
            curV = s.values[i]!;
            cur = pts[i]!;
            improved = true;
          }
      }
      if (!improved) break;
    }
    return { point: cur, value: curV };
  }

  /** The valid unvisited points that differ from `p` in dimension k only. */
  private neighboursAlong(p: readonly number[], k: number): number[][] {
    const pts: number[][] = [];
    for (let v = 0; v < this.space.dims[k]!.values.length; v++) {
      if (v === p[k]) continue;
      const q = p.slice();
      q[k] = v;
      if ((this.space.isValid && !this.space.isValid(q)) || this.measured.has(pointKey(q))) continue;
      pts.push(q);
    }
    return pts;
  }

  /** The prior's offsets over the enumerated grid for the GPs that model a residual. */
  private gridOffsets(models: SurrogateModels): { objective?: Float64Array; constraint?: Float64Array } {
    if (!models.prior || !models.residual || (!models.residual.objective && !models.residual.constraint)) return {};
    const g = this.grid!;
    if (!this.gridPrior || this.gridPrior.prior !== models.prior) {
      const objective = new Float64Array(g.size);
      const constraint = new Float64Array(g.size);
      for (let i = 0; i < g.size; i++) {
        const v = models.prior(gridPoint(g, i));
        objective[i] = v.objective;
        constraint[i] = v.constraint;
      }
      this.gridPrior = { prior: models.prior, objective, constraint };
    }
    return {
      ...(models.residual.objective ? { objective: this.gridPrior.objective } : {}),
      ...(models.residual.constraint ? { constraint: this.gridPrior.constraint } : {}),
    };
  }

  private encodeAll(points: readonly number[][]): Float64Array {
    const d = this.space.dims.length;
    const x = new Float64Array(points.length * d);
    points.forEach((p, i) => {
      this.encode(p, x, i * d);
    });
    return x;
  }
}

/** Both surrogates' predictions at m points (m×d row-major, encoded), the prior added where a GP models a residual. */
export function predictModels(models: SurrogateModels, x: Float64Array, m: number, pointAt: (j: number) => readonly number[]) {
  const po = models.objective.predict(x, m);
  const pc = models.constraint.predict(x, m);
  const r = models.residual;
  if (models.prior && r && (r.objective || r.constraint))
    for (let j = 0; j < m; j++) {
      const v = models.prior(pointAt(j));
      if (r.objective) po.mean[j] = po.mean[j]! + v.objective;
      if (r.constraint) pc.mean[j] = pc.mean[j]! + v.constraint;
    }
  return { objective: po, constraint: pc };
}

/** The acquisition at m points (m×d row-major, encoded), predicting both GPs there. */
function score(models: SurrogateModels, threshold: number, best: number | null, x: Float64Array, m: number, pointAt: (j: number) => readonly number[]) {
  const { objective: po, constraint: pc } = predictModels(models, x, m, pointAt);
  return scoreAcquisition({ objMean: po.mean, objVar: po.variance, conMean: pc.mean, conVar: pc.variance, threshold, best });
}

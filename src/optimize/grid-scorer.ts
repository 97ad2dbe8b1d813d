/**
 * The constrained acquisition's argmax over a fixed enumerated grid, computed fast and exactly:
 *
 * - the grid never changes, so each point is a vector of per-dimension levels and its scaled
 *   squared distance to every observation is a sum of d entries of small per-dimension tables
 *   ((c_k[v] − x_ik)²/ℓ_k², built once per suggestion and GP: Σ_k levels_k × n values);
 * - the posterior means come first (n kernel values per point), with an upper bound on each
 *   variance (the prior variance less the Cauchy–Schwarz bound kᵀK⁻¹k ≥ max_i k_i²/K_ii, loosened
 *   by 1 % against rounding);
 * - log EI rises with σ at a fixed mean and log PoF is bounded by 0 (mean feasible) or rises with σ
 *   (mean infeasible), so every point gets an upper bound on its acquisition; the exact variance
 *   (the O(n²) part) is computed only for points whose bound can still reach the best exact value
 *   found so far, visited in decreasing order of the bound.
 *
 * The means and variances it evaluates repeat `Gp.predict`'s arithmetic operation for operation,
 * so the values are bitwise those of the plain path and the pick is the same point (the first
 * grid index among equal best values, as the plain scan picks).
 */
import { type AcquisitionMode, logExpectedImprovement, logProbabilityOfFeasibility } from './acquisition.ts';
import type { GpPosterior } from './gp.ts';
import type { Grid } from './search-space.ts';

const SQRT5 = Math.sqrt(5);
/** Share of the Cauchy–Schwarz variance reduction trusted by the bound (guards rounding in L⁻¹). */
const BOUND_TRUST = 0.99;

export interface GridPick {
  /** Grid index of the best unvisited point. */
  readonly index: number;
  readonly value: number;
  readonly mode: AcquisitionMode;
  /** Points whose exact variance had to be computed (the rest were pruned by their bound). */
  readonly evaluated: number;
  /** Unvisited points considered. */
  readonly candidates: number;
}

export interface GridModels {
  readonly objective: GpPosterior;
  readonly constraint: GpPosterior;
}

/** Per-suggestion, per-GP pass: means and variance upper bounds of the candidate points. */
interface Pass {
  readonly post: GpPosterior;
  readonly table: Float64Array;
  readonly mean: Float64Array;
  readonly varUb: Float64Array;
}

export class GridScorer {
  private readonly grid: Grid;
  private readonly coords: readonly Float64Array[];
  /** Row offset of dimension k's first level in the per-dimension tables. */
  private readonly levelOffset: Int32Array;
  private readonly levelCount: number;
  /** Per point and dimension: table row (levelOffset[k] + level). */
  private readonly rows: Int32Array;
  private readonly visited: Uint8Array;
  private readonly indexOfKey = new Map<string, number>();
  private unvisited: number;
  private readonly base: Int32Array;

  /** `coords[k]` = encoded coordinate of each value index of dimension k (as the grid's x uses). */
  constructor(grid: Grid, coords: readonly Float64Array[]) {
    if (coords.length !== grid.d) throw new Error(`grid scorer: ${coords.length} coordinate tables for ${grid.d} dimensions`);
    this.grid = grid;
    this.coords = coords;
    const d = grid.d;
    this.levelOffset = new Int32Array(d);
    let off = 0;
    for (let k = 0; k < d; k++) {
      this.levelOffset[k] = off;
      off += coords[k]!.length;
    }
    this.levelCount = off;
    this.rows = new Int32Array(grid.size * d);
    for (let g = 0; g < grid.size; g++)
      for (let k = 0; k < d; k++) this.rows[g * d + k] = this.levelOffset[k]! + grid.indices[g * d + k]!;
    for (let g = 0; g < grid.size; g++) this.indexOfKey.set(grid.indices.subarray(g * d, (g + 1) * d).join(','), g);
    this.visited = new Uint8Array(grid.size);
    this.unvisited = grid.size;
    this.base = new Int32Array(d);
  }

  /** Mark a point (by its key, as `pointKey` writes it) as measured; keys off the grid are ignored. */
  markVisited(key: string): void {
    const g = this.indexOfKey.get(key);
    if (g === undefined || this.visited[g] === 1) return;
    this.visited[g] = 1;
    this.unvisited--;
  }

  /** The best unvisited point, or null when every point has been visited. */
  pick(models: GridModels, threshold: number, best: number | null): GridPick | null {
    if (this.unvisited === 0) return null;
    const cand = new Int32Array(this.unvisited);
    let m = 0;
    for (let g = 0; g < this.grid.size; g++) if (this.visited[g] === 0) cand[m++] = g;
    const con = this.pass(models.constraint, cand);
    const obj = best === null ? null : this.pass(models.objective, cand);
    const mode: AcquisitionMode = best === null ? 'log-pof' : 'log-ei-pof';
    // upper bound of the acquisition at each candidate
    const ub = new Float64Array(m);
    let top = 0;
    for (let j = 0; j < m; j++) {
      const cm = con.mean[j]!;
      let u = cm <= threshold ? 0 : logProbabilityOfFeasibility(cm, con.varUb[j]!, threshold);
      if (obj) u += logExpectedImprovement(obj.mean[j]!, obj.varUb[j]!, best!);
      // a NaN bound cannot prune: evaluate that point
      ub[j] = Number.isNaN(u) ? Number.POSITIVE_INFINITY : u;
      if (ub[j]! > ub[top]!) top = j;
    }
    const ks = new Float64Array(Math.max(models.objective.n, models.constraint.n));
    // exact value, or −∞ as soon as a variance's running bound shows the point cannot reach the best
    const exact = (j: number): number => {
      const g = cand[j]!;
      const cm = con.mean[j]!;
      const om = obj ? obj.mean[j]! : 0;
      const eiUb = obj ? logExpectedImprovement(om, obj.varUb[j]!, best!) : 0;
      const cv =
        cm <= threshold
          ? this.variance(con, g, ks, con.varUb[j]!, null)
          : this.variance(con, g, ks, con.varUb[j]!, (vub) => reach(logProbabilityOfFeasibility(cm, vub, threshold) + eiUb));
      if (cv < 0) return Number.NEGATIVE_INFINITY;
      const lp = logProbabilityOfFeasibility(cm, cv, threshold);
      if (!obj) return lp;
      if (!reach(lp + eiUb)) return Number.NEGATIVE_INFINITY;
      const ov = this.variance(obj, g, ks, obj.varUb[j]!, (vub) => reach(logExpectedImprovement(om, vub, best!) + lp));
      if (ov < 0) return Number.NEGATIVE_INFINITY;
      return logExpectedImprovement(om, ov, best!) + lp;
    };
    // the point with the largest bound gives a first exact value; only points whose bound reaches
    // it are sorted and visited
    let bestJ = top;
    let bestV = Number.NEGATIVE_INFINITY;
    const reach = (u: number) => u + 1e-9 * (1 + Math.abs(u)) >= bestV || Number.isNaN(bestV) || Number.isNaN(u);
    bestV = exact(top);
    let evaluated = 1;
    const order: number[] = [];
    for (let j = 0; j < m; j++) if (j !== top && reach(ub[j]!)) order.push(j);
    order.sort((a, b) => ub[b]! - ub[a]! || a - b);
    for (const j of order) {
      if (!reach(ub[j]!)) break;
      const v = exact(j);
      evaluated++;
      // the plain scan keeps the first (lowest grid index) of equal values
      if (v > bestV || (v === bestV && j < bestJ) || (Number.isNaN(bestV) && !Number.isNaN(v))) {
        bestV = v;
        bestJ = j;
      }
    }
    return { index: cand[bestJ]!, value: bestV, mode, evaluated, candidates: m };
  }

  private pass(post: GpPosterior, cand: Int32Array): Pass {
    const { n, d, x, invLs2, alpha, kdiag, signalVariance: sf2, yMean, yStd } = post;
    if (d !== this.grid.d) throw new Error(`grid scorer: model has ${d} dimensions, grid ${this.grid.d}`);
    // table[(levelOffset[k] + v)·n + i] = (c_k[v] − x_ik)²/ℓ_k², as predict computes each term
    const table = new Float64Array(this.levelCount * n);
    for (let k = 0; k < d; k++) {
      const ck = this.coords[k]!;
      const il = invLs2[k]!;
      for (let v = 0; v < ck.length; v++) {
        const row = (this.levelOffset[k]! + v) * n;
        const c = ck[v]!;
        for (let i = 0; i < n; i++) {
          const diff = c - x[i * d + k]!;
          table[row + i] = diff * diff * il;
        }
      }
    }
    const m = cand.length;
    const mean = new Float64Array(m);
    const varUb = new Float64Array(m);
    const ys2 = yStd * yStd;
    const invDiag = Float64Array.from(kdiag, (v) => 1 / v);
    // the grid is enumerated with the last dimension fastest, so runs of candidates share their
    // first d − 1 levels: their partial sums (in predict's order) are computed once per run
    const prefix = new Float64Array(n);
    const rows = this.rows;
    let prev = -1;
    for (let j = 0; j < m; j++) {
      const g = cand[j]!;
      let same = prev >= 0;
      for (let k = 0; same && k < d - 1; k++) same = rows[g * d + k] === rows[prev * d + k];
      if (!same) {
        prefix.fill(0);
        for (let k = 0; k < d - 1; k++) {
          const b = rows[g * d + k]! * n;
          for (let i = 0; i < n; i++) prefix[i] = prefix[i]! + table[b + i]!;
        }
      }
      prev = g;
      const bl = rows[g * d + d - 1]! * n;
      let mu = 0;
      let lb = 0;
      for (let i = 0; i < n; i++) {
        const r2 = prefix[i]! + table[bl + i]!;
        const sr = SQRT5 * Math.sqrt(r2);
        const kv = sf2 * (1 + sr + (sr * sr) / 3) * Math.exp(-sr);
        mu += kv * alpha[i]!;
        const c = kv * kv * invDiag[i]!;
        if (c > lb) lb = c;
      }
      mean[j] = yMean + yStd * mu;
      varUb[j] = Math.max(sf2 - BOUND_TRUST * lb, 1e-12) * ys2;
    }
    return { post, table, mean, varUb };
  }

  /**
   * Exact posterior variance at grid point g, the same operations as `Gp.predict`; or −1 when
   * `canReach` (checked every few rows with the variance bound so far) says the point cannot win.
   * The partial sum of squares only grows, so sf2 − partial bounds the final variance from above.
   */
  private variance(p: Pass, g: number, ks: Float64Array, varUb: number, canReach: ((varUb: number) => boolean) | null): number {
    const { n, d, linv, signalVariance: sf2, yStd } = p.post;
    const table = p.table;
    const base = this.base;
    const ys2 = yStd * yStd;
    for (let k = 0; k < d; k++) base[k] = this.rows[g * d + k]! * n;
    for (let i = 0; i < n; i++) {
      let r2 = 0;
      for (let k = 0; k < d; k++) r2 += table[base[k]! + i]!;
      const sr = SQRT5 * Math.sqrt(r2);
      ks[i] = sf2 * (1 + sr + (sr * sr) / 3) * Math.exp(-sr);
    }
    let vv = 0;
    // checks where a quarter, half and three quarters of the rows are done (row i costs i + 1)
    let next = canReach === null ? n : n >> 2;
    for (let i = 0; i < n; i++) {
      let v = 0;
      const row = i * n;
      for (let k = 0; k <= i; k++) v += linv[row + k]! * ks[k]!;
      vv += v * v;
      if (i === next) {
        const ub = Math.min(varUb, Math.max(sf2 - vv, 1e-12) * ys2);
        if (!canReach!(ub)) return -1;
        next = next === n >> 2 ? n >> 1 : next === n >> 1 ? (3 * n) >> 2 : n;
      }
    }
    return Math.max(sf2 - vv, 1e-12) * yStd * yStd;
  }
}

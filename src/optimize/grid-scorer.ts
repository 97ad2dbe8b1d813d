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
 *   found so far, visited in decreasing order of the bound (closed-form Mills-ratio bounds filter
 *   first, the erfc-based acquisition at the largest variance second);
 * - a variance's partial sum of squares only grows, so the computation of a point stops early once
 *   the bound with the partial sum falls short (checked at 1/8, 1/4, 1/2 and 3/4 of the rows);
 * - the kernel values of the means pass are kept (m×n) for the variances, and grid points that
 *   share their first d − 1 levels (runs in enumeration order) share their partial distance sums.
 *
 * The means and variances it evaluates repeat `Gp.predict`'s arithmetic operation for operation,
 * so the values are bitwise those of the plain path and the pick is the same point (the first
 * grid index among equal best values, as the plain scan picks).
 */
import { type AcquisitionMode, logExpectedImprovement, logProbabilityOfFeasibility } from './acquisition.ts';
import type { GpPosterior } from './gp.ts';
import { matern52 } from './kernel.ts';
import type { Grid } from './search-space.ts';

/** Share of the Cauchy–Schwarz variance reduction trusted by the bound (guards rounding in L⁻¹). */
const BOUND_TRUST = 0.99;

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Upper bound of log P(c ≤ threshold), c ~ N(mean, variance), without erfc: 0 when the mean is
 * feasible, else the Mills-ratio bound Φ(z) ≤ φ(z)/|z| (z < 0). Same sd as the acquisition uses.
 */
function logPofBound(mean: number, variance: number, threshold: number): number {
  if (mean <= threshold) return 0;
  const z = (threshold - mean) / Math.sqrt(Math.max(variance, 1e-18));
  return Math.min(0, -0.5 * z * z - LOG_SQRT_2PI - Math.log(-z));
}

/**
 * Upper bound of log EI = log σ + log h(z), h(z) = φ(z) + zΦ(z), without erfc: h(z) ≤ φ(z)/(1 + z²)
 * for z < 0 (from Φ(z) ≥ φ(z)|z|/(1 + z²)) and h(z) ≤ φ(z) + z for z ≥ 0.
 */
function logEiBound(mean: number, variance: number, best: number): number {
  const sd = Math.sqrt(Math.max(variance, 1e-18));
  const z = (best - mean) / sd;
  const logh = z < 0 ? -0.5 * z * z - LOG_SQRT_2PI - Math.log1p(z * z) : Math.log(Math.exp(-0.5 * z * z - LOG_SQRT_2PI) + z);
  return Math.log(sd) + logh;
}

export interface GridPick {
  /** Grid index of the best unvisited point. */
  readonly index: number;
  readonly value: number;
  readonly mode: AcquisitionMode;
  /** Points whose variance computation was started (the rest were pruned by their bound alone; some of these stop early). */
  readonly evaluated: number;
  /** Unvisited points considered. */
  readonly candidates: number;
}

export interface GridModels {
  readonly objective: GpPosterior;
  readonly constraint: GpPosterior;
  /** Prior mean per grid index added to the GP's mean (the GP models the residual); absent = none. */
  readonly objectiveOffset?: Float64Array;
  readonly constraintOffset?: Float64Array;
}

/** Per-suggestion, per-GP pass: means and variance upper bounds of the candidate points. */
interface Pass {
  readonly post: GpPosterior;
  readonly table: Float64Array;
  readonly mean: Float64Array;
  readonly varUb: Float64Array;
  /** m×n kernel values k(x_j, x_i), kept for the exact variances. */
  readonly ks: Float64Array;
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
    for (let g = 0; g < grid.size; g++) for (let k = 0; k < d; k++) this.rows[g * d + k] = this.levelOffset[k]! + grid.indices[g * d + k]!;
    for (let g = 0; g < grid.size; g++) this.indexOfKey.set(grid.indices.subarray(g * d, (g + 1) * d).join(','), g);
    this.visited = new Uint8Array(grid.size);
    this.unvisited = grid.size;
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
    const con = this.pass(models.constraint, cand, models.constraintOffset);
    const obj = best === null ? null : this.pass(models.objective, cand, models.objectiveOffset);
    const mode: AcquisitionMode = best === null ? 'log-pof' : 'log-ei-pof';
    // a cheap upper bound of the acquisition at each candidate (closed-form tail bounds, no erfc),
    // then the tight one (the acquisition itself at the largest possible variance) where the cheap
    // one can still reach the best exact value
    const cheap = new Float64Array(m);
    let top = 0;
    for (let j = 0; j < m; j++) {
      let u = logPofBound(con.mean[j]!, con.varUb[j]!, threshold);
      if (obj) u += logEiBound(obj.mean[j]!, obj.varUb[j]!, best!);
      // a NaN bound cannot prune: evaluate that point
      cheap[j] = Number.isNaN(u) ? Number.POSITIVE_INFINITY : u;
      if (cheap[j]! > cheap[top]!) top = j;
    }
    const eiUb = new Float64Array(m);
    const ub = new Float64Array(m);
    const tight = (j: number) => {
      const cm = con.mean[j]!;
      const e = obj ? logExpectedImprovement(obj.mean[j]!, obj.varUb[j]!, best!) : 0;
      eiUb[j] = e;
      const u = (cm <= threshold ? 0 : logProbabilityOfFeasibility(cm, con.varUb[j]!, threshold)) + e;
      ub[j] = Number.isNaN(u) ? Number.POSITIVE_INFINITY : u;
    };
    // exact value, or −∞ as soon as a variance's running bound shows the point cannot reach the best
    const exact = (j: number): number => {
      const cm = con.mean[j]!;
      const om = obj ? obj.mean[j]! : 0;
      const e = eiUb[j]!;
      const cv =
        cm <= threshold
          ? this.variance(con, j, con.varUb[j]!, null)
          : this.variance(con, j, con.varUb[j]!, (vub) => reach(logProbabilityOfFeasibility(cm, vub, threshold) + e));
      if (cv < 0) return Number.NEGATIVE_INFINITY;
      const lp = logProbabilityOfFeasibility(cm, cv, threshold);
      if (!obj) return lp;
      if (!reach(lp + e)) return Number.NEGATIVE_INFINITY;
      const ov = this.variance(obj, j, obj.varUb[j]!, (vub) => reach(logExpectedImprovement(om, vub, best!) + lp));
      if (ov < 0) return Number.NEGATIVE_INFINITY;
      return logExpectedImprovement(om, ov, best!) + lp;
    };
    // the point with the largest cheap bound gives a first exact value; only points whose bounds
    // reach it are sorted and visited, in decreasing order of the tight bound
    let bestJ = top;
    let bestV = Number.NEGATIVE_INFINITY;
    const reach = (u: number) => u + 1e-9 * (1 + Math.abs(u)) >= bestV || Number.isNaN(bestV) || Number.isNaN(u);
    tight(top);
    bestV = exact(top);
    let evaluated = 1;
    const order: number[] = [];
    for (let j = 0; j < m; j++)
      if (j !== top && reach(cheap[j]!)) {
        tight(j);
        if (reach(ub[j]!)) order.push(j);
      }
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

  private pass(post: GpPosterior, cand: Int32Array, offset?: Float64Array): Pass {
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
    const ks = new Float64Array(m * n);
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
        const kv = matern52(r2, sf2);
        ks[j * n + i] = kv;
        mu += kv * alpha[i]!;
        const c = kv * kv * invDiag[i]!;
        if (c > lb) lb = c;
      }
      mean[j] = yMean + yStd * mu + (offset ? offset[g]! : 0);
      varUb[j] = Math.max(sf2 - BOUND_TRUST * lb, 1e-12) * ys2;
    }
    return { post, table, mean, varUb, ks };
  }

  /**
   * Exact posterior variance at grid point g, the same operations as `Gp.predict`; or −1 when
   * `canReach` (checked every few rows with the variance bound so far) says the point cannot win.
   * The partial sum of squares only grows, so sf2 − partial bounds the final variance from above.
   */
  private variance(p: Pass, j: number, varUb: number, canReach: ((varUb: number) => boolean) | null): number {
    const { n, linv, signalVariance: sf2, yStd } = p.post;
    const ks = p.ks;
    const kb = j * n;
    const ys2 = yStd * yStd;
    let vv = 0;
    // checks where an eighth, a quarter, half and three quarters of the rows are done (row i costs i + 1)
    let next = canReach === null ? n : n >> 3;
    for (let i = 0; i < n; i++) {
      let v = 0;
      const row = i * n;
      for (let k = 0; k <= i; k++) v += linv[row + k]! * ks[kb + k]!;
      vv += v * v;
      if (i === next) {
        const ub = Math.min(varUb, Math.max(sf2 - vv, 1e-12) * ys2);
        if (!canReach!(ub)) return -1;
        next = next === n >> 3 ? n >> 2 : next === n >> 2 ? n >> 1 : next === n >> 1 ? (3 * n) >> 2 : n;
      }
    }
    return Math.max(sf2 - vv, 1e-12) * yStd * yStd;
  }
}

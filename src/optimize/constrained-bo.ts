/**
 * Constrained Bayesian optimisation over a discrete search space: one GP for the objective, one
 * for the constraint; acquisition log-EI + log-PoF scored on every point of the grid (or, for a
 * grid too large to enumerate, on a random sample refined by coordinate-wise local search);
 * probability of feasibility alone while no feasible point has been observed; a quasi-random
 * initial design; stops when the best acquisition is negligible or the grid is exhausted.
 */
import { type AcquisitionMode, scoreAcquisition } from './acquisition.ts';
import { initialDesign } from './design.ts';
import { fitGp, type Gp } from './gp.ts';
import type { GpHyperparameters } from './gp-state.ts';
import { GridScorer } from './grid-scorer.ts';
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createRandom, type Random } from '../numerics/random.ts';
import { checkSpace, createEncoder, dimensionCoordinates, enumerateGrid, type Grid, pointKey, type SearchSpace } from './search-space.ts';

export interface ConstrainedBoOptions {
  readonly space: SearchSpace;
  /** A point is feasible when its constraint value ≤ threshold (same units as the observations). */
  readonly threshold: number;
  readonly seed?: number;
  /** Quasi-random points before the model takes over (default d + 2, at least 4). */
  readonly initialPoints?: number;
  /** Largest Cartesian product scored exhaustively (default 50 000). */
  readonly maxGridPoints?: number;
  /** Candidates sampled when the grid is too large (default 4096). */
  readonly sampleSize?: number;
  /**
   * Stop when the best expected improvement × P(feasible) is below this, in objective units
   * (default 1e-4: a 0.01 % energy improvement when the objective is log energy).
   */
  readonly minImprovement?: number;
  /**
   * Random restarts of the hyperparameter fit on top of the warm and default starts (default 1).
   * Restarts run while there are few observations and on every `restartEvery`-th fit after that;
   * in between, the fit continues from the previous hyperparameters only.
   */
  readonly randomStarts?: number;
  /** Default 5. */
  readonly restartEvery?: number;
  /**
   * How the enumerated grid is scored: 'fast' (default) finds the same argmax with cached grid
   * tables and exact bound pruning (grid-scorer.ts); 'plain' predicts both GPs at every unvisited
   * point (the reference the fast path is checked and benchmarked against).
   */
  readonly gridScoring?: 'fast' | 'plain';
}

export interface BoState {
  readonly mode: AcquisitionMode | 'initial';
  readonly objective: Gp | null;
  readonly constraint: Gp | null;
  /** Best observed objective among feasible observations, null when none. */
  readonly bestObserved: number | null;
}

interface Measured {
  readonly point: readonly number[];
  readonly x: Float64Array;
  readonly objective: number;
  readonly constraint: number;
  readonly objectiveNoiseVar: number;
  readonly constraintNoiseVar: number;
}

export class ConstrainedBo implements Optimizer {
  readonly name = 'cbo';
  private readonly space: SearchSpace;
  private readonly threshold: number;
  private readonly rng: Random;
  private readonly grid: Grid | null;
  private readonly scorer: GridScorer | null;
  private readonly encode: ReturnType<typeof createEncoder>;
  private readonly d: number;
  private readonly design: number[][];
  private readonly visited = new Set<string>();
  private readonly measured: Measured[] = [];
  private readonly opts: ConstrainedBoOptions;
  private objHyper: GpHyperparameters | undefined;
  private conHyper: GpHyperparameters | undefined;
  private last: BoState = { mode: 'initial', objective: null, constraint: null, bestObserved: null };
  private stopped: 'converged' | 'exhausted' | null = null;
  private fits = 0;

  constructor(opts: ConstrainedBoOptions) {
    checkSpace(opts.space);
    this.opts = opts;
    this.space = opts.space;
    this.threshold = opts.threshold;
    this.d = opts.space.dims.length;
    this.rng = createRandom(opts.seed ?? 0);
    this.encode = createEncoder(opts.space);
    this.grid = enumerateGrid(opts.space, opts.maxGridPoints ?? 50_000);
    if (this.grid && this.grid.size === 0) throw new Error('search space has no valid point');
    this.scorer = this.grid && opts.gridScoring !== 'plain' ? new GridScorer(this.grid, opts.space.dims.map(dimensionCoordinates)) : null;
    const nInit = opts.initialPoints ?? Math.max(4, this.d + 2);
    this.design = initialDesign(opts.space, nInit, this.rng);
  }

  /** The surrogates and mode behind the latest suggestion. */
  get state(): BoState {
    return this.last;
  }

  /** Why suggest() returned null: the best acquisition was negligible, or nothing is left to measure. */
  get stopReason(): 'converged' | 'exhausted' | null {
    return this.stopped;
  }

  /** Grid size scored per suggestion (null when sampling). */
  get gridSize(): number | null {
    return this.grid?.size ?? null;
  }

  observe(o: Observation): void {
    const key = pointKey(o.point);
    this.visited.add(key);
    this.scorer?.markVisited(key);
    if (!o.valid) return;
    if (!Number.isFinite(o.objective) || !Number.isFinite(o.constraint)) throw new Error('observation values must be finite');
    this.measured.push({
      point: o.point.slice(),
      x: this.encode(o.point),
      objective: o.objective,
      constraint: o.constraint,
      objectiveNoiseVar: o.objectiveNoiseVar ?? 0,
      constraintNoiseVar: o.constraintNoiseVar ?? 0,
    });
  }

  suggest(): Suggestion | null {
    const t0 = performance.now();
    if (this.stopped) return null;
    const exhausted = () => {
      this.stopped = 'exhausted';
      return null;
    };
    while (this.design.length > 0) {
      const p = this.design.shift()!;
      if (!this.visited.has(pointKey(p))) return { point: p, source: 'initial', suggestMs: performance.now() - t0 };
    }
    if (this.grid && this.visited.size >= this.grid.size) return exhausted();
    if (this.measured.length < 2) {
      // too little data for a model (e.g. invalid windows): keep exploring quasi-randomly
      const more = initialDesign(this.space, 1, this.rng, this.visited);
      if (more.length === 0) return exhausted();
      return { point: more[0]!, source: 'initial', suggestMs: performance.now() - t0 };
    }
    const tFit = performance.now();
    const models = this.fit();
    const tScore = performance.now();
    const best = this.incumbent(models.objective);
    const pick = this.grid ? this.maximiseOnGrid(models, best) : this.maximiseBySampling(models, best);
    const tEnd = performance.now();
    if (!pick) return exhausted();
    this.last = { mode: pick.mode, objective: models.objective, constraint: models.constraint, bestObserved: this.bestObserved() };
    if (pick.mode === 'log-ei-pof' && pick.value < Math.log(this.opts.minImprovement ?? 1e-4)) {
      this.stopped = 'converged';
      return null;
    }
    return { point: pick.point, source: 'bo', acquisition: pick.value, suggestMs: tEnd - t0, fitMs: tScore - tFit, scoreMs: tEnd - tScore };
  }

  /** Best feasible observed objective, or null. */
  bestObserved(): number | null {
    let b: number | null = null;
    for (const m of this.measured) if (m.constraint <= this.threshold && (b === null || m.objective < b)) b = m.objective;
    return b;
  }

  private fit(): { objective: Gp; constraint: Gp } {
    const n = this.measured.length;
    const x = new Float64Array(n * this.d);
    const yo = new Float64Array(n);
    const yc = new Float64Array(n);
    const no = new Float64Array(n);
    const nc = new Float64Array(n);
    this.measured.forEach((m, i) => {
      x.set(m.x, i * this.d);
      yo[i] = m.objective;
      yc[i] = m.constraint;
      no[i] = m.objectiveNoiseVar;
      nc[i] = m.constraintNoiseVar;
    });
    this.fits++;
    const full = n < 12 || this.fits % (this.opts.restartEvery ?? 5) === 0;
    const common = { rng: this.rng, randomStarts: full ? (this.opts.randomStarts ?? 1) : 0, defaultStart: full };
    const objective = fitGp(x, yo, this.d, { ...common, yNoiseVar: no, warmStart: this.objHyper });
    const constraint = fitGp(x, yc, this.d, { ...common, yNoiseVar: nc, warmStart: this.conHyper });
    this.objHyper = objective.state.hyper;
    this.conHyper = constraint.state.hyper;
    return { objective, constraint };
  }

  /**
   * Noisy-EI incumbent: the lowest posterior mean of the objective among observed points whose
   * measured constraint held; null when none did.
   */
  private incumbent(obj: Gp): number | null {
    const feas = this.measured.filter((m) => m.constraint <= this.threshold);
    if (feas.length === 0) return null;
    const x = new Float64Array(feas.length * this.d);
    feas.forEach((m, i) => {
      x.set(m.x, i * this.d);
    });
    const p = obj.predict(x, feas.length);
    let b = Number.POSITIVE_INFINITY;
    for (const v of p.mean) b = Math.min(b, v);
    return b;
  }

  private scorePoints(models: { objective: Gp; constraint: Gp }, best: number | null, x: Float64Array, m: number) {
    const po = models.objective.predict(x, m);
    const pc = models.constraint.predict(x, m);
    return scoreAcquisition({
      objMean: po.mean,
      objVar: po.variance,
      conMean: pc.mean,
      conVar: pc.variance,
      threshold: this.threshold,
      best,
    });
  }

  private maximiseOnGrid(models: { objective: Gp; constraint: Gp }, best: number | null) {
    const g = this.grid!;
    const d = g.d;
    if (this.scorer) {
      const p = this.scorer.pick({ objective: models.objective.posterior, constraint: models.constraint.posterior }, this.threshold, best);
      if (!p) return null;
      return { point: Array.from(g.indices.subarray(p.index * d, (p.index + 1) * d)), value: p.value, mode: p.mode };
    }
    // score only unvisited points
    const keep: number[] = [];
    for (let i = 0; i < g.size; i++) {
      if (!this.visited.has(pointKey(g.indices.subarray(i * d, (i + 1) * d)))) keep.push(i);
    }
    if (keep.length === 0) return null;
    const x = new Float64Array(keep.length * d);
    keep.forEach((gi, j) => {
      x.set(g.x.subarray(gi * d, (gi + 1) * d), j * d);
    });
    const { mode, values } = this.scorePoints(models, best, x, keep.length);
    let bi = 0;
    for (let j = 1; j < values.length; j++) if (values[j]! > values[bi]!) bi = j;
    const gi = keep[bi]!;
    return { point: Array.from(g.indices.subarray(gi * d, (gi + 1) * d)), value: values[bi]!, mode };
  }

  private randomValidPoint(): number[] | null {
    for (let tries = 0; tries < 1000; tries++) {
      const p = this.space.dims.map((dim) => this.rng.int(dim.values.length));
      if (!this.space.isValid || this.space.isValid(p)) return p;
    }
    return null;
  }

  private maximiseBySampling(models: { objective: Gp; constraint: Gp }, best: number | null) {
    const d = this.d;
    const m = this.opts.sampleSize ?? 4096;
    const cands: number[][] = [];
    const keys = new Set<string>();
    for (let i = 0; i < m; i++) {
      const p = this.randomValidPoint();
      if (!p) break;
      const k = pointKey(p);
      if (this.visited.has(k) || keys.has(k)) continue;
      keys.add(k);
      cands.push(p);
    }
    if (cands.length === 0) return null;
    const x = new Float64Array(cands.length * d);
    cands.forEach((p, i) => {
      this.encode(p, x, i * d);
    });
    const scored = this.scorePoints(models, best, x, cands.length);
    const mode = scored.mode;
    const order = Array.from(cands.keys()).sort((a, b) => scored.values[b]! - scored.values[a]!);
    let bestPoint = cands[order[0]!]!;
    let bestValue = scored.values[order[0]!]!;
    // coordinate-wise local search from the 5 best samples: every value of one dimension at a time
    for (const start of order.slice(0, 5)) {
      let cur = cands[start]!.slice();
      let curV = scored.values[start]!;
      for (let round = 0; round < 10; round++) {
        let improved = false;
        for (let k = 0; k < d; k++) {
          const nk = this.space.dims[k]!.values.length;
          const pts: number[][] = [];
          for (let v = 0; v < nk; v++) {
            if (v === cur[k]) continue;
            const p = cur.slice();
            p[k] = v;
            if ((this.space.isValid && !this.space.isValid(p)) || this.visited.has(pointKey(p))) continue;
            pts.push(p);
          }
          if (pts.length === 0) continue;
          const xs = new Float64Array(pts.length * d);
          pts.forEach((p, i) => {
      this.encode(p, xs, i * d);
    });
          const s = this.scorePoints(models, best, xs, pts.length);
          for (let i = 0; i < pts.length; i++)
            if (s.values[i]! > curV) {
              curV = s.values[i]!;
              cur = pts[i]!;
              improved = true;
            }
        }
        if (!improved) break;
      }
      if (curV > bestValue) {
        bestValue = curV;
        bestPoint = cur;
      }
    }
    return { point: bestPoint, value: bestValue, mode };
  }
}

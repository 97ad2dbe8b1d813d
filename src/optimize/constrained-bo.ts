/**
 * Constrained Bayesian optimisation over a discrete search space: one GP for the objective, one
 * for the constraint; acquisition log-EI + log-PoF, maximised by optimize-acquisition.ts;
 * probability of feasibility alone while no feasible point has been observed; a quasi-random
 * initial design; stops when the best acquisition is negligible or the grid is exhausted.
 */
import type { AcquisitionMode } from './acquisition.ts';
import { initialDesign } from './design.ts';
import { fitGp, type Gp } from './gp.ts';
import type { GpHyperparameters } from './gp-state.ts';
import { AcquisitionMaximiser, type AcquisitionSearchOptions, type SurrogateModels } from './optimize-acquisition.ts';
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createRandom, type Random } from '../numerics/random.ts';
import { checkSpace, createEncoder, pointKey, type SearchSpace } from './search-space.ts';

export interface ConstrainedBoOptions extends AcquisitionSearchOptions {
  readonly space: SearchSpace;
  /** A point is feasible when its constraint value ≤ threshold (same units as the observations). */
  readonly threshold: number;
  readonly seed?: number;
  /** Quasi-random points before the model takes over (default d + 2, at least 4). */
  readonly initialPoints?: number;
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
  private readonly acquisition: AcquisitionMaximiser;
  private readonly encode: ReturnType<typeof createEncoder>;
  private readonly d: number;
  private readonly design: number[][];
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
    this.acquisition = new AcquisitionMaximiser(opts.space, this.rng, opts);
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
    return this.acquisition.grid?.size ?? null;
  }

  observe(o: Observation): void {
    this.acquisition.markVisited(o.point);
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
      if (!this.acquisition.visited.has(pointKey(p))) return { point: p, source: 'initial', suggestMs: performance.now() - t0 };
    }
    if (this.acquisition.exhausted) return exhausted();
    if (this.measured.length < 2) {
      // too little data for a model (e.g. invalid windows): keep exploring quasi-randomly
      const more = initialDesign(this.space, 1, this.rng, this.acquisition.visited);
      if (more.length === 0) return exhausted();
      return { point: more[0]!, source: 'initial', suggestMs: performance.now() - t0 };
    }
    const tFit = performance.now();
    const models = this.fit();
    const tScore = performance.now();
    const best = this.incumbent(models.objective);
    const pick = this.acquisition.maximise(models, this.threshold, best);
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

  private fit(): SurrogateModels {
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
}

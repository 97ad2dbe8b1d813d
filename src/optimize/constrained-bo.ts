/**
 * Constrained Bayesian optimisation over a discrete search space: one GP for the objective, one
 * for the constraint; acquisition log-EI + log-PoF, maximised by optimize-acquisition.ts;
 * probability of feasibility alone while no feasible point has been observed; an initial design
 * (given points first, then quasi-random ones); stops when the best acquisition is negligible
 * (below a fixed floor, or below the measured noise) or the grid is exhausted.
 *
 * With a prior mean (e.g. a simulator's prediction of both outputs), each output is modelled twice
 * on every fit, as a GP of the observations and as a GP of their residual from the prior, and the
 * model with the higher marginal likelihood (evidence) is used: a prior the measurements contradict
 * loses to the plain GP, a prior off by a constant or a smooth shape is corrected by the residual.
 */
import type { AcquisitionMode } from './acquisition.ts';
import { initialDesign } from './design.ts';
import { fitGp, type Gp } from './gp.ts';
import type { GpHyperparameters } from './gp-state.ts';
import { AcquisitionMaximiser, type AcquisitionSearchOptions, type PriorMean, type SurrogateModels } from './optimize-acquisition.ts';
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createRandom, type Random } from '../numerics/random.ts';
import { checkSpace, createEncoder, pointKey, type SearchSpace } from './search-space.ts';

export interface ConstrainedBoOptions extends AcquisitionSearchOptions {
  readonly space: SearchSpace;
  /** A point is feasible when its constraint value ≤ threshold (same units as the observations). */
  readonly threshold: number;
  readonly seed?: number;
  /** Quasi-random points before the model takes over (default d + 2, at least 4; after `initialDesign`). */
  readonly initialPoints?: number;
  /** Points to propose first, in order (e.g. a prior's predicted optimum); skipped when already measured. */
  readonly initialDesign?: readonly (readonly number[])[];
  /** Prior mean of both outputs at a point; see the file comment. */
  readonly prior?: PriorMean;
  /**
   * Stop when the best expected improvement × P(feasible) is below the measured noise: the median
   * standard deviation of the observed objective (from `objectiveNoiseVar`) times `factor`, once at
   * least `minObservations` points are observed (and no stop at all before). Applies on top of
   * `minImprovement`.
   */
  readonly noiseStop?: { readonly factor?: number; readonly minObservations?: number };
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
  /** Which outputs the latest models fitted as a residual from the prior (both false without one). */
  readonly residual?: { readonly objective: boolean; readonly constraint: boolean };
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
  /** Prior values at measured points, by point key. */
  private readonly priorAt = new Map<string, { objective: number; constraint: number }>();
  private readonly space: SearchSpace;
  private readonly threshold: number;
  private readonly rng: Random;
  private readonly acquisition: AcquisitionMaximiser;
  private readonly encode: ReturnType<typeof createEncoder>;
  private readonly d: number;
  private readonly design: number[][];
  private readonly measured: Measured[] = [];
  private readonly opts: ConstrainedBoOptions;
  private readonly hyper = new Map<string, GpHyperparameters>();
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
    const given = (opts.initialDesign ?? []).map((p) => p.slice());
    this.design = [...given, ...initialDesign(opts.space, nInit, this.rng, new Set(given.map(pointKey)))];
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
    const best = this.incumbent(models);
    const pick = this.acquisition.maximise(models, this.threshold, best);
    const tEnd = performance.now();
    if (!pick) return exhausted();
    this.last = {
      mode: pick.mode,
      objective: models.objective,
      constraint: models.constraint,
      bestObserved: this.bestObserved(),
      residual: models.residual ?? { objective: false, constraint: false },
    };
    if (pick.mode === 'log-ei-pof' && this.mayStop() && pick.value < this.stopBelow()) {
      this.stopped = 'converged';
      return null;
    }
    return { point: pick.point, source: 'bo', acquisition: pick.value, suggestMs: tEnd - t0, fitMs: tScore - tFit, scoreMs: tEnd - tScore };
  }

  /** With a noise stop, no convergence stop at all before its minimum of observations. */
  private mayStop(): boolean {
    const ns = this.opts.noiseStop;
    return !ns || this.measured.length >= (ns.minObservations ?? 0);
  }

  /** log of the acquisition floor under which the search stops (see `minImprovement`, `noiseStop`). */
  private stopBelow(): number {
    let floor = this.opts.minImprovement ?? 1e-4;
    const ns = this.opts.noiseStop;
    if (ns && this.measured.length >= (ns.minObservations ?? 0)) {
      const sds = this.measured.map((m) => Math.sqrt(m.objectiveNoiseVar)).sort((a, b) => a - b);
      const median = sds[Math.floor(sds.length / 2)] ?? 0;
      floor = Math.max(floor, median * (ns.factor ?? 1));
    }
    return Math.log(floor);
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
    const fitOne = (name: string, y: Float64Array, noise: Float64Array) => {
      const gp = fitGp(x, y, this.d, { ...common, yNoiseVar: noise, warmStart: this.hyper.get(name) });
      this.hyper.set(name, gp.state.hyper);
      return gp;
    };
    const prior = this.opts.prior;
    if (!prior) return { objective: fitOne('objective', yo, no), constraint: fitOne('constraint', yc, nc) };
    const po = new Float64Array(n);
    const pc = new Float64Array(n);
    this.measured.forEach((m, i) => {
      const v = this.priorOf(m.point);
      po[i] = v.objective;
      pc[i] = v.constraint;
    });
    // each output: the plain GP or the GP of the residual from the prior, whichever the data favour
    const choose = (name: string, y: Float64Array, p: Float64Array, noise: Float64Array) => {
      const plain = fitOne(name, y, noise);
      const residual = fitOne(
        `${name}-residual`,
        y.map((v, i) => v - p[i]!),
        noise,
      );
      return evidence(residual) >= evidence(plain) ? { gp: residual, residual: true } : { gp: plain, residual: false };
    };
    const o = choose('objective', yo, po, no);
    const c = choose('constraint', yc, pc, nc);
    return { objective: o.gp, constraint: c.gp, prior, residual: { objective: o.residual, constraint: c.residual } };
  }

  private priorOf(point: readonly number[]): { objective: number; constraint: number } {
    const k = pointKey(point);
    let v = this.priorAt.get(k);
    if (!v) {
      const r = this.opts.prior!(point);
      v = { objective: r.objective, constraint: r.constraint };
      this.priorAt.set(k, v);
    }
    return v;
  }

  /**
   * Noisy-EI incumbent: the lowest posterior mean of the objective among observed points whose
   * measured constraint held; null when none did.
   */
  private incumbent(models: SurrogateModels): number | null {
    const obj = models.objective;
    const feas = this.measured.filter((m) => m.constraint <= this.threshold);
    if (feas.length === 0) return null;
    const x = new Float64Array(feas.length * this.d);
    feas.forEach((m, i) => {
      x.set(m.x, i * this.d);
    });
    const p = obj.predict(x, feas.length);
    const offset = models.residual?.objective === true;
    let b = Number.POSITIVE_INFINITY;
    p.mean.forEach((v, i) => {
      b = Math.min(b, v + (offset ? this.priorOf(feas[i]!.point).objective : 0));
    });
    return b;
  }
}

/**
 * Log marginal likelihood of a fitted GP's data in raw output units (the fit's standardised negative
 * log posterior, rescaled), so GPs of different outputs (the observations, their residual from a
 * prior) can be compared on the same data.
 */
function evidence(gp: Gp): number {
  return -(gp.state.nlp + gp.state.y.length * Math.log(gp.state.yStd));
}

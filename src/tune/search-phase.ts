/**
 * The search phase of a tuning run: the optimiser proposes points of the knob space, each is
 * measured and observed as (ln energy per query, ln tail latency) with its measured noise, until the
 * budget is spent or the optimiser stops. Trials measured before the search that lie inside the
 * space (the defaults at the chosen CPU clock) inform the model first.
 */
import type { TrialOptions } from '../core/measurement.ts';
import { latencyLimitMs, type Slo } from '../core/slo.ts';
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { gridSearch, randomSearch } from '../optimize/baselines.ts';
import { ConstrainedBo, type ConstrainedBoOptions } from '../optimize/constrained-bo.ts';
import type { Optimizer } from '../optimize/optimizer.ts';
import type { KnobSpace } from './knob-space.ts';
import type { TuningState } from './tuning-state.ts';

export type TuneOptimizer = 'cbo' | 'random' | 'grid';

export interface SearchPhaseOptions {
  readonly space: KnobSpace;
  readonly optimizer: TuneOptimizer;
  readonly slo: Slo;
  readonly margin: number;
  /** Search trials at most. */
  readonly budget: number;
  readonly seed: number;
  readonly trialOptions: TrialOptions;
  /** Stop when the run holds this many measurements (every phase counted); absent = no such bound. */
  readonly maxTrials?: number;
  /** Further options of the constrained BO (prior mean, initial design, stop rule). */
  readonly bo?: Omit<ConstrainedBoOptions, 'space' | 'threshold' | 'seed'>;
}

/** Run the search; returns why it ended. */
export async function runSearchPhase(state: TuningState, o: SearchPhaseOptions): Promise<NonNullable<TuningRun['stopReason']>> {
  state.phase = 'search';
  const { space } = o;
  const optimizer = createOptimizer(o);
  const observe = (rec: TrialRecord) => observeTrial(optimizer, space, rec, o.trialOptions.repeats);
  for (const t of state.trials) observe(t);
  while (state.searchDone < o.budget && (o.maxTrials === undefined || state.trials.length < o.maxTrials)) {
    const s = optimizer.suggest();
    if (!s) return optimizer instanceof ConstrainedBo && optimizer.stopReason === 'converged' ? 'converged' : 'exhausted';
    const rec = await state.measure(space.toConfig(s.point), s.source, {
      ...(s.acquisition === undefined ? {} : { acquisition: s.acquisition }),
      suggestMs: s.suggestMs,
    });
    state.searchDone++;
    observe(rec);
  }
  return 'budget';
}

function createOptimizer(o: SearchPhaseOptions): Optimizer {
  if (o.optimizer === 'random') return randomSearch(o.space, o.seed);
  if (o.optimizer === 'grid') return gridSearch(o.space, o.budget, o.seed);
  return new ConstrainedBo({ ...o.bo, space: o.space, threshold: Math.log(latencyLimitMs(o.slo, o.margin)), seed: o.seed });
}

/** Tell the optimiser about a trial inside its space (an invalid window is observed as invalid). */
export function observeTrial(optimizer: Optimizer, space: KnobSpace, rec: TrialRecord, repeats: number | undefined): void {
  const p = space.toPoint(rec.config);
  if (!p) return;
  const m = rec.measurement;
  if (!m.valid || !(m.energyPerQueryJ > 0) || !(m.latencyTailMs > 0)) optimizer.observe({ point: p, valid: false });
  else
    optimizer.observe({
      point: p,
      valid: true,
      objective: Math.log(m.energyPerQueryJ),
      constraint: Math.log(m.latencyTailMs),
      objectiveNoiseVar: noiseVar(m.noise.energyCv, repeats),
      constraintNoiseVar: noiseVar(m.noise.latencyTailCv, repeats),
    });
}

/** Variance of the log of a mean of `repeats` windows whose coefficient of variation is `cv`. */
function noiseVar(cv: number, repeats = 3): number {
  return Number.isFinite(cv) && cv > 0 ? (cv * cv) / Math.max(1, repeats) : 0;
}

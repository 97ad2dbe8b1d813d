/**
 * The tuning loop: optimiser ↔ measurement, every measurement counted against one budget.
 *
 * (1) The initial design: the twin prior's predicted optimum under the SLO (when there is a prior),
 * the default configuration (every clock at its maximum) and the device's most promising power-mode
 * presets, measured first so that they are candidates like any other trial and the savings reported
 * against them come for free, then a hedge (the prior's optimum with latency headroom) and a few
 * quasi-random points. (2) The joint search of every knob (CPU, GPU min ≤ max, EMC, batch) by
 * constrained BO whose surrogates start from the prior and are corrected by the measurements; it
 * stops when the expected improvement left is below the measured noise, or at the budget less the
 * confirmations. (3) The recommendation: a measured configuration that met the SLO with a margin and
 * held it on a confirming re-measurement. The fitted surrogates and the Pareto set go with the run
 * so a new SLO can be answered without measuring again. The previous method (defaults, a CPU phase,
 * a search of the rest, presets after the decision) is kept as `method: 'two-phase'` (two-phase.ts).
 */
import { randomUUID } from 'node:crypto';
import { type Config, configKey, DEFAULT_BATCH_SIZES, type KnobDomains, maxClocksConfig } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import { paretoSet } from '../core/pareto.ts';
import { checkSlo, latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { modelSpecOf } from '../model/model-spec.ts';
import type { PriorMean } from '../optimize/optimize-acquisition.ts';
import { enumerateGrid, gridPoint } from '../optimize/search-space.ts';
import { baselineResults, type NamedBaseline } from './baseline-results.ts';
import { createKnobSpace, type KnobSpace } from './knob-space.ts';
import { confirmRecommendation, explainPassedOver, infeasibleReason, MAX_CONFIRMATIONS, meetsWithMargin } from './recommendation.ts';
import { runSearchPhase, type TuneOptimizer } from './search-phase.ts';
import { denoisedEnergy, fitSurrogates, knobLengthscales, rankByModel } from './surrogates.ts';
import { TrialCache } from './trial-cache.ts';
import { type TuneProgress, TuningState } from './tuning-state.ts';
import { type PriorPredictor, twinPrior } from './twin-prior.ts';
import type { BoardSpec } from '../device/sim/index.ts';
import { modelProfile } from '../workload/model-source.ts';
import { type TuneOutcome, tuneTwoPhase } from './two-phase.ts';

export type { TuneOptimizer } from './search-phase.ts';
export type { TunePhase, TuneProgress } from './tuning-state.ts';

/** Measurements of a whole run by default (the joint method). */
export const DEFAULT_BUDGET = 20;
/** Search trials by default with the two-phase method (its budget counts search trials only). */
export const DEFAULT_TWO_PHASE_BUDGET = 30;
/** Measurements kept back from the search for confirming the recommendation (fewer on budgets under 8: a quarter). */
export const CONFIRM_RESERVE = 2;
/** Presets measured in the initial design, at most, by default. */
export const DEFAULT_PRESETS = 3;
/**
 * The search stops once the best expected improvement × P(feasible) is below this share of the
 * measured noise (the median standard error of ln energy per trial; about 0.2 % of the energy on
 * the twin's default noise), after at least `MIN_SEARCH` search trials.
 */
const STOP_NOISE_FACTOR = 0.1;
const MIN_SEARCH = 8;
/** Candidates sampled per suggestion where the grid is too large to score whole (then refined locally). */
const SAMPLE_SIZE = 2048;
/**
 * The initial design's targets: the prior's optimum under this share of the latency limit (an
 * optimum sits on the limit, where the measurement noise alone would refute it half the time), and
 * the hedge under a smaller share (against a board slower than its twin).
 */
const TARGET = 0.97;
const HEDGE = 0.85;

export type TuneMethod = 'joint' | 'two-phase';

export interface TuneOptions {
  readonly runner: TrialRunner;
  /** The model measured: its name (fp32, default sequence length) or its whole spec, which the run records. */
  readonly model: string | ModelSpec;
  readonly slo: Slo;
  /** Arrival rate, requests/s (load-aware mode); absent = saturated. */
  readonly rateRps?: number;
  /**
   * Measurements of the whole run, every phase counted (default 20). With the two-phase method:
   * search trials (default 30), its CPU phase, baselines and confirmations on top.
   */
  readonly budget?: number;
  readonly seed?: number;
  readonly batchSizes?: readonly number[];
  /** 'joint' (default): every knob searched together; 'two-phase': the previous method, CPU clock first. */
  readonly method?: TuneMethod;
  /** Deprecated: the joint search is the default; `joint: false` does not select the two-phase method. */
  readonly joint?: boolean;
  /**
   * The prior: a prediction of each configuration (e.g. `twinPrior(board, profile)`, nominal or
   * calibrated). Absent: the twin of the runner's board when the runner is the twin's own (its
   * `board`), else none; null: none. Used by the joint method with the 'cbo' optimiser.
   */
  readonly prior?: PriorPredictor | null;
  /** Presets measured in the initial design, at most (default 3; the prior picks the most promising). */
  readonly presets?: number;
  /** The recommendation must measure at most SLO × (1 − margin) (default 0.02). */
  readonly margin?: number;
  readonly optimizer?: TuneOptimizer;
  /** Repeated windows and window length per trial (the runner's defaults otherwise). */
  readonly trial?: Pick<TrialOptions, 'repeats' | 'windowS'>;
  /** Measure the baselines: the default and the presets (default true). */
  readonly baselines?: boolean;
  /** Trials of an interrupted run with the same settings: re-used instead of measured again. */
  readonly resumeFrom?: readonly TrialRecord[];
  readonly runId?: string;
  readonly createdAt?: string;
  /** Called after every trial (e.g. to store it), in order; `reused` when it came from `resumeFrom`. */
  readonly onTrial?: (r: TrialRecord, info: { readonly reused: boolean }) => void | Promise<void>;
  readonly onProgress?: (p: TuneProgress) => void;
}

function checkOptions(o: TuneOptions, batchSizes: readonly number[]): void {
  checkSlo(o.slo);
  const budget = budgetOf(o);
  if (!Number.isInteger(budget) || budget < 1) throw badInput(`budget must be a positive integer, got ${o.budget}`);
  const margin = o.margin ?? SLO_MARGINS.recommendation;
  if (!(margin >= 0 && margin < 0.5)) throw badInput(`margin must be in [0, 0.5), got ${o.margin}`);
  if (o.rateRps !== undefined && !(o.rateRps > 0)) throw badInput(`rate must be positive, got ${o.rateRps}`);
  if (batchSizes.length === 0) throw badInput('no batch sizes given');
  for (const b of batchSizes) if (!Number.isInteger(b) || b < 1) throw badInput(`batch sizes must be positive integers, got ${b}`);
  if (o.presets !== undefined && !(Number.isInteger(o.presets) && o.presets >= 0)) throw badInput(`presets must be a non-negative integer, got ${o.presets}`);
}

/** The run's budget: every measurement (joint), or search trials (two-phase). */
export function budgetOf(o: Pick<TuneOptions, 'budget' | 'method'>): number {
  return o.budget ?? (o.method === 'two-phase' ? DEFAULT_TWO_PHASE_BUDGET : DEFAULT_BUDGET);
}

/** Run a whole tuning session and return the run record. */
export async function tune(o: TuneOptions): Promise<TuningRun> {
  const batchSizes = [...new Set(o.batchSizes ?? DEFAULT_BATCH_SIZES)].sort((a, b) => a - b);
  checkOptions(o, batchSizes);
  const method: TuneMethod = o.method ?? 'joint';
  const budget = budgetOf(o);
  const seed = o.seed ?? 0;
  const margin = o.margin ?? SLO_MARGINS.recommendation;
  const slo = o.slo;
  const optimizer = o.optimizer ?? 'cbo';
  const modelSpec = typeof o.model === 'string' ? modelSpecOf(o.model) : o.model;
  const device = await o.runner.describe();
  const domains: KnobDomains = { ...device.knobs, batch: batchSizes };
  const cache = new TrialCache(o.resumeFrom);
  const trialOptions = trialOptionsOf(o);
  const state = new TuningState({
    runner: o.runner,
    trialOptions,
    slo,
    margin,
    budget,
    countAll: method === 'joint',
    cache,
    ...(o.onTrial ? { onTrial: o.onTrial } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const common = { device, domains, batchSizes, slo, margin, budget, seed, optimizer, baselines: o.baselines !== false, trialOptions };
  const out =
    method === 'two-phase'
      ? await tuneTwoPhase(state, common)
      : await tuneJoint(state, {
          ...common,
          prior: optimizer === 'cbo' ? (o.prior === undefined ? await runnerTwinPrior(o.runner, modelSpec, trialOptions) : o.prior) : null,
          presets: o.presets ?? DEFAULT_PRESETS,
          ...offeredBy(o.runner),
        });
  const { recommendation, surrogates, passedOver } = out;
  return {
    id: o.runId ?? randomUUID(),
    createdAt: o.createdAt ?? new Date().toISOString(),
    device,
    model: modelSpec.name,
    modelSpec,
    slo,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    optimizer: `${optimizer}-${method}`,
    seed,
    budget,
    trials: state.trials,
    measurements: { total: state.trials.length, byPhase: Object.fromEntries(state.byPhase) },
    recommendation,
    ...(recommendation ? {} : { infeasibleReason: infeasibleReason(state.trials, slo, margin) }),
    baselines: out.baselines,
    ...(surrogates ? { lengthscales: knobLengthscales(surrogates), surrogates } : {}),
    margin,
    stopReason: out.stopReason,
    pareto: paretoSet(state.trials),
    reusedTrials: cache.reused,
    ...(passedOver.length > 0 ? { passedOver } : {}),
  };
}

function trialOptionsOf(o: TuneOptions): TrialOptions {
  return {
    quantile: o.slo.quantile,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    ...(o.trial?.repeats === undefined ? {} : { repeats: o.trial.repeats }),
    ...(o.trial?.windowS === undefined ? {} : { windowS: o.trial.windowS }),
  };
}

interface JointOptions {
  readonly device: DeviceDescription;
  readonly domains: KnobDomains;
  readonly batchSizes: readonly number[];
  readonly slo: Slo;
  readonly margin: number;
  readonly budget: number;
  readonly seed: number;
  readonly optimizer: TuneOptimizer;
  readonly baselines: boolean;
  readonly trialOptions: TrialOptions;
  readonly prior: PriorPredictor | null;
  readonly presets: number;
  readonly offered?: (c: Config) => boolean;
}

/** A configuration of the initial design, what it is and whom it is reported as. */
interface Planned {
  readonly config: Config;
  readonly source: 'baseline' | 'initial';
  /** Reported as a baseline under this name (the default, a preset). */
  readonly name?: string;
}

/** The joint method: initial design, joint search, confirmation; see the file comment. */
async function tuneJoint(state: TuningState, o: JointOptions): Promise<TuneOutcome> {
  const space = createKnobSpace({ domains: o.domains, ...(o.offered ? { offered: o.offered } : {}) });
  const limit = latencyLimitMs(o.slo, o.margin);
  const searchEnd = o.budget - Math.min(CONFIRM_RESERVE, Math.floor(o.budget / 4));
  const prior = o.prior ? priorOnSpace(o.prior, space) : null;
  const named: NamedBaseline[] = [];
  const measured = new Set<string>();
  state.phase = 'initial';
  const run = async (p: Planned | null) => {
    if (!p || state.trials.length >= searchEnd || measured.has(configKey(p.config)) || (o.offered && !o.offered(p.config))) return;
    measured.add(configKey(p.config));
    const rec = await state.measure(p.config, p.source);
    if (p.name) named.push({ name: p.name, rec });
    if (p.name === 'default') state.defaults.set(p.config.batch, rec.measurement);
  };
  const top = o.batchSizes[o.batchSizes.length - 1]!;
  if (prior) {
    await run(prior.best(limit * TARGET, 'initial'));
    if (o.baselines)
      await run(
        prior.bestOf(
          o.batchSizes.map((b) => maxClocksConfig(o.domains, b)),
          limit,
          'default',
        ),
      );
    await run(prior.best(limit * HEDGE, 'initial'));
    if (o.baselines) {
      const ranked = o.device.presets
        .map((p) => ({
          name: p.name,
          pick: prior.bestOf(
            o.batchSizes.map((b) => ({ ...p.clocks, batch: b })),
            limit,
            p.name,
          ),
        }))
        .filter((x) => x.pick !== null)
        .sort((a, b) => a.pick!.energy - b.pick!.energy);
      for (const x of ranked.slice(0, o.presets)) await run(x.pick);
    }
  } else if (o.baselines) {
    await run({ config: maxClocksConfig(o.domains, top), source: 'baseline', name: 'default' });
    const d = state.trials[state.trials.length - 1]?.measurement;
    // presets run slower than the default: the largest batch whose default latency, scaled, leaves room
    const batch = d?.valid ? ([...o.batchSizes].reverse().find((b) => d.latencyTailMs * (b / top) * 2 <= limit) ?? o.batchSizes[0]!) : o.batchSizes[0]!;
    for (const p of spread(o.device.presets, o.presets)) await run({ config: { ...p.clocks, batch }, source: 'baseline', name: p.name });
  }
  state.phase = 'search';
  const stopReason = await runSearchPhase(state, {
    space,
    optimizer: o.optimizer,
    slo: o.slo,
    margin: o.margin,
    budget: o.optimizer === 'cbo' ? o.budget : Math.max(0, searchEnd - state.trials.length),
    maxTrials: searchEnd,
    seed: o.seed,
    trialOptions: o.trialOptions,
    bo: {
      ...(prior ? { prior: prior.mean } : {}),
      initialPoints: prior ? 2 : Math.max(4, space.dims.length),
      sampleSize: SAMPLE_SIZE,
      noiseStop: { factor: STOP_NOISE_FACTOR, minObservations: state.trials.length + MIN_SEARCH },
    },
  });
  state.phase = 'confirm';
  const surrogates = fitSurrogates(space, {}, state.trials, o.seed);
  const { recommendation } = await confirmRecommendation({
    trials: state.trials,
    slo: o.slo,
    margin: o.margin,
    remeasure: (c) => state.measure(c, 'confirm'),
    rank: (cands) => rankByModel(cands, space, surrogates),
    maxConfirmations: Math.max(0, Math.min(MAX_CONFIRMATIONS, o.budget - state.trials.length)),
  });
  const passedOver = recommendation ? explainPassedOver(state.trials, recommendation, o.slo, o.margin, denoisedEnergy(space, surrogates)) : [];
  return { stopReason, surrogates, recommendation, passedOver, baselines: baselineResults(named, recommendation) };
}

/** The twin of a twin runner's own board (a runner with a `board` spec), for the model measured; else null. */
async function runnerTwinPrior(runner: TrialRunner, model: ModelSpec, t: TrialOptions): Promise<PriorPredictor | null> {
  const board = (runner as TrialRunner & { board?: unknown }).board;
  if (!isBoardSpec(board)) return null;
  const profile = await modelProfile(model.name, { dtype: model.dtype, ...(model.seq === undefined ? {} : { seq: model.seq }) });
  return twinPrior(board, profile, {
    ...(t.rateRps === undefined ? {} : { rateRps: t.rateRps }),
    ...(t.quantile === undefined ? {} : { quantile: t.quantile }),
  });
}

function isBoardSpec(b: unknown): b is BoardSpec {
  const x = b as Partial<BoardSpec> | undefined;
  return typeof x === 'object' && x !== null && Array.isArray(x.cpu?.freqsHz) && Array.isArray(x.gpu?.freqsHz) && typeof x.name === 'string';
}

/** A runner that measures only some configurations (a replayed landscape) says which. */
function offeredBy(runner: TrialRunner): { offered?: (c: Config) => boolean } {
  const r = runner as TrialRunner & { offers?: unknown };
  return typeof r.offers === 'function' ? { offered: (c) => (r.offers as (c: Config) => boolean)(c) } : {};
}

/** `k` presets spread over the list by GPU clock (the lowest, the highest, between). */
function spread<T extends { readonly clocks: Config | Omit<Config, 'batch'> }>(presets: readonly T[], k: number): T[] {
  if (k <= 0) return [];
  const sorted = [...presets].sort((a, b) => (a.clocks.gpuMaxHz ?? 0) - (b.clocks.gpuMaxHz ?? 0));
  if (k >= sorted.length) return sorted;
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.round((i * (sorted.length - 1)) / Math.max(1, k - 1)));
  return [...out].map((i) => sorted[i]!);
}

/** The prior over the search space: its mean for the optimiser and its predicted optima. */
export interface SpacePrior {
  readonly mean: PriorMean;
  /** The lowest predicted energy whose predicted tail is within `limitMs` (else the fastest predicted). */
  best(limitMs: number, source: 'initial'): Planned | null;
  /** The same among the given configurations, reported under `name`. */
  bestOf(configs: readonly Config[], limitMs: number, name: string): (Planned & { readonly energy: number }) | null;
}

/**
 * The prior over a search space: evaluated once at every valid point (a prior that cannot place one
 * is not used: null), then looked up by index.
 */
export function priorOnSpace(predict: PriorPredictor, space: KnobSpace): SpacePrior | null {
  const grid = enumerateGrid(space, 2_000_000);
  if (!grid) return null;
  // the prior over the whole Cartesian product, indexed by mixed radix (O(d) per look-up while scoring)
  const sizes = space.dims.map((d) => d.values.length);
  const strides = sizes.map((_, k) => sizes.slice(k + 1).reduce((a, b) => a * b, 1));
  const dense = (p: readonly number[]) => p.reduce((a, v, k) => a + v * strides[k]!, 0);
  const total = sizes.reduce((a, b) => a * b, 1);
  const logE = new Float64Array(total);
  const logT = new Float64Array(total);
  const e = new Float64Array(grid.size);
  const t = new Float64Array(grid.size);
  for (let i = 0; i < grid.size; i++) {
    const p = gridPoint(grid, i);
    const v = predict(space.toConfig(p));
    // a prior that cannot place every configuration of the space is not used
    if (!v) return null;
    e[i] = v.energyPerQueryJ;
    t[i] = v.latencyTailMs;
    const j = dense(p);
    logE[j] = Math.log(v.energyPerQueryJ);
    logT[j] = Math.log(v.latencyTailMs);
  }
  const pick = (n: number, energy: (i: number) => number, tail: (i: number) => number, limitMs: number): number => {
    let bi = -1;
    let fi = 0;
    for (let i = 0; i < n; i++) {
      if (tail(i) < tail(fi)) fi = i;
      if (tail(i) <= limitMs && (bi < 0 || energy(i) < energy(bi))) bi = i;
    }
    return bi >= 0 ? bi : fi;
  };
  return {
    mean: (p) => {
      const j = dense(p);
      return { objective: logE[j]!, constraint: logT[j]! };
    },
    best(limitMs, source) {
      const i = pick(
        grid.size,
        (j) => e[j]!,
        (j) => t[j]!,
        limitMs,
      );
      return { config: space.toConfig(gridPoint(grid, i)), source };
    },
    bestOf(configs, limitMs, name) {
      const vs = configs.map((c) => predict(c));
      if (configs.length === 0 || vs.some((v) => v === undefined)) return null;
      const i = pick(
        configs.length,
        (j) => vs[j]!.energyPerQueryJ,
        (j) => vs[j]!.latencyTailMs,
        limitMs,
      );
      return { config: configs[i]!, source: 'baseline', name, energy: vs[i]!.energyPerQueryJ };
    },
  };
}

/** The cheapest trial so far that met the SLO with the margin (for callers tracking progress). */
export function incumbentOf(trials: readonly TrialRecord[], slo: Slo, margin: number): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials)
    if (meetsWithMargin(t.measurement, slo, margin) && (!best || t.measurement.energyPerQueryJ < best.measurement.energyPerQueryJ)) best = t;
  return best;
}

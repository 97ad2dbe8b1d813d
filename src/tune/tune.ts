/**
 * The tuning loop: optimiser ↔ measurement, in five phases: (1) the default configuration at every
 * batch size, (2) the CPU clock (two-phase search, the default; a joint search holds none), (3) the
 * search of GPU min/max, EMC and batch by constrained BO (search-phase.ts), (4) the recommendation:
 * a measured configuration that met the SLO with a margin and held it on a confirming
 * re-measurement, (5) the device's presets. The fitted surrogates and the Pareto set go with the
 * run so a new SLO can be answered without measuring again.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_BATCH_SIZES, type KnobDomains, maxClocksConfig } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import { paretoSet } from '../core/pareto.ts';
import { modelSpecOf } from '../model/model-spec.ts';
import { checkSlo, latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import type { BaselineResult, StoredSurrogates, TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { chooseCpuClock } from './cpu-phase.ts';
import { createKnobSpace, type KnobSpace } from './knob-space.ts';
import { confirmRecommendation, explainPassedOver, infeasibleReason, MAX_CONFIRMATIONS } from './recommendation.ts';
import { runSearchPhase, type TuneOptimizer } from './search-phase.ts';
import { denoisedEnergy, fitSurrogates, knobLengthscales, rankByModel } from './surrogates.ts';
import { TrialCache } from './trial-cache.ts';
import { type TuneProgress, TuningState } from './tuning-state.ts';

export type { TuneOptimizer } from './search-phase.ts';
export type { TunePhase, TuneProgress } from './tuning-state.ts';

export interface TuneOptions {
  readonly runner: TrialRunner;
  /** The model measured: its name (fp32, default sequence length) or its whole spec, which the run records. */
  readonly model: string | ModelSpec;
  readonly slo: Slo;
  /** Arrival rate, requests/s (load-aware mode); absent = saturated. */
  readonly rateRps?: number;
  /** Search trials (default 30); the CPU phase, baselines and confirmations come on top. */
  readonly budget?: number;
  readonly seed?: number;
  readonly batchSizes?: readonly number[];
  /** Search every knob together instead of CPU first. */
  readonly joint?: boolean;
  /** The recommendation must measure at most SLO × (1 − margin) (default 0.02). */
  readonly margin?: number;
  readonly optimizer?: TuneOptimizer;
  /** Repeated windows and window length per trial (the runner's defaults otherwise). */
  readonly trial?: Pick<TrialOptions, 'repeats' | 'windowS'>;
  /** Measure the baselines (default true). */
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
  const budget = o.budget ?? 30;
  if (!Number.isInteger(budget) || budget < 1) throw badInput(`budget must be a positive integer, got ${o.budget}`);
  const margin = o.margin ?? SLO_MARGINS.recommendation;
  if (!(margin >= 0 && margin < 0.5)) throw badInput(`margin must be in [0, 0.5), got ${o.margin}`);
  if (o.rateRps !== undefined && !(o.rateRps > 0)) throw badInput(`rate must be positive, got ${o.rateRps}`);
  if (batchSizes.length === 0) throw badInput('no batch sizes given');
  for (const b of batchSizes) if (!Number.isInteger(b) || b < 1) throw badInput(`batch sizes must be positive integers, got ${b}`);
}

/** Run a whole tuning session and return the run record. */
export async function tune(o: TuneOptions): Promise<TuningRun> {
  const batchSizes = [...new Set(o.batchSizes ?? DEFAULT_BATCH_SIZES)].sort((a, b) => a - b);
  checkOptions(o, batchSizes);
  const budget = o.budget ?? 30;
  const seed = o.seed ?? 0;
  const margin = o.margin ?? SLO_MARGINS.recommendation;
  const slo = o.slo;
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
    cache,
    ...(o.onTrial ? { onTrial: o.onTrial } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });

  const defaults = o.baselines === false ? [] : await measureDefaults(state, domains, batchSizes);
  const fixed = await cpuPhase(state, o, domains, batchSizes, latencyLimitMs(slo, margin));
  const space = createKnobSpace({ domains, fixed });
  const stopReason = await runSearchPhase(state, { space, optimizer: o.optimizer ?? 'cbo', slo, margin, budget, seed, trialOptions });
  const { surrogates, recommendation, passedOver } = await confirmPhase(state, space, fixed, slo, margin, seed);
  const baselines = o.baselines === false ? [] : await presetPhase(state, device, defaults, batchSizes, recommendation);

  return {
    id: o.runId ?? randomUUID(),
    createdAt: o.createdAt ?? new Date().toISOString(),
    device,
    model: modelSpec.name,
    modelSpec,
    slo,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    optimizer: `${o.optimizer ?? 'cbo'}${o.joint ? '-joint' : '-two-phase'}`,
    seed,
    budget,
    trials: state.trials,
    recommendation,
    ...(recommendation ? {} : { infeasibleReason: infeasibleReason(state.trials, slo, margin) }),
    baselines,
    ...(surrogates ? { lengthscales: knobLengthscales(surrogates), surrogates } : {}),
    margin,
    stopReason,
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

/** A baseline trial and the name it is reported under. */
interface NamedBaseline {
  readonly name: string;
  readonly rec: TrialRecord;
}

/** Phase 1: the default (every clock at maximum) at every batch size, the reference for savings. */
async function measureDefaults(state: TuningState, domains: KnobDomains, batchSizes: readonly number[]): Promise<NamedBaseline[]> {
  const out: NamedBaseline[] = [];
  for (const b of batchSizes) {
    const rec = await state.measure(maxClocksConfig(domains, b), 'baseline');
    state.defaults.set(b, rec.measurement);
    out.push({ name: 'default', rec });
  }
  return out;
}

/**
 * Phase 2: the CPU clock the search holds. Two-phase search measures it (cpu-phase.ts) when the
 * device has a choice of clocks; a single clock is held as it is; a joint search holds none.
 */
async function cpuPhase(
  state: TuningState,
  o: TuneOptions,
  domains: KnobDomains,
  batchSizes: readonly number[],
  limitMs: number,
): Promise<Partial<Record<'cpuHz', number>>> {
  if (o.joint || !domains.cpuHz || domains.cpuHz.length === 0) return {};
  if (domains.cpuHz.length === 1) return { cpuHz: domains.cpuHz[0]! };
  state.phase = 'cpu';
  const r = await chooseCpuClock({
    cpuHz: domains.cpuHz,
    gpuHz: domains.gpuHz,
    emcHz: domains.emcHz,
    batch: batchSizes[batchSizes.length - 1]!,
    latencyLimitMs: limitMs,
    measure: async (c) => (await state.measure(c, 'cpu-phase')).measurement,
  });
  return { cpuHz: r.cpuHz };
}

/**
 * Phase 4: confirm the recommendation by measuring it again; candidates ranked by the surrogate's
 * denoised energy where it covers them (a lucky window alone does not win). A candidate is judged on
 * all its windows pooled (search + confirmation), so one noisy window neither makes nor breaks it;
 * a refuted candidate hands over to the next cheapest, not to the fastest (most energy) one.
 */
async function confirmPhase(state: TuningState, space: KnobSpace, fixed: StoredSurrogates['fixed'], slo: Slo, margin: number, seed: number) {
  state.phase = 'confirm';
  const trials = state.trials;
  const surrogates = fitSurrogates(space, fixed, trials, seed);
  const { recommendation } = await confirmRecommendation({
    trials,
    slo,
    margin,
    remeasure: (c) => state.measure(c, 'confirm'),
    rank: (cands) => rankByModel(cands, space, surrogates),
    maxConfirmations: MAX_CONFIRMATIONS,
  });
  const passedOver = recommendation ? explainPassedOver(trials, recommendation, slo, margin, denoisedEnergy(space, surrogates)) : [];
  return { surrogates, recommendation, passedOver };
}

/**
 * Phase 5: the device's presets at batch 1 and at the recommended batch, then every baseline (the
 * defaults of phase 1 and the presets) with its saving against the recommendation.
 */
async function presetPhase(
  state: TuningState,
  device: DeviceDescription,
  defaults: readonly NamedBaseline[],
  batchSizes: readonly number[],
  recommendation: TuningRun['recommendation'],
): Promise<BaselineResult[]> {
  state.phase = 'baselines';
  const all = [...defaults];
  const batches = [...new Set([batchSizes[0]!, recommendation?.config.batch ?? batchSizes[0]!])];
  for (const preset of device.presets)
    for (const b of batches) all.push({ name: preset.name, rec: await state.measure({ ...preset.clocks, batch: b }, 'baseline') });
  const eRec = recommendation?.measurement.energyPerQueryJ;
  return all.map(({ name, rec }) => ({
    name,
    config: rec.config,
    measurement: rec.measurement,
    feasible: rec.feasible,
    saving: eRec !== undefined && rec.measurement.valid ? 1 - eRec / rec.measurement.energyPerQueryJ : null,
  }));
}

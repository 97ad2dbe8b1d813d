/**
 * The tuning loop: optimiser ↔ measurement. Two-phase by default (CPU clock first, then GPU min/max,
 * EMC and batch by constrained BO), or joint; baselines measured in the same run; the recommendation
 * is a measured configuration that met the SLO with a margin and held it on a confirming
 * re-measurement; the fitted surrogates and the Pareto set go with the run so a new SLO can be
 * answered without measuring again.
 */
import { randomUUID } from 'node:crypto';
import { type Config, DEFAULT_BATCH_SIZES, type KnobDomains, maxClocksConfig } from '../core/config.ts';
import { badInput } from '../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import { paretoSet } from '../core/pareto.ts';
import type { BaselineResult, StoredSurrogates, TrialRecord, TrialSource, TuningRun } from '../core/tuning-run.ts';
import { checkSlo, latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import { gridSearch, randomSearch } from '../optimize/baselines.ts';
import { ConstrainedBo } from '../optimize/constrained-bo.ts';
import { fitGp, gpFromState } from '../optimize/gp.ts';
import { createKnobSpace, type KnobSpace } from './knob-space.ts';
import type { Optimizer } from '../optimize/optimizer.ts';
import { createRandom } from '../numerics/random.ts';
import { createEncoder } from '../optimize/search-space.ts';
import { chooseCpuClock } from './cpu-phase.ts';
import { confirmRecommendation, explainPassedOver, infeasibleReason, MAX_CONFIRMATIONS, meetsWithMargin } from './recommendation.ts';
import { TrialCache } from './trial-cache.ts';

export type TuneOptimizer = 'cbo' | 'random' | 'grid';
export type TunePhase = 'baselines' | 'cpu' | 'search' | 'confirm';

export interface TuneProgress {
  readonly phase: TunePhase;
  /** Search trials done / budget. */
  readonly done: number;
  readonly budget: number;
  /** All trials so far (every phase). */
  readonly trials: number;
  readonly best: { readonly config: Config; readonly energyPerQueryJ: number; readonly latencyTailMs: number } | null;
  /** 1 − E(best)/E(default at the same batch), when known. */
  readonly saving: number | null;
}

export interface TuneOptions {
  readonly runner: TrialRunner;
  readonly model: string;
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
  const optimizerName = o.optimizer ?? 'cbo';
  const device = await o.runner.describe();
  const domains: KnobDomains = { ...device.knobs, batch: batchSizes };
  const cache = new TrialCache(o.resumeFrom);
  const trials: TrialRecord[] = [];
  const trialOpts: TrialOptions = {
    quantile: slo.quantile,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    ...(o.trial?.repeats === undefined ? {} : { repeats: o.trial.repeats }),
    ...(o.trial?.windowS === undefined ? {} : { windowS: o.trial.windowS }),
  };
  let phase: TunePhase = 'baselines';
  let searchDone = 0;
  const defaults = new Map<number, TrialMeasurement>();
  let best: TrialRecord | null = null;

  const progress = () => {
    if (!o.onProgress) return;
    const d = best ? defaults.get(best.config.batch) : undefined;
    o.onProgress({
      phase,
      done: searchDone,
      budget,
      trials: trials.length,
      best: best
        ? { config: best.config, energyPerQueryJ: best.measurement.energyPerQueryJ, latencyTailMs: best.measurement.latencyTailMs }
        : null,
      saving: best && d?.valid ? 1 - best.measurement.energyPerQueryJ / d.energyPerQueryJ : null,
    });
  };

  const measure = async (
    config: Config,
    source: TrialSource,
    extra: { acquisition?: number; suggestMs?: number } = {},
  ): Promise<TrialRecord> => {
    const cached = cache.take(source, config);
    const m = cached ?? (await o.runner.measure(config, trialOpts));
    const rec: TrialRecord = {
      index: trials.length,
      source,
      config,
      measurement: m,
      feasible: m.valid && m.latencyTailMs <= slo.latencyMs,
      ...(extra.acquisition === undefined || !Number.isFinite(extra.acquisition) ? {} : { acquisition: extra.acquisition }),
      ...(extra.suggestMs === undefined ? {} : { suggestMs: extra.suggestMs }),
    };
    trials.push(rec);
    if (source !== 'confirm' && meetsWithMargin(m, slo, margin) && (!best || m.energyPerQueryJ < best.measurement.energyPerQueryJ))
      best = rec;
    await o.onTrial?.(rec, { reused: cached !== undefined });
    progress();
    return rec;
  };

  // 1. the default (every clock at maximum) at every batch size: the reference for savings
  const baselineRecords: { name: string; rec: TrialRecord }[] = [];
  if (o.baselines !== false) {
    for (const b of batchSizes) {
      const rec = await measure(maxClocksConfig(domains, b), 'baseline');
      defaults.set(b, rec.measurement);
      baselineRecords.push({ name: 'default', rec });
    }
  }

  // 2. the CPU phase (two-phase search) or nothing (joint)
  const fixed: Partial<Record<'cpuHz', number>> = {};
  if (!o.joint && domains.cpuHz && domains.cpuHz.length > 1) {
    phase = 'cpu';
    const r = await chooseCpuClock({
      cpuHz: domains.cpuHz,
      gpuHz: domains.gpuHz,
      emcHz: domains.emcHz,
      batch: batchSizes[batchSizes.length - 1]!,
      latencyLimitMs: latencyLimitMs(slo, margin),
      measure: async (c) => (await measure(c, 'cpu-phase')).measurement,
    });
    fixed.cpuHz = r.cpuHz;
  } else if (!o.joint && domains.cpuHz?.length === 1) fixed.cpuHz = domains.cpuHz[0];

  // 3. the search
  phase = 'search';
  const space = createKnobSpace({ domains, fixed });
  const optimizer = createOptimizer(optimizerName, space, slo, margin, budget, seed);
  // measurements already inside the search space (defaults at the chosen CPU clock) inform the model
  const observe = (rec: TrialRecord) => {
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
        objectiveNoiseVar: noiseVar(m.noise.energyCv, trialOpts.repeats),
        constraintNoiseVar: noiseVar(m.noise.latencyTailCv, trialOpts.repeats),
      });
  };
  for (const t of trials) observe(t);
  let stopReason: TuningRun['stopReason'] = 'budget';
  while (searchDone < budget) {
    const s = optimizer.suggest();
    if (!s) {
      stopReason = optimizer instanceof ConstrainedBo && optimizer.stopReason === 'converged' ? 'converged' : 'exhausted';
      break;
    }
    const rec = await measure(space.toConfig(s.point), s.source, {
      ...(s.acquisition === undefined ? {} : { acquisition: s.acquisition }),
      suggestMs: s.suggestMs,
    });
    searchDone++;
    observe(rec);
  }

  // 4. confirm the recommendation by measuring it again; candidates ranked by the surrogate's
  // denoised energy where it covers them (a lucky window alone does not win). A candidate is judged on
  // all its windows pooled (search + confirmation), so one noisy window neither makes nor breaks it;
  // a refuted candidate hands over to the next cheapest, not to the fastest (most energy) one.
  phase = 'confirm';
  const surrogates = fitSurrogates(space, fixed, trials, seed);
  const { recommendation } = await confirmRecommendation({
    trials,
    slo,
    margin,
    remeasure: (c) => measure(c, 'confirm'),
    rank: (cands) => rankByModel(cands, space, surrogates),
    maxConfirmations: MAX_CONFIRMATIONS,
  });
  const passedOver = recommendation ? explainPassedOver(trials, recommendation, slo, margin, denoisedEnergy(space, surrogates)) : [];

  // 5. presets (and the default) at batch 1 and at the recommended batch
  const baselines: BaselineResult[] = [];
  if (o.baselines !== false) {
    phase = 'baselines';
    const batches = [...new Set([batchSizes[0]!, recommendation?.config.batch ?? batchSizes[0]!])];
    for (const preset of device.presets)
      for (const b of batches) baselineRecords.push({ name: preset.name, rec: await measure({ ...preset.clocks, batch: b }, 'baseline') });
    const eRec = recommendation?.measurement.energyPerQueryJ;
    for (const { name, rec } of baselineRecords)
      baselines.push({
        name,
        config: rec.config,
        measurement: rec.measurement,
        feasible: rec.feasible,
        saving: eRec !== undefined && rec.measurement.valid ? 1 - eRec / rec.measurement.energyPerQueryJ : null,
      });
  }

  const lengthscales: Record<string, number> = {};
  if (surrogates)
    surrogates.dims.forEach((d, i) => {
      lengthscales[d.name] = surrogates.objective.hyper.lengthscales[i]!;
    });
  return {
    id: o.runId ?? randomUUID(),
    createdAt: o.createdAt ?? new Date().toISOString(),
    device,
    model: o.model,
    slo,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    optimizer: `${optimizerName}${o.joint ? '-joint' : '-two-phase'}`,
    seed,
    budget,
    trials,
    recommendation,
    ...(recommendation ? {} : { infeasibleReason: infeasibleReason(trials, slo, margin) }),
    baselines,
    ...(surrogates ? { lengthscales, surrogates } : {}),
    margin,
    stopReason,
    pareto: paretoSet(trials),
    reusedTrials: cache.reused,
    ...(passedOver.length > 0 ? { passedOver } : {}),
  };
}

/** The objective surrogate's denoised energy per query of a configuration in its space. */
function denoisedEnergy(space: KnobSpace, s: StoredSurrogates | undefined): (c: Config) => number | undefined {
  if (!s) return () => undefined;
  const gp = gpFromState(s.objective);
  const enc = createEncoder(space);
  return (c) => {
    const p = space.toPoint(c);
    return p ? Math.exp(gp.predict(enc(p), 1).mean[0]!) : undefined;
  };
}

/** Re-rank candidates by the objective surrogate's posterior mean (measured energy outside its space). */
export function rankByModel(cands: TrialRecord[], space: KnobSpace, s: StoredSurrogates | undefined): TrialRecord[] {
  if (!s || cands.length < 2) return cands;
  const model = denoisedEnergy(space, s);
  const score = cands.map((c) => model(c.config) ?? c.measurement.energyPerQueryJ);
  return cands
    .map((c, i) => ({ c, s: score[i]! }))
    .sort((a, b) => a.s - b.s)
    .map((x) => x.c);
}

/** Variance of the log of a mean of `repeats` windows whose coefficient of variation is `cv`. */
function noiseVar(cv: number, repeats = 3): number {
  return Number.isFinite(cv) && cv > 0 ? (cv * cv) / Math.max(1, repeats) : 0;
}

function createOptimizer(name: TuneOptimizer, space: KnobSpace, slo: Slo, margin: number, budget: number, seed: number): Optimizer {
  if (name === 'random') return randomSearch(space, seed);
  if (name === 'grid') return gridSearch(space, budget, seed);
  return new ConstrainedBo({ space, threshold: Math.log(latencyLimitMs(slo, margin)), seed });
}

/** GPs of ln energy and ln tail latency over every valid trial inside the search space. */
export function fitSurrogates(
  space: KnobSpace,
  fixed: StoredSurrogates['fixed'],
  trials: readonly TrialRecord[],
  seed = 0,
): StoredSurrogates | undefined {
  const enc = createEncoder(space);
  const d = space.dims.length;
  const rows = trials
    .map((t) => ({ p: space.toPoint(t.config), m: t.measurement }))
    .filter((r): r is { p: number[]; m: TrialMeasurement } => r.p !== null && r.m.valid && r.m.energyPerQueryJ > 0 && r.m.latencyTailMs > 0);
  if (rows.length < 3) return undefined;
  const x = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    enc(r.p, x, i * d);
  });
  const rng = createRandom(seed + 7);
  const objective = fitGp(x, Float64Array.from(rows, (r) => Math.log(r.m.energyPerQueryJ)), d, { rng, randomStarts: 2 });
  const constraint = fitGp(x, Float64Array.from(rows, (r) => Math.log(r.m.latencyTailMs)), d, { rng, randomStarts: 2 });
  return {
    dims: space.dims.map((dim, i) => ({ name: space.knobs[i]!, values: dim.values, scale: dim.scale })),
    fixed,
    objective: objective.state,
    constraint: constraint.state,
  };
}

/**
 * The previous tuning method, kept for comparison (`tune --two-phase`, the tuner benchmark): (1) the
 * default configuration at every batch size, (2) the CPU clock on its own (cpu-phase.ts), (3) the
 * search of GPU min/max, EMC and batch by constrained BO for `budget` search trials, (4) the
 * confirmed recommendation, (5) the device's presets, measured after the decision. Its budget
 * counts search trials only.
 */
import { type KnobDomains, maxClocksConfig } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { latencyLimitMs, type Slo } from '../core/slo.ts';
import type { StoredSurrogates, TuningRun } from '../core/tuning-run.ts';
import { chooseCpuClock } from './cpu-phase.ts';
import { createKnobSpace, type KnobSpace } from './knob-space.ts';
import { confirmRecommendation, explainPassedOver, MAX_CONFIRMATIONS } from './recommendation.ts';
import { type NamedBaseline, baselineResults } from './baseline-results.ts';
import { runSearchPhase, type TuneOptimizer } from './search-phase.ts';
import { denoisedEnergy, fitSurrogates, rankByModel } from './surrogates.ts';
import type { TuningState } from './tuning-state.ts';
import type { TrialOptions } from '../core/measurement.ts';

export interface TwoPhaseOptions {
  readonly device: DeviceDescription;
  readonly domains: KnobDomains;
  readonly batchSizes: readonly number[];
  readonly slo: Slo;
  readonly margin: number;
  /** Search trials. */
  readonly budget: number;
  readonly seed: number;
  readonly optimizer: TuneOptimizer;
  readonly baselines: boolean;
  readonly trialOptions: TrialOptions;
}

export interface TuneOutcome {
  readonly stopReason: NonNullable<TuningRun['stopReason']>;
  readonly surrogates: StoredSurrogates | undefined;
  readonly recommendation: TuningRun['recommendation'];
  readonly passedOver: NonNullable<TuningRun['passedOver']>;
  readonly baselines: TuningRun['baselines'];
}

export async function tuneTwoPhase(state: TuningState, o: TwoPhaseOptions): Promise<TuneOutcome> {
  const defaults = o.baselines ? await measureDefaults(state, o.domains, o.batchSizes) : [];
  const fixed = await cpuPhase(state, o.domains, o.batchSizes, latencyLimitMs(o.slo, o.margin));
  const space = createKnobSpace({ domains: o.domains, fixed });
  const stopReason = await runSearchPhase(state, {
    space,
    optimizer: o.optimizer,
    slo: o.slo,
    margin: o.margin,
    budget: o.budget,
    seed: o.seed,
    trialOptions: o.trialOptions,
  });
  const { surrogates, recommendation, passedOver } = await confirmPhase(state, space, fixed, o.slo, o.margin, o.seed);
  const baselines = o.baselines ? await presetPhase(state, o.device, defaults, o.batchSizes, recommendation) : [];
  return { stopReason, surrogates, recommendation, passedOver, baselines };
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

/** Phase 2: the CPU clock the search holds (a single clock is held as it is). */
async function cpuPhase(state: TuningState, domains: KnobDomains, batchSizes: readonly number[], limitMs: number): Promise<Partial<Record<'cpuHz', number>>> {
  if (!domains.cpuHz || domains.cpuHz.length === 0) return {};
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

/** Phase 4: confirm the recommendation by measuring it again (candidates ranked by the surrogate). */
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

/** Phase 5: the device's presets at batch 1 and at the recommended batch, after the decision. */
async function presetPhase(
  state: TuningState,
  device: DeviceDescription,
  defaults: readonly NamedBaseline[],
  batchSizes: readonly number[],
  recommendation: TuningRun['recommendation'],
) {
  state.phase = 'baselines';
  const all = [...defaults];
  const batches = [...new Set([batchSizes[0]!, recommendation?.config.batch ?? batchSizes[0]!])];
  for (const preset of device.presets)
    for (const b of batches) all.push({ name: preset.name, rec: await state.measure({ ...preset.clocks, batch: b }, 'baseline') });
  return baselineResults(all, recommendation);
}

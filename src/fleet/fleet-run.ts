/**
 * A whole fleet tuning run: register it as a fleet run (agents of its board type lease its trials),
 * drive the parallel tuner until the budget is measured, then store the run and its profile. The
 * profile's numbers are the fleet's mean board; the run says which boards measured it and each
 * board's offsets.
 */
import { randomUUID } from 'node:crypto';
import { type Config, maxClocksConfig } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { Slo } from '../core/slo.ts';
import type { BaselineResult, TuningRun } from '../core/tuning-run.ts';
import type { PendingStrategy } from '../optimize/pending-points.ts';
import type { FleetTrialRecord, Store, TrialTask } from '../store/store.ts';
import { createKnobSpace, type KnobSpace } from '../tune/knob-space.ts';
import type { BoardOffset } from './board-offsets.ts';
import { type FleetConfirmation, type FleetIncumbent, ParallelTuner } from './parallel-tuner.ts';

export interface FleetTuningOptions {
  readonly store: Store;
  /** The board type's description (knob tables): any board of the type, or its twin. */
  readonly device: DeviceDescription;
  readonly model: ModelSpec;
  readonly slo: Slo;
  readonly rateRps?: number;
  readonly budget: number;
  readonly seed: number;
  readonly parallel: number;
  readonly margin: number;
  readonly batchSizes: readonly number[];
  readonly trial?: { readonly repeats?: number; readonly windowS?: number };
  readonly strategy?: PendingStrategy;
  readonly boardOffsets?: boolean;
  /**
   * A reference round: every board measures the reference configuration once (default
   * DEFAULT_REFERENCES: none; the boards' offsets then come from the confirmation round, where
   * several boards measure one configuration, and the search treats every board as the mean board).
   */
  readonly references?: boolean;
  /** Confirmation rounds for the recommendation (default DEFAULT_CONFIRM_ROUNDS; 0 = none). */
  readonly confirmRounds?: number;
  /** Margin under the SLO each board's own measurements of the recommendation must keep (default `margin`). */
  readonly boardMargin?: number;
  /** Search trials a board measures before its reference trial (default DEFAULT_REFERENCE_AFTER). */
  readonly referenceAfter?: number;
  /** Windows of the reference trial (default the search trials'; 1 = a third of the time, a noisier offset). */
  readonly referenceRepeats?: number;
  /** Quasi-random points before the model takes over (default the optimiser's). */
  readonly initialPoints?: number;
  /** Wait between looks at the queue, ms (default 500). */
  readonly pollMs?: number;
  readonly onProgress?: (p: FleetProgress) => void;
  readonly signal?: AbortSignal;
  /** Run id (default a fresh UUID). */
  readonly runId?: string;
}

/** Search trials a board measures before its reference trial (0: the reference first; chosen by bench/fleet.bench.ts). */
export const DEFAULT_REFERENCE_AFTER = 0;

/** Whether fleet runs spend a round on every board's reference trial (chosen by bench/fleet.bench.ts). */
export const DEFAULT_REFERENCES = false;

export interface FleetProgress {
  readonly searchDone: number;
  readonly budget: number;
  readonly inFlight: number;
  readonly boards: number;
  readonly best: FleetIncumbent | null;
}

export interface FleetRunInfo {
  readonly parallel: number;
  readonly strategy: PendingStrategy;
  readonly reference: Config;
  readonly boards: readonly BoardOffset[];
  /** Confirmation rounds spent, configurations they rejected, the one they confirmed (null: none). */
  readonly confirmation: FleetConfirmation;
}

/** A tuning run measured by a fleet: the usual run plus which boards measured it and their offsets. */
export interface FleetTuningRun extends TuningRun {
  /** Each with the queue entry and board it came from. */
  readonly trials: readonly FleetTrialRecord[];
  readonly fleet: FleetRunInfo;
}

/** The search space of a fleet run: GPU min ≤ max, EMC and batch; the CPU clock held at its maximum. */
export function fleetKnobSpace(device: DeviceDescription, batchSizes: readonly number[]): KnobSpace {
  const cpu = device.knobs.cpuHz;
  return createKnobSpace({ domains: { ...device.knobs, batch: batchSizes }, fixed: cpu && cpu.length > 0 ? { cpuHz: cpu[cpu.length - 1]! } : {} });
}

/** Every board's first trial: all clocks at their maximum, at the smallest batch size (the 'default' baseline). */
export function referenceConfig(device: DeviceDescription, batchSizes: readonly number[]): Config {
  const batch = Math.min(...batchSizes);
  return maxClocksConfig({ ...device.knobs, batch: [batch] }, batch);
}

export interface FleetSetup {
  readonly runId: string;
  readonly space: KnobSpace;
  readonly tuner: ParallelTuner;
  readonly reference: Config;
}

/** Register the fleet run in the store and make its tuner (nothing posted yet). */
export async function startFleetRun(o: FleetTuningOptions): Promise<FleetSetup> {
  const runId = o.runId ?? randomUUID();
  const space = fleetKnobSpace(o.device, o.batchSizes);
  const reference = referenceConfig(o.device, o.batchSizes);
  const task: Omit<TrialTask, 'config'> = {
    model: o.model,
    sloMs: o.slo.latencyMs,
    trial: {
      quantile: o.slo.quantile,
      ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
      ...(o.trial?.repeats === undefined ? {} : { repeats: o.trial.repeats }),
      ...(o.trial?.windowS === undefined ? {} : { windowS: o.trial.windowS }),
    },
  };
  const tuner = new ParallelTuner({
    store: o.store,
    runId,
    space,
    slo: o.slo,
    margin: o.margin,
    budget: o.budget,
    seed: o.seed,
    parallel: o.parallel,
    task,
    ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
    ...(o.boardOffsets === undefined ? {} : { boardOffsets: o.boardOffsets }),
    ...(o.referenceRepeats === undefined ? {} : { referenceRepeats: o.referenceRepeats }),
    ...(o.initialPoints === undefined ? {} : { initialPoints: o.initialPoints }),
    ...(o.confirmRounds === undefined ? {} : { confirmRounds: o.confirmRounds }),
    ...(o.boardMargin === undefined ? {} : { boardMargin: o.boardMargin }),
  });
  await o.store.createRun({
    id: runId,
    device: o.device,
    model: o.model.name,
    sloMs: o.slo.latencyMs,
    quantile: o.slo.quantile,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    optimizer: `cbo-parallel`,
    seed: o.seed,
    budget: o.budget,
    settingsKey: JSON.stringify({ fleet: runId }),
    createdAt: new Date().toISOString(),
    fleet: {
      parallel: o.parallel,
      ...((o.references ?? DEFAULT_REFERENCES)
        ? {
            reference: { ...task, config: reference, ...(o.referenceRepeats === undefined ? {} : { trial: { ...task.trial, repeats: o.referenceRepeats } }) },
          }
        : {}),
      referenceAfter: o.referenceAfter ?? DEFAULT_REFERENCE_AFTER,
    },
  });
  return { runId, space, tuner, reference };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run a fleet tuning to the end in real time (agents do the measuring); stores the run and its profile. */
export async function runFleetTuning(o: FleetTuningOptions): Promise<{ readonly run: FleetTuningRun; readonly profileId: string }> {
  const setup = await startFleetRun(o);
  const { tuner } = setup;
  try {
    while (!tuner.finished) {
      if (o.signal?.aborted) throw new Error('fleet run interrupted');
      const fresh = await tuner.collect();
      await tuner.fill();
      if (fresh.length > 0)
        o.onProgress?.({ searchDone: tuner.searchDone, budget: o.budget, inFlight: tuner.inFlight, boards: tuner.offsets().size, best: tuner.incumbent() });
      if (!tuner.finished && fresh.length === 0) await sleep(o.pollMs ?? 500);
    }
  } catch (e) {
    await o.store.cancelQueued(setup.runId);
    await o.store.markFailed(setup.runId);
    throw e;
  }
  return finishFleetRun(o, setup);
}

/** Build the finished run from the tuner, store it with its profile, and drop what is still queued. */
export async function finishFleetRun(o: FleetTuningOptions, s: FleetSetup): Promise<{ readonly run: FleetTuningRun; readonly profileId: string }> {
  await o.store.cancelQueued(s.runId);
  const run = fleetRunOf(o, s);
  const profileId = await o.store.finishRun(run);
  return { run: { ...run, profileId }, profileId };
}

/** A trial's measurement as the fleet's mean board would read it. */
function asMeanBoard(t: FleetTrialRecord, offsets: ReadonlyMap<string, BoardOffset>): TrialMeasurement {
  const off = offsets.get(t.boardId);
  const e = Math.exp(-(off?.energy ?? 0));
  const l = Math.exp(-(off?.latency ?? 0));
  const m = t.measurement;
  return {
    ...m,
    energyPerQueryJ: m.energyPerQueryJ * e,
    powerW: m.powerW * e,
    latencyP50Ms: m.latencyP50Ms * l,
    latencyTailMs: m.latencyTailMs * l,
    serviceMs: m.serviceMs * l,
  };
}

export function fleetRunOf(o: FleetTuningOptions, s: FleetSetup): FleetTuningRun {
  const { tuner } = s;
  const offsets = tuner.offsets();
  const best = tuner.incumbent();
  const trials = tuner.measured;
  const pick = (c: Config) => trials.filter((t) => JSON.stringify(t.config) === JSON.stringify(c) && t.measurement.valid);
  const recTrial = best ? pick(best.config)[0] : undefined;
  const recommendation =
    best && recTrial
      ? {
          config: best.config,
          measurement: {
            ...asMeanBoard(recTrial, offsets),
            energyPerQueryJ: Math.exp(best.energy),
            latencyTailMs: Math.exp(best.latency),
          },
        }
      : null;
  const refs = trials.filter((t) => t.source === 'baseline' && t.measurement.valid);
  const baselines: BaselineResult[] = [];
  if (refs.length > 0) {
    const m = asMeanBoard(refs[0]!, offsets);
    const energy = Math.exp(refs.reduce((a, t) => a + Math.log(asMeanBoard(t, offsets).energyPerQueryJ), 0) / refs.length);
    const tail = Math.exp(refs.reduce((a, t) => a + Math.log(asMeanBoard(t, offsets).latencyTailMs), 0) / refs.length);
    baselines.push({
      name: 'default',
      config: s.reference,
      measurement: { ...m, energyPerQueryJ: energy, latencyTailMs: tail },
      feasible: tail <= o.slo.latencyMs,
      saving: recommendation ? 1 - recommendation.measurement.energyPerQueryJ / energy : null,
    });
  }
  return {
    id: s.runId,
    createdAt: new Date().toISOString(),
    device: o.device,
    model: o.model.name,
    modelSpec: o.model,
    slo: o.slo,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    optimizer: 'cbo-parallel',
    seed: o.seed,
    budget: o.budget,
    trials,
    recommendation,
    ...(recommendation ? {} : { infeasibleReason: 'infeasible: no measured configuration met the SLO on every board' }),
    baselines,
    margin: o.margin,
    stopReason: tuner.stopReason,
    fleet: { parallel: o.parallel, strategy: tuner.strategy, reference: s.reference, boards: [...offsets.values()], confirmation: tuner.confirmation },
  };
}

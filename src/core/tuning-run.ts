import type { Config, KnobName } from './config.ts';
import type { DeviceDescription } from './device.ts';
import type { TrialMeasurement } from './measurement.ts';
import type { ModelSpec } from './model-spec.ts';
import type { Slo } from './slo.ts';
// type-only: a stored run holds the optimiser's GP state as it is; optimize imports nothing from core
import type { GpState } from '../optimize/gp-state.ts';

/** Who proposed a trial. */
export type TrialSource = 'initial' | 'bo' | 'random' | 'grid' | 'exhaustive' | 'baseline' | 'cpu-phase' | 'confirm';

export interface TrialRecord {
  /** 0-based order in the run. */
  readonly index: number;
  readonly source: TrialSource;
  readonly config: Config;
  readonly measurement: TrialMeasurement;
  /** Met the SLO (tail latency ≤ SLO) and the window was valid. */
  readonly feasible: boolean;
  /** Acquisition value that chose it, when the optimiser chose it. */
  readonly acquisition?: number;
  /** Wall time the optimiser took to suggest it, ms. */
  readonly suggestMs?: number;
}

export interface BaselineResult {
  /** 'default' (all clocks at maximum) or a preset's name. */
  readonly name: string;
  readonly config: Config;
  readonly measurement: TrialMeasurement;
  readonly feasible: boolean;
  /** 1 − E(recommended)/E(baseline); positive = the recommendation saves energy. */
  readonly saving: number | null;
}

/**
 * A whole tuning run as stored and as printed by `tune --json`; the report and the recommend
 * command read this.
 */
export interface TuningRun {
  readonly id: string;
  readonly createdAt: string;
  readonly device: DeviceDescription;
  /** The model's name, as `modelSpec.name`. */
  readonly model: string;
  /**
   * What was measured: name, precision, sequence length. Optional on read: a stored run or file
   * without it does not say which precision it measured and is read as the defaults
   * (`runModelSpec` in src/model: fp32, the default sequence length).
   */
  readonly modelSpec?: ModelSpec;
  readonly slo: Slo;
  readonly rateRps?: number;
  /**
   * The execution stack the twin modelled (`tensorrt`, `onnxruntime`, `pytorch`) when one was
   * chosen (`--runtime`, or a twin profile's). Absent on stored runs before it existed and on runs
   * that chose none: the twin's default fused engine, or whatever ran on a real device.
   */
  readonly runtime?: string;
  /**
   * The calibrated twin profile the run's twin was (`--twin-profile`): enough to recompute the run's
   * landscape on the calibrated twin without the file. Absent: no calibration.
   */
  readonly twinProfile?: TwinProfileRecord;
  readonly optimizer: string;
  readonly seed: number;
  readonly budget: number;
  readonly trials: readonly TrialRecord[];
  /** Measurements of the run: in total and per phase (initial, search, confirm; two-phase: baselines, cpu, search, confirm). */
  readonly measurements?: { readonly total: number; readonly byPhase: Readonly<Record<string, number>> };
  /** A measured configuration that met the SLO with margin; null when nothing did. */
  readonly recommendation: { readonly config: Config; readonly measurement: TrialMeasurement } | null;
  /** Why there is no recommendation, e.g. "infeasible: the fastest configuration measured 61.2 ms at p99". */
  readonly infeasibleReason?: string;
  readonly baselines: readonly BaselineResult[];
  /** Fitted GP lengthscales per knob (smaller = the knob matters more), from the objective's surrogate. */
  readonly lengthscales?: Readonly<Record<string, number>>;
  /** Relative latency margin the recommendation kept below the SLO (0.02 = measured tail ≤ 98 % of it). */
  readonly margin?: number;
  /** Why the search ended: 'budget', 'converged' (best acquisition negligible) or 'exhausted' (grid measured). */
  readonly stopReason?: 'budget' | 'converged' | 'exhausted';
  /** Measured Pareto set: valid trials no other trial beats on both energy per query and tail latency. */
  readonly pareto?: readonly ParetoPoint[];
  /** The fitted surrogates, enough to predict any configuration of the search space without measuring. */
  readonly surrogates?: StoredSurrogates;
  /** Id of the stored profile (SQLite) this run produced. */
  readonly profileId?: string;
  /** Trials re-used from an interrupted run instead of measured again (resume). */
  readonly reusedTrials?: number;
  /**
   * Trials that met the margin in their own window at lower measured energy than the recommendation
   * but were not recommended, each with the reason (a re-measurement broke the margin, its pooled
   * windows did, or its denoised energy is not lower): so no reader takes them for an oversight.
   */
  readonly passedOver?: readonly PassedOverTrial[];
}

/** A calibrated twin profile as a run records it. */
export interface TwinProfileRecord {
  /** The file as given. */
  readonly path: string;
  /** sha256 of the file's bytes (hex): which version of the file it was. */
  readonly sha256: string;
  /** The model and precision it was calibrated for. */
  readonly model: string;
  readonly dtype: string;
  /** The fitted multipliers on the nominal twin (launchOverhead, computeEfficiency, memoryEfficiency, dynamicPower, staticPower). */
  readonly coefficients: Readonly<Record<string, number>>;
}

export interface PassedOverTrial {
  readonly trial: number;
  readonly config: Config;
  /** The trial's own window(s). */
  readonly energyPerQueryJ: number;
  readonly latencyTailMs: number;
  readonly reason: 'refuted' | 'pooled-over-margin' | 'denoised-higher';
  /** One sentence with the numbers behind the reason. */
  readonly why: string;
}

export interface ParetoPoint {
  readonly config: Config;
  readonly energyPerQueryJ: number;
  readonly latencyTailMs: number;
  readonly latencyP50Ms: number;
  /** Index of the trial it comes from. */
  readonly trial: number;
}

export interface StoredSurrogates {
  /** The searched knobs in dimension order, their value tables and encodings. */
  readonly dims: readonly { readonly name: KnobName; readonly values: readonly number[]; readonly scale: 'ordinal' | 'log' }[];
  /** Knobs held fixed during the search (the CPU clock of the two-phase search). */
  readonly fixed: Partial<Record<Exclude<KnobName, 'batch'>, number>>;
  /** GP of ln(energy per query / J). */
  readonly objective: GpState;
  /** GP of ln(tail latency / ms) at `Slo.quantile`. */
  readonly constraint: GpState;
}

import type { Config } from './config.ts';
import type { DeviceDescription } from './device.ts';
import type { TrialMeasurement } from './measurement.ts';

/** The latency objective: request latency at `quantile` must stay at or below `latencyMs`. */
export interface Slo {
  readonly latencyMs: number;
  readonly quantile: number;
}

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
  readonly model: string;
  readonly slo: Slo;
  readonly rateRps?: number;
  readonly optimizer: string;
  readonly seed: number;
  readonly budget: number;
  readonly trials: readonly TrialRecord[];
  /** A measured configuration that met the SLO with margin; null when nothing did. */
  readonly recommendation: { readonly config: Config; readonly measurement: TrialMeasurement } | null;
  /** Why there is no recommendation, e.g. "infeasible: the fastest configuration measured 61.2 ms at p99". */
  readonly infeasibleReason?: string;
  readonly baselines: readonly BaselineResult[];
  /** Fitted GP lengthscales per knob (smaller = the knob matters more), from the objective's surrogate. */
  readonly lengthscales?: Readonly<Record<string, number>>;
}

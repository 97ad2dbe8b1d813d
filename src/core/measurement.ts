import type { Config } from './config.ts';
import type { DeviceDescription } from './device.ts';

/** What one trial measured at one configuration. */
export interface TrialMeasurement {
  readonly config: Config;
  /** False when the window is unusable (a failed power read, a workload error…). */
  readonly valid: boolean;
  readonly invalidReason?: string;
  /** Board input energy per query, joules. */
  readonly energyPerQueryJ: number;
  readonly latencyP50Ms: number;
  /** Request latency at `tailQuantile` (p99 by default): batch-fill wait + service time. */
  readonly latencyTailMs: number;
  readonly tailQuantile: number;
  /** Batch service time (mean), ms. */
  readonly serviceMs: number;
  readonly throughputQps: number;
  /** Mean board input power over the window, watts. */
  readonly powerW: number;
  readonly railsW: Readonly<Record<string, number>>;
  readonly queries: number;
  readonly windowS: number;
  /** Coefficient of variation across repeated windows (0 when one window). */
  readonly noise: { readonly energyCv: number; readonly latencyTailCv: number };
}

export interface TrialOptions {
  /** Latency quantile the SLO applies to (0.99 by default). */
  readonly quantile?: number;
  /** Arrival rate in requests/s; absent = saturated (back-to-back batches). */
  readonly rateRps?: number;
  /** Repeated measurement windows (noise estimate). */
  readonly repeats?: number;
  readonly windowS?: number;
}

/** Runs trials at configurations: the twin (virtual time) or a real device + workload + power meter. */
export interface TrialRunner {
  describe(): Promise<DeviceDescription>;
  measure(config: Config, opts?: TrialOptions): Promise<TrialMeasurement>;
  close(): Promise<void>;
}

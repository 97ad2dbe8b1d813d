/**
 * Everything a request handler or a plugin needs about what is being served: the backend, the
 * batcher, metrics, the device and the active configuration, SLO and profile. Plugins (the
 * fine-tuning scheduler) reach it as `app.polythrottle` and may listen to SLO and config changes.
 */
import type { Config } from '../core/config.ts';
import type { ApplyResult, Device, FrequencyConfig } from '../core/device.ts';
import type { InferenceBackend, ModelMetadata } from '../core/inference.ts';
import type { Slo } from '../core/slo.ts';
import type { PowerMeter } from '../measure/power-meter.ts';
import type { DriftRetuner } from './drift-retuner.ts';
import type { DynamicBatcher } from './dynamic-batcher.ts';
import type { HostCostEstimator } from './host-cost.ts';
import type { Metrics } from './metrics.ts';

/** Where the served configuration came from and what it measured, for `GET /v1/profile`. */
export interface ServingProfile {
  /** 'profile' (a tuning run), 'manual' (--config) … */
  readonly source: string;
  readonly id?: string;
  readonly model?: string;
  readonly config: Config;
  readonly slo: Slo;
  /** What the tuner measured at this configuration, when it did. */
  readonly measured?: {
    readonly energyPerQueryJ: number;
    readonly latencyTailMs: number;
    readonly serviceMs: number;
    readonly throughputQps: number;
    readonly powerW: number;
  };
  readonly device?: string;
}

export interface ContextListeners {
  slo: ((slo: Slo) => void)[];
  config: ((applied: ApplyResult) => void)[];
  /**
   * After every `applyConfig` (clocks and/or batch size): the configuration in force now (clocks as
   * read back) and the knobs that call set.
   */
  configured: ((config: Config, changed: readonly (keyof Config)[]) => void)[];
}

export class ServingContext {
  readonly backend: InferenceBackend;
  readonly batcher: DynamicBatcher;
  readonly metrics: Metrics;
  readonly device: Device | undefined;
  readonly powerMeter: PowerMeter | undefined;
  readonly profile: ServingProfile | undefined;
  /** Host-side cost per request (parsing, encoding), when the server accounts it. */
  readonly hostCosts: HostCostEstimator | undefined;
  /** Drift detection and re-tuning, when the server runs it. */
  drift: DriftRetuner | undefined;
  readonly #models: Map<string, ModelMetadata>;
  readonly #listeners: ContextListeners = { slo: [], config: [], configured: [] };
  /** Clocks as last applied and read back (undefined without a device). */
  applied: ApplyResult | undefined;
  ready = false;

  constructor(init: {
    backend: InferenceBackend;
    batcher: DynamicBatcher;
    metrics: Metrics;
    device?: Device | undefined;
    powerMeter?: PowerMeter | undefined;
    profile?: ServingProfile | undefined;
    applied?: ApplyResult | undefined;
    hostCosts?: HostCostEstimator | undefined;
  }) {
    this.hostCosts = init.hostCosts;
    this.backend = init.backend;
    this.batcher = init.batcher;
    this.metrics = init.metrics;
    this.device = init.device;
    this.powerMeter = init.powerMeter;
    this.profile = init.profile;
    this.applied = init.applied;
    this.#models = new Map(init.backend.models().map((m) => [m.name, m]));
  }

  models(): readonly ModelMetadata[] {
    return [...this.#models.values()];
  }

  model(name: string): ModelMetadata | undefined {
    return this.#models.get(name);
  }

  get slo(): Slo {
    return this.batcher.slo;
  }

  on<K extends keyof ContextListeners>(event: K, fn: ContextListeners[K][number]): void {
    (this.#listeners[event] as unknown[]).push(fn);
  }

  setSlo(slo: Slo): void {
    this.batcher.setSlo(slo);
    this.metrics.slo.reset();
    this.metrics.slo.set({ quantile: String(slo.quantile) }, slo.latencyMs / 1000);
    for (const fn of this.#listeners.slo) fn(slo);
  }

  /** Apply clocks through the device (read back, adjustments reported) and/or change batch sizes. */
  async applyConfig(clocks: FrequencyConfig | undefined, batch: number | undefined): Promise<ApplyResult | undefined> {
    let result: ApplyResult | undefined;
    if (clocks && Object.values(clocks).some((v) => v !== undefined)) {
      if (!this.device) throw new Error('no device to apply clocks to');
      result = await this.device.apply(clocks);
      this.applied = result;
      this.metrics.setClocks(result.applied);
      for (const fn of this.#listeners.config) fn(result);
    }
    if (batch !== undefined)
      for (const m of this.#models.values()) {
        const prev = this.batcher.maxBatch(m.name);
        if (prev !== undefined && m.inputs.every((i) => i.shape[0] === -1)) this.batcher.setModel(m.name, { maxBatch: batch });
      }
    if (this.#listeners.configured.length > 0) {
      const now = await this.currentConfig();
      const changed = [
        ...(result ? (Object.keys(clocks ?? {}) as (keyof FrequencyConfig)[]).filter((k) => clocks?.[k] !== undefined) : []),
        ...(batch !== undefined ? (['batch'] as const) : []),
      ];
      for (const fn of this.#listeners.configured) fn(now, changed);
    }
    return result;
  }

  /** The configuration in force: clocks as the device reads them now, plus the first model's batch size. */
  async currentConfig(): Promise<Config> {
    const first = this.models()[0];
    const batch = first ? (this.batcher.maxBatch(first.name) ?? 1) : 1;
    const clocks = this.device ? await this.device.readClocks() : (this.applied?.applied ?? {});
    return { ...clocks, batch };
  }
}

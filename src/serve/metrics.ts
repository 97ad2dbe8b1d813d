/**
 * The server's Prometheus metrics (prom-client, own Registry so several servers can live in one
 * process). Names follow Prometheus conventions: base units (seconds, joules, watts, hertz),
 * `_total` for counters. `registry` is public so plugins (the fine-tuning scheduler) add their own.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FrequencyConfig } from '../core/device.ts';

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
const ENERGY_BUCKETS_J = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const CLOCK_LABELS: Record<keyof FrequencyConfig, string> = {
  cpuHz: 'cpu',
  gpuMinHz: 'gpu_min',
  gpuMaxHz: 'gpu_max',
  emcHz: 'emc',
};

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'status'>;
  readonly requestLatency: Histogram<'model'>;
  readonly queueLatency: Histogram<'model'>;
  readonly batchLatency: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly sloViolations: Counter<'model'>;
  readonly lateDrops: Counter<'model'>;
  readonly energy: Counter<'model'>;
  readonly energyPerRequest: Histogram<'model'>;
  readonly unmeteredBatches: Counter<'model'>;
  readonly boardEnergy: Gauge;
  readonly power: Gauge;
  readonly clocks: Gauge<'clock'>;
  readonly queueDepth: Gauge<'model'>;
  readonly queueDelay: Gauge<'model'>;
  readonly maxBatch: Gauge<'model'>;
  readonly slo: Gauge<'quantile'>;
  readonly driftAlarms: Counter<'model' | 'signal' | 'direction'>;
  readonly retuneActions: Counter<'model' | 'action'>;
  readonly probeBatches: Counter<'model'>;
  readonly driftStatistic: Gauge<'model' | 'signal' | 'direction'>;
  readonly driftLogRatio: Gauge<'model' | 'signal'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'polythrottle_requests_total',
      help: 'Inference requests answered, by HTTP status',
      labelNames: ['model', 'status'],
      registers,
    });
    this.requestLatency = new Histogram({
      name: 'polythrottle_request_duration_seconds',
      help: 'Latency of admitted inference requests, arrival to response (queue + batch fill + service)',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'polythrottle_request_queue_duration_seconds',
      help: 'Time a request waited in the queue before its batch started',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.batchLatency = new Histogram({
      name: 'polythrottle_batch_duration_seconds',
      help: 'Service time of one batch on the device',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'polythrottle_batch_size',
      help: 'Rows per executed batch',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.sloViolations = new Counter({
      name: 'polythrottle_slo_violations_total',
      help: 'Admitted requests whose latency exceeded the SLO latency',
      labelNames: ['model'],
      registers,
    });
    this.lateDrops = new Counter({
      name: 'polythrottle_late_drops_total',
      help: 'Queued requests refused (503) at dispatch because they could no longer finish inside the SLO',
      labelNames: ['model'],
      registers,
    });
    // The energy and power series are registered at their first value (countEnergy,
    // countUnmetered, setPower, setBoardEnergy): with nothing to meter energy with (`--device
    // none`) they are left out instead of reading 0 W and 0 J.
    this.energy = new Counter({
      name: 'polythrottle_energy_joules_total',
      help: 'Board energy attributed to inference batches',
      labelNames: ['model'],
      registers: [],
    });
    this.energyPerRequest = new Histogram({
      name: 'polythrottle_energy_per_request_joules',
      help: 'Energy per request: its batch energy divided by the batch rows, times its rows',
      labelNames: ['model'],
      buckets: ENERGY_BUCKETS_J,
      registers: [],
    });
    this.unmeteredBatches = new Counter({
      name: 'polythrottle_energy_unmetered_batches_total',
      help: 'Batches whose energy could not be measured (failed power read, no sensor)',
      labelNames: ['model'],
      registers: [],
    });
    this.boardEnergy = new Gauge({
      name: 'polythrottle_board_energy_joules',
      help: 'Board input energy integrated since the server started (idle time included), when a power sensor is read',
      registers: [],
    });
    this.power = new Gauge({
      name: 'polythrottle_board_power_watts',
      help: 'Board input power: latest sensor sample, or the last batch mean power on a simulated board',
      registers: [],
    });
    this.clocks = new Gauge({
      name: 'polythrottle_clock_hertz',
      help: 'Current clock frequencies as read back from the device',
      labelNames: ['clock'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'polythrottle_queue_depth',
      help: 'Rows waiting in the queue',
      labelNames: ['model'],
      registers,
    });
    this.queueDelay = new Gauge({
      name: 'polythrottle_queue_delay_seconds',
      help: 'Queue delay in force: longest wait for a batch to fill (derived from the SLO and the service time)',
      labelNames: ['model'],
      registers,
    });
    this.maxBatch = new Gauge({
      name: 'polythrottle_max_batch_size',
      help: 'Batch size limit in force (the profile batch size)',
      labelNames: ['model'],
      registers,
    });
    this.driftAlarms = new Counter({
      name: 'polythrottle_drift_alarms_total',
      help: 'Drift detected: the sequential test (CUSUM) on batch service time or energy left the noise band',
      labelNames: ['model', 'signal', 'direction'],
      registers,
    });
    this.retuneActions = new Counter({
      name: 'polythrottle_retune_actions_total',
      help: 'Re-tuning actions after drift: reselect (from the surrogates), probe (a trial taken while serving), refresh (selection after probes), keep',
      labelNames: ['model', 'action'],
      registers,
    });
    this.probeBatches = new Counter({
      name: 'polythrottle_probe_batches_total',
      help: 'Batches served at a probed configuration (the probe budget spent)',
      labelNames: ['model'],
      registers,
    });
    this.driftStatistic = new Gauge({
      name: 'polythrottle_drift_cusum',
      help: 'CUSUM statistic of the drift test, in noise-band units (alarm above the threshold)',
      labelNames: ['model', 'signal', 'direction'],
      registers,
    });
    this.driftLogRatio = new Gauge({
      name: 'polythrottle_drift_log_ratio',
      help: 'ln(measured / reference) of the last batches, per signal (service time, energy per row)',
      labelNames: ['model', 'signal'],
      registers,
    });
    this.slo = new Gauge({
      name: 'polythrottle_slo_latency_seconds',
      help: 'The latency SLO, by the quantile it applies to',
      labelNames: ['quantile'],
      registers,
    });
  }

  /** A batch's energy, J, and each request's share of it. */
  countEnergy(model: string, joules: number, perRequestJ: readonly number[]): void {
    this.#registerOnce(this.energy);
    this.#registerOnce(this.energyPerRequest);
    this.energy.inc({ model }, joules);
    for (const j of perRequestJ) this.energyPerRequest.observe({ model }, j);
  }

  /** A batch whose energy could not be measured (failed power read, no sensor). */
  countUnmetered(model: string): void {
    this.#registerOnce(this.unmeteredBatches);
    this.unmeteredBatches.inc({ model });
  }

  /** Board power, W: the series appears with its first value. */
  setPower(w: number): void {
    this.#registerOnce(this.power);
    this.power.set(w);
  }

  /** Board energy since the start, J: the series appears with its first value. */
  setBoardEnergy(j: number): void {
    this.#registerOnce(this.boardEnergy);
    this.boardEnergy.set(j);
  }

  #registerOnce(metric: Gauge | Counter<'model'> | Histogram<'model'>): void {
    const { name } = metric as unknown as { name: string };
    if (!this.registry.getSingleMetric(name)) this.registry.registerMetric(metric);
  }

  setClocks(c: FrequencyConfig): void {
    for (const [k, label] of Object.entries(CLOCK_LABELS)) {
      const v = c[k as keyof FrequencyConfig];
      if (v === undefined) this.clocks.remove(label);
      else this.clocks.set({ clock: label }, v);
    }
  }

  /** Text exposition and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * A trial on a real device: apply the clocks → settle → warm up → measured windows with the power
 * meter running → energy per query, request-latency quantiles, throughput, rail powers, and the
 * noise across repeated windows. Whatever executes the model is a WorkloadRunner.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../core/config.ts';
import type { Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import { mulberry32 } from '../numerics/random.ts';
import { coefficientOfVariation, mean, quantileSorted } from '../numerics/stats.ts';
import { requestLatenciesMs, type RunResult, type WorkloadRunner } from '../workload/runner.ts';
import { type EnergyWindow, PowerMeter } from './power-meter.ts';

/** What the trial needs of a power meter (PowerMeter; tests may pass another). */
export interface EnergyMeter {
  start(): void;
  stop(): Promise<void>;
  begin(name?: string): Promise<unknown>;
  end(handle: never): Promise<Pick<EnergyWindow, 'valid' | 'reason' | 'durationS' | 'energyJ' | 'meanPowerW' | 'railsW'>>;
}

export interface MeasuredTrialOptions {
  readonly device: Device;
  readonly runner: WorkloadRunner;
  /** Power meter over the device's sources (default: a PowerMeter sampling every `periodMs`). */
  readonly meter?: EnergyMeter;
  readonly periodMs?: number;
  /** Wait after applying clocks before warming up, s (default 1). */
  readonly settleS?: number;
  /** Warm-up run at the trial's batch size, s (default 2; first batches are slow). */
  readonly warmupS?: number;
  /** Measured window, s (default 5); a trial's `windowS` option overrides it. */
  readonly windowS?: number;
  /** Repeated windows for the noise estimate (default 3); a trial's `repeats` overrides it. */
  readonly repeats?: number;
  /** Idle window for load-aware mode (`rateRps`), s (default 2): the power between batches. */
  readonly idleS?: number;
  /** Batches in flight (default: the runner's own default). */
  readonly concurrency?: number;
  /** Close device, runner and meter on close (default true). */
  readonly owns?: boolean;
  /**
   * Snapshot the device before the first write and restore it on close (default true). Off when
   * the device is guarded (src/device/safety), whose close restores the clocks itself.
   */
  readonly restore?: boolean;
  /** Seed of the simulated Poisson arrivals in load-aware mode (default 1). */
  readonly seed?: number;
  /** Progress lines (settling, warming up, window k of n). */
  readonly onProgress?: (line: string) => void;
}

export function invalidMeasurement(config: Config, reason: string, quantile: number): TrialMeasurement {
  return {
    config,
    valid: false,
    invalidReason: reason,
    energyPerQueryJ: Number.NaN,
    latencyP50Ms: Number.NaN,
    latencyTailMs: Number.NaN,
    tailQuantile: quantile,
    serviceMs: Number.NaN,
    throughputQps: Number.NaN,
    powerW: Number.NaN,
    railsW: {},
    queries: 0,
    windowS: 0,
    noise: { energyCv: Number.NaN, latencyTailCv: Number.NaN },
  };
}

interface Window {
  readonly run: RunResult;
  /** Energy billed to the served queries (active part of the window), J. */
  readonly activeJ: number;
  readonly meanPowerW: number;
  readonly railsW: Readonly<Record<string, number>>;
  readonly durationS: number;
}

export interface ArrivalReplay {
  /** Request latency (arrival → its batch done) of every request, ms, in arrival order. */
  readonly latenciesMs: number[];
  /** Time the device spent on batches, s. */
  readonly busyS: number;
  /** From the first arrival process start to the last batch done, s. */
  readonly spanS: number;
}

/**
 * Replays measured batch times against Poisson arrivals at `rateRps` (seeded): a batch leaves
 * when `batch` requests have arrived, batches run one at a time in arrival order, each for the next
 * measured batch time. A request's latency is the wait for its batch to fill, the wait for the
 * device (queueing behind earlier batches), and the batch time. When batches take longer than
 * they take to fill, the backlog grows over the replay, as it would over a real window.
 */
export function replayArrivals(batchLatenciesMs: readonly number[], batch: number, rateRps: number, seed = 1): ArrivalReplay {
  const rnd = mulberry32(seed);
  const arrivals = new Float64Array(batch);
  const out: number[] = new Array(batchLatenciesMs.length * batch);
  let t = 0;
  let free = 0;
  let busy = 0;
  let i = 0;
  for (const ms of batchLatenciesMs) {
    for (let k = 0; k < batch; k++) {
      t -= Math.log(1 - rnd()) / rateRps;
      arrivals[k] = t;
    }
    const s = ms / 1000;
    free = Math.max(t, free) + s;
    busy += s;
    for (let k = 0; k < batch; k++) out[i++] = (free - arrivals[k]!) * 1000;
  }
  return { latenciesMs: out, busyS: busy, spanS: free };
}

/**
 * Energy per query and request latencies of a window, in the mode asked for.
 *
 * Saturated (no rate): batches run back to back; energy/query = active energy / queries; a
 * request's latency is its batch's latency.
 * Load-aware (rate λ): the measured batch times are replayed against Poisson arrivals
 * (replayArrivals): latencies include the batch-fill and queueing waits, and the device idles at
 * the measured idle power whenever no batch is ready:
 * energy/query = (active energy + P_idle · max(0, queries/λ − busy time)) / queries; throughput is
 * the rate, or what the device can serve when that is less.
 */
export function windowFigures(
  w: Window,
  batch: number,
  rateRps: number | undefined,
  idlePowerW: number | undefined,
  seed = 1,
): { energyPerQueryJ: number; latencies: number[]; throughputQps: number } {
  const activePerQuery = w.activeJ / w.run.served;
  if (rateRps === undefined) return { energyPerQueryJ: activePerQuery, latencies: requestLatenciesMs(w.run), throughputQps: w.run.served / w.run.wallS };
  const r = replayArrivals(w.run.batchLatenciesMs, batch, rateRps, seed);
  const queries = w.run.batchLatenciesMs.length * batch;
  // Expected values rather than this replay's draw: queries arrive over queries/λ on average.
  const idleJ = Math.max(0, queries / rateRps - r.busyS) * (idlePowerW ?? 0);
  return { energyPerQueryJ: (activePerQuery * queries + idleJ) / queries, latencies: r.latenciesMs, throughputQps: Math.min(rateRps, queries / r.busyS) };
}

export class MeasuredTrialRunner implements TrialRunner {
  private readonly device: Device;
  private readonly runner: WorkloadRunner;
  private meter: EnergyMeter | undefined;
  private snapshot: DeviceSnapshot | undefined;
  private closed = false;

  constructor(private readonly o: MeasuredTrialOptions) {
    this.device = o.device;
    this.runner = o.runner;
    this.meter = o.meter;
    for (const [k, v] of [
      ['settleS', o.settleS],
      ['warmupS', o.warmupS],
      ['idleS', o.idleS],
    ] as const)
      if (v !== undefined && !(v >= 0)) throw badInput(`${k} must be ≥ 0, got ${v}`);
    if (o.windowS !== undefined && !(o.windowS > 0)) throw badInput(`the measurement window must be positive, got ${o.windowS} s`);
    if (o.repeats !== undefined && (!Number.isInteger(o.repeats) || o.repeats < 1)) throw badInput(`repeats must be a positive integer, got ${o.repeats}`);
  }

  describe(): Promise<DeviceDescription> {
    return this.device.describe();
  }

  private async ensureMeter(): Promise<EnergyMeter> {
    if (!this.meter) {
      const sources: readonly PowerSource[] = await this.device.powerSources();
      if (sources.length === 0)
        throw badInput(`device ${this.device.id} has no power sensor: energy cannot be measured`, 'run `polythrottle devices` to see what is missing');
      this.meter = new PowerMeter(sources, { periodMs: this.o.periodMs ?? 50 });
    }
    return this.meter;
  }

  private progress(line: string): void {
    this.o.onProgress?.(line);
  }

  async measure(config: Config, opts: TrialOptions = {}): Promise<TrialMeasurement> {
    if (this.closed) throw badInput('the trial runner is closed');
    const q = opts.quantile ?? 0.99;
    if (!(q > 0 && q < 1)) throw badInput(`the latency quantile must be in (0, 1), got ${q}`);
    if (opts.rateRps !== undefined && !(opts.rateRps > 0)) throw badInput(`the arrival rate must be positive, got ${opts.rateRps}`);
    const windowS = opts.windowS ?? this.o.windowS ?? 5;
    const repeats = opts.repeats ?? this.o.repeats ?? 3;
    if (!Number.isInteger(config.batch) || config.batch < 1) throw badInput(`batch must be a positive integer, got ${config.batch}`);
    const meter = await this.ensureMeter();

    // Apply: a clamped or refused knob means the requested configuration was not measured.
    const clocks: FrequencyConfig = Object.fromEntries(
      (['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz'] as const).filter((k) => config[k] !== undefined).map((k) => [k, config[k]]),
    );
    if (Object.keys(clocks).length > 0) {
      if (this.o.restore !== false) this.snapshot ??= await this.device.snapshot();
      const applied = await this.device.apply(clocks);
      const bad = applied.adjustments;
      if (bad.length > 0)
        return invalidMeasurement(config, `the device did not take the configuration: ${bad.map((a) => `${a.knob} ${a.kind}: ${a.detail}`).join('; ')}`, q);
    }
    meter.start();
    const settleS = this.o.settleS ?? 1;
    if (settleS > 0) {
      this.progress(`settling ${settleS} s`);
      await sleep(settleS * 1000);
    }
    const concurrency = this.o.concurrency;
    const runOpts = { batch: config.batch, ...(concurrency === undefined ? {} : { concurrency }) };
    const warmupS = this.o.warmupS ?? 2;
    if (warmupS > 0) {
      this.progress(`warming up ${warmupS} s`);
      const warm = await this.runner.run({ ...runOpts, length: { durationS: warmupS } });
      if (warm.errors > 0) return invalidMeasurement(config, `the workload failed while warming up: ${warm.errorReasons.join(' | ')}`, q);
    }

    const windows: Window[] = [];
    for (let r = 0; r < repeats; r++) {
      this.progress(`window ${r + 1}/${repeats} (${windowS} s)`);
      let opened: Promise<unknown> | undefined;
      const run = await this.runner.run({ ...runOpts, length: { durationS: windowS }, onStart: () => (opened = meter.begin(`trial ${r + 1}`)) });
      const energy = opened ? await meter.end((await opened) as never) : undefined;
      const attempted = run.batchLatenciesMs.length + run.errors;
      if (run.errors > 0) return invalidMeasurement(config, `${run.errors} of ${attempted} batches failed: ${run.errorReasons.join(' | ')}`, q);
      if (run.served === 0) return invalidMeasurement(config, `no query completed in the ${windowS} s window`, q);
      if (!energy) return invalidMeasurement(config, 'the workload never started its measured part', q);
      if (!energy.valid) return invalidMeasurement(config, `the power window is invalid: ${energy.reason ?? 'unknown reason'}`, q);
      if (!(energy.energyJ > 0))
        return invalidMeasurement(config, `the power sensors read no energy over the ${energy.durationS.toFixed(2)} s window (a stuck or cached counter?)`, q);
      // Bill the queries the energy of the part of the window they ran in (a program's start-up and
      // exit are outside it).
      const active = energy.durationS > 0 ? Math.min(1, run.wallS / energy.durationS) : 1;
      windows.push({ run, activeJ: energy.energyJ * active, meanPowerW: energy.meanPowerW, railsW: energy.railsW, durationS: energy.durationS });
    }

    let idlePowerW: number | undefined;
    if (opts.rateRps !== undefined) {
      const idleS = this.o.idleS ?? 2;
      this.progress(`idle window ${idleS} s`);
      const h = await meter.begin('idle');
      await sleep(idleS * 1000);
      const idle = await meter.end(h as never);
      if (!idle.valid) return invalidMeasurement(config, `the idle power window is invalid: ${idle.reason ?? 'unknown reason'}`, q);
      idlePowerW = idle.meanPowerW;
    }
    return this.combine(config, windows, q, opts.rateRps, idlePowerW);
  }

  private combine(config: Config, windows: readonly Window[], q: number, rateRps: number | undefined, idlePowerW: number | undefined): TrialMeasurement {
    const seed = this.o.seed ?? 1;
    const perWindow = windows.map((w, i) => windowFigures(w, config.batch, rateRps, idlePowerW, seed + i));
    const tails = perWindow.map((f) =>
      quantileSorted(
        [...f.latencies].sort((a, b) => a - b),
        q,
      ),
    );
    const served = windows.reduce((a, w) => a + w.run.served, 0);
    const wallS = windows.reduce((a, w) => a + w.run.wallS, 0);
    const activeJ = windows.reduce((a, w) => a + w.activeJ, 0);
    const durationS = windows.reduce((a, w) => a + w.durationS, 0);
    const batchLatencies = windows.flatMap((w) => w.run.batchLatenciesMs);
    // Pooled over every window (total energy / total queries; one replay of all batches), not the
    // mean of the windows' ratios.
    const pooled = windowFigures(
      {
        run: { batch: config.batch, batchLatenciesMs: batchLatencies, served, errors: 0, errorReasons: [], wallS },
        activeJ,
        meanPowerW: Number.NaN,
        railsW: {},
        durationS,
      },
      config.batch,
      rateRps,
      idlePowerW,
      seed,
    );
    const all = pooled.latencies.sort((a, b) => a - b);
    const throughputQps = pooled.throughputQps;
    const railsW: Record<string, number> = {};
    for (const w of windows) for (const [k, v] of Object.entries(w.railsW)) railsW[k] = (railsW[k] ?? 0) + (v * w.durationS) / durationS;
    return {
      config,
      valid: true,
      energyPerQueryJ: pooled.energyPerQueryJ,
      latencyP50Ms: quantileSorted(all, 0.5),
      latencyTailMs: quantileSorted(all, q),
      tailQuantile: q,
      serviceMs: mean(batchLatencies),
      throughputQps,
      powerW: rateRps === undefined ? windows.reduce((a, w) => a + w.meanPowerW * w.durationS, 0) / durationS : pooled.energyPerQueryJ * throughputQps,
      railsW,
      queries: served,
      windowS: durationS,
      noise: { energyCv: coefficientOfVariation(perWindow.map((f) => f.energyPerQueryJ)), latencyTailCv: coefficientOfVariation(tails) },
    };
  }

  /** Restores the clocks as they were before the first trial, then closes what it owns. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.o.owns === false) return;
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<void>) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(async () => this.meter?.stop());
    await attempt(() => this.runner.close());
    if (this.snapshot) {
      const snap = this.snapshot;
      await attempt(() => this.device.restore(snap));
    }
    await attempt(() => this.device.close());
    if (errors.length > 0) throw errors[0];
  }
}

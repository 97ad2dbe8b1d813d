/**
 * The landscape (every configuration of the grid) measured through any TrialRunner — a real device
 * with a workload runner, or the twin — in the row format of the twin's exact landscape
 * (`computeLandscape`), so `landscapeCsv` writes both and an optimiser can be checked against a
 * measured grid too. Real-time trials take seconds each: keep the grid small (batch sizes, CPU).
 */
import type { Config } from '../core/config.ts';
import { DEFAULT_BATCH_SIZES } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { Landscape, LandscapeRow } from '../device/sim/index.ts';

export interface MeasureLandscapeOptions {
  readonly runner: TrialRunner;
  readonly model: string;
  readonly batchSizes?: readonly number[];
  /** CPU clocks: 'all' sweeps the table, a number fixes it; absent: the CPU clock is not set. */
  readonly cpu?: 'all' | number;
  readonly quantile?: number;
  readonly rateRps?: number;
  readonly trial?: Pick<TrialOptions, 'windowS' | 'repeats'>;
  /** After each configuration (for progress and incremental output). */
  readonly onRow?: (row: LandscapeRow, done: number, total: number, m: TrialMeasurement) => void;
  /** Stops after the configuration being measured; the rows so far are returned. */
  readonly signal?: AbortSignal;
}

export interface MeasuredLandscape extends Landscape {
  /** Configurations whose trial was invalid (their rows hold NaN), with the reason. */
  readonly invalid: readonly { readonly config: Config; readonly reason: string }[];
}

/** Every configuration of a device's grid: GPU min ≤ max pairs × EMC × batch (× CPU), knobs it has only. */
export function landscapeConfigs(knobs: DeviceDescription['knobs'], batchSizes: readonly number[], cpu?: 'all' | number): Config[] {
  if (batchSizes.length === 0 || batchSizes.some((b) => !Number.isInteger(b) || b < 1))
    throw badInput(`batch sizes must be positive integers, got ${batchSizes.join(',')}`);
  const cpuTable = knobs.cpuHz ?? [];
  if (cpu !== undefined && cpuTable.length === 0) throw badInput('this device has no CPU clock knob');
  if (typeof cpu === 'number' && !cpuTable.includes(cpu))
    throw badInput(`CPU clock ${cpu} Hz is not in the device's table`, `table (Hz): ${cpuTable.join(', ')}`);
  const cpus: (number | undefined)[] = cpu === 'all' ? [...cpuTable] : [cpu];
  const g = knobs.gpuHz ?? [];
  const gpuPairs: [number | undefined, number | undefined][] = [];
  if (g.length === 0) gpuPairs.push([undefined, undefined]);
  for (let i = 0; i < g.length; i++) for (let j = i; j < g.length; j++) gpuPairs.push([g[i], g[j]]);
  const emcs: (number | undefined)[] = knobs.emcHz && knobs.emcHz.length > 0 ? [...knobs.emcHz] : [undefined];
  const out: Config[] = [];
  for (const cpuHz of cpus)
    for (const batch of batchSizes)
      for (const emcHz of emcs) for (const [gpuMinHz, gpuMaxHz] of gpuPairs) out.push({ cpuHz, gpuMinHz, gpuMaxHz, emcHz, batch });
  return out;
}

const orNaN = (v: number | undefined) => v ?? Number.NaN;

export async function measureLandscape(o: MeasureLandscapeOptions): Promise<MeasuredLandscape> {
  const desc = await o.runner.describe();
  const configs = landscapeConfigs(desc.knobs, o.batchSizes ?? DEFAULT_BATCH_SIZES, o.cpu);
  const q = o.quantile ?? 0.99;
  const rows: LandscapeRow[] = [];
  const invalid: { config: Config; reason: string }[] = [];
  for (const config of configs) {
    if (o.signal?.aborted) break;
    const m = await o.runner.measure(config, {
      quantile: q,
      ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
      ...(o.trial?.windowS === undefined ? {} : { windowS: o.trial.windowS }),
      ...(o.trial?.repeats === undefined ? {} : { repeats: o.trial.repeats }),
    });
    if (!m.valid) invalid.push({ config, reason: m.invalidReason ?? 'invalid window' });
    const row: LandscapeRow = {
      device: desc.id,
      model: o.model,
      cpu_hz: orNaN(config.cpuHz),
      gpu_min_hz: orNaN(config.gpuMinHz),
      gpu_max_hz: orNaN(config.gpuMaxHz),
      emc_hz: orNaN(config.emcHz),
      batch: config.batch,
      latency_p50_ms: m.valid ? m.latencyP50Ms : Number.NaN,
      latency_p99_ms: m.valid ? m.latencyTailMs : Number.NaN,
      energy_per_query_j: m.valid ? m.energyPerQueryJ : Number.NaN,
      power_w: m.valid ? m.powerW : Number.NaN,
      throughput_qps: m.valid ? m.throughputQps : Number.NaN,
    };
    rows.push(row);
    o.onRow?.(row, rows.length, configs.length, m);
  }
  return {
    device: desc.id,
    model: o.model,
    quantile: q,
    ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
    noise: Number.NaN,
    rows,
    invalid,
  };
}

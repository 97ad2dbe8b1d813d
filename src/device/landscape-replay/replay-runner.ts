/**
 * A landscape as a device: each trial replays the file's row for the configuration with seeded
 * measurement noise (the twin's window noise), so an exhaustive grid measured on a real board, or one
 * exported from an older twin, can be tuned and benchmarked against. Configurations missing from the
 * file are not offered (`offers`); measuring one anyway is refused.
 */
import { basename } from 'node:path';
import { type Config, configKey } from '../../core/config.ts';
import type { DeviceDescription } from '../../core/device.ts';
import { badInput } from '../../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../../core/measurement.ts';
import { hash32, mulberry32 } from '../../numerics/random.ts';
import { coefficientOfVariation, mean } from '../../numerics/stats.ts';
import { noisyWindow } from '../sim/trial-runner.ts';
import { type ReplayLandscape, type ReplayRow, replayConfig } from './read-landscape.ts';

export interface LandscapeTrialRunnerOptions {
  readonly landscape: ReplayLandscape;
  /** Relative noise on latency and power per window (default 0.03); 0 replays the rows exactly. */
  readonly noise?: number;
  readonly seed?: number;
}

/** A trial runner that replays a landscape; `offers` tells which configurations the file holds. */
export interface LandscapeTrialRunner extends TrialRunner {
  offers(config: Config): boolean;
  readonly landscape: ReplayLandscape;
}

const sortedSet = (vs: readonly (number | undefined)[]) => [...new Set(vs.filter((v): v is number => v !== undefined))].sort((a, b) => a - b);

export function createLandscapeTrialRunner(o: LandscapeTrialRunnerOptions): LandscapeTrialRunner {
  const land = o.landscape;
  const level = o.noise ?? 0.03;
  if (!(level >= 0 && level < 1)) throw badInput(`noise must be between 0 and 1 (a relative standard deviation), got ${o.noise}`);
  const seed = o.seed ?? 1;
  const byKey = new Map<string, ReplayRow>();
  for (const r of land.rows) byKey.set(configKey(replayConfig(r)), r);
  const visits = new Map<string, number>();
  const gpu = sortedSet(land.rows.flatMap((r) => [r.gpu_min_hz, r.gpu_max_hz]));
  const knobs = {
    ...(land.rows.some((r) => r.cpu_hz !== undefined) ? { cpuHz: sortedSet(land.rows.map((r) => r.cpu_hz)) } : {}),
    ...(gpu.length > 0 ? { gpuHz: gpu } : {}),
    ...(land.rows.some((r) => r.emc_hz !== undefined) ? { emcHz: sortedSet(land.rows.map((r) => r.emc_hz)) } : {}),
  };
  let closed = false;
  return {
    landscape: land,
    offers: (c) => byKey.has(configKey(c)),
    async describe(): Promise<DeviceDescription> {
      return {
        id: `landscape:${basename(land.path)}`,
        kind: 'sim',
        name: `landscape ${basename(land.path)} (${land.device}, ${land.model}, replayed)`,
        knobs,
        presets: [],
        rails: [],
        missing: [],
        warnings: [`measurements replay ${land.path} with ${(level * 100).toFixed(1)} % noise`],
      };
    },
    async measure(config: Config, t: TrialOptions = {}): Promise<TrialMeasurement> {
      if (closed) throw badInput('this trial runner is closed');
      const key = configKey(config);
      const row = byKey.get(key);
      if (!row) throw badInput(`configuration ${key} is not in ${land.path}`, 'a landscape device offers only the configurations its file holds');
      if (t.quantile !== undefined && Math.abs(t.quantile - land.tailQuantile) > 1e-9)
        throw badInput(`${land.path} holds p${land.tailQuantile * 100} latency; it cannot answer p${t.quantile * 100}`);
      if (t.rateRps !== undefined) throw badInput('a landscape replays its own load; --rate does not apply');
      const repeats = t.repeats ?? 3;
      const windowS = t.windowS ?? 10;
      const visit = visits.get(key) ?? 0;
      visits.set(key, visit + 1);
      const u = mulberry32(hash32(seed, `${key}|${visit}`));
      // The row as an exact evaluation, measured the way the twin's windows are (saturated: the file's load).
      const exact = {
        latencyP50Ms: row.latency_p50_ms,
        latencyTailMs: row.latency_p99_ms,
        throughputQps: row.throughput_qps,
        powerW: row.power_w,
        overloaded: false,
      };
      const w = Array.from({ length: repeats }, () => noisyWindow(exact, level, u, undefined));
      const energies = w.map((x) => x.power / x.thr);
      const tails = w.map((x) => x.tail);
      const thr = mean(w.map((x) => x.thr));
      return {
        config,
        valid: true,
        energyPerQueryJ: mean(energies),
        latencyP50Ms: mean(w.map((x) => x.p50)),
        latencyTailMs: mean(tails),
        tailQuantile: land.tailQuantile,
        serviceMs: (row.batch / row.throughput_qps) * 1000,
        throughputQps: thr,
        powerW: mean(w.map((x) => x.power)),
        railsW: {},
        queries: Math.round(thr * repeats * windowS),
        windowS: repeats * windowS,
        noise: { energyCv: coefficientOfVariation(energies), latencyTailCv: coefficientOfVariation(tails) },
      };
    },
    async close() {
      closed = true;
    },
  };
}

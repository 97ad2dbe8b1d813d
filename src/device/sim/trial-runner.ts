import { type Config, configKey, configProblem } from '../../core/config.ts';
import type { DeviceDescription } from '../../core/device.ts';
import { badInput } from '../../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../../core/measurement.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from './board-spec.ts';
import { type Evaluation, evaluateConfig } from './evaluate.ts';
import { hash32, mulberry32 } from '../../numerics/random.ts';
import { coefficientOfVariation, mean } from '../../numerics/stats.ts';
import { windowNoise } from './noise.ts';
import { describeBoard } from './sim-device.ts';

export interface SimTrialRunnerOptions {
  readonly board: string | BoardSpec;
  readonly profile: WorkloadProfile;
  /** Relative noise on latency and power (0.03 by default); 0 gives the exact landscape. */
  readonly noise?: number;
  readonly seed?: number;
  /** Transient thermal model: die temperature carries over from trial to trial. */
  readonly thermal?: boolean;
}

/** A trial runner on the twin, with the virtual time its trials would have taken on the board. */
export interface SimTrialRunner extends TrialRunner {
  readonly board: BoardSpec;
  /** Virtual seconds all trials so far would have taken (settling + measurement windows). */
  readonly virtualTimeS: number;
  /** Die temperature now (thermal model), °C. */
  readonly temperatureC: number;
}

/** Seconds a real trial spends applying clocks, settling and warming up before it measures. */
export const SETTLE_S = 2;
export const DEFAULT_WINDOW_S = 10;
export const DEFAULT_REPEATS = 3;
export const DEFAULT_NOISE = 0.03;

interface WindowValues {
  readonly p50: number;
  readonly tail: number;
  readonly thr: number;
  readonly power: number;
  readonly serviceFactor: number;
  readonly powerFactor: number;
}

/** One noisy measurement window of an exact evaluation. */
export function noisyWindow(
  e: Pick<Evaluation, 'latencyP50Ms' | 'latencyTailMs' | 'throughputQps' | 'powerW' | 'overloaded'>,
  level: number,
  u: () => number,
  rateRps: number | undefined,
): WindowValues {
  const n = windowNoise(level, u);
  const p50 = e.latencyP50Ms * n.service;
  // The jitter scales the tail's excess over the median: a window's tail quantile has a sampling
  // error only as wide as the spread it samples (at saturation, where the exact p99 is the p50, it
  // moves with the service time alone), so its median is the exact value and it never falls below
  // the p50. Clamping a jitter of the whole tail at the p50 instead read 1.4 % high at saturation.
  const tail = n.service * (e.latencyP50Ms + Math.max(0, e.latencyTailMs - e.latencyP50Ms) * n.tailJitter) * n.stall;
  // With an arrival rate the board serves what arrives (unless overloaded); saturated, it serves what it can.
  const thr = rateRps !== undefined && !e.overloaded ? e.throughputQps : e.throughputQps / n.service;
  return { p50, tail, thr, power: e.powerW * n.power, serviceFactor: n.service, powerFactor: n.power };
}

export function createSimTrialRunner(opts: SimTrialRunnerOptions): SimTrialRunner {
  const board = resolveBoard(opts.board);
  const profile = opts.profile;
  const level = opts.noise ?? DEFAULT_NOISE;
  if (!(level >= 0 && level < 1)) throw badInput(`noise must be between 0 and 1 (a relative standard deviation), got ${opts.noise}`);
  const seed = opts.seed ?? 1;
  const visits = new Map<string, number>();
  const domains = { cpuHz: board.cpu.freqsHz, gpuHz: board.gpu.freqsHz, emcHz: board.emc.freqsHz };
  let virtualTimeS = 0;
  let temperatureC = opts.thermal ? board.thermal.ambientC + 10 : board.thermal.leakRefC;
  let closed = false;

  return {
    board,
    get virtualTimeS() {
      return virtualTimeS;
    },
    get temperatureC() {
      return temperatureC;
    },
    async describe(): Promise<DeviceDescription> {
      return describeBoard(board);
    },
    async measure(config: Config, t: TrialOptions = {}): Promise<TrialMeasurement> {
      if (closed) throw badInput('this trial runner is closed');
      const problem = configProblem(config, { ...domains, batch: [config.batch] });
      if (problem) throw badInput(`invalid configuration for sim:${board.name}: ${problem}`);
      const repeats = t.repeats ?? DEFAULT_REPEATS;
      const windowS = t.windowS ?? DEFAULT_WINDOW_S;
      if (!(Number.isInteger(repeats) && repeats >= 1)) throw badInput(`repeats must be a positive integer, got ${t.repeats}`);
      if (!(windowS > 0)) throw badInput(`windowS must be positive, got ${t.windowS}`);
      const e = evaluateConfig(board, profile, config, {
        rateRps: t.rateRps,
        quantile: t.quantile,
        windowS,
        ...(opts.thermal ? { temperatureC } : {}),
      });
      const key = configKey(config);
      const visit = visits.get(key) ?? 0;
      visits.set(key, visit + 1);
      const u = mulberry32(hash32(seed, `${key}|${t.rateRps ?? ''}|${visit}`));
      const w: WindowValues[] = [];
      for (let i = 0; i < repeats; i++) w.push(noisyWindow(e, level, u, t.rateRps));
      const powerW = mean(w.map((x) => x.power));
      const thr = mean(w.map((x) => x.thr));
      const energies = w.map((x) => x.power / x.thr);
      const tails = w.map((x) => x.tail);
      const scale = mean(w.map((x) => x.powerFactor));
      const railsW: Record<string, number> = {};
      for (const [k, v] of Object.entries(e.railsW)) railsW[k] = v * scale;
      const duration = repeats * windowS;
      virtualTimeS += SETTLE_S + duration;
      if (opts.thermal) {
        const th = board.thermal;
        const steady = th.ambientC + th.rthCPerW * powerW;
        temperatureC = steady + (temperatureC - steady) * Math.exp(-(SETTLE_S + duration) / th.tauS);
      }
      return {
        config,
        valid: true,
        energyPerQueryJ: mean(energies),
        latencyP50Ms: mean(w.map((x) => x.p50)),
        latencyTailMs: mean(tails),
        tailQuantile: e.tailQuantile,
        serviceMs: e.serviceMs * mean(w.map((x) => x.serviceFactor)),
        throughputQps: thr,
        powerW,
        railsW,
        queries: Math.round(thr * duration),
        windowS: duration,
        noise: { energyCv: coefficientOfVariation(energies), latencyTailCv: coefficientOfVariation(tails) },
      };
    },
    async close() {
      closed = true;
    },
  };
}

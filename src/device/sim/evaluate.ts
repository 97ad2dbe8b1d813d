import { type Config, configKey, configProblem } from '../../core/config.ts';
import { badInput } from '../../core/errors.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from './board-spec.ts';
import { fillWaitQuantileS, queueWaitQuantileS } from './fill-wait.ts';
import { nearestRankQuantile } from '../../numerics/stats.ts';
import { type GovernorRun, simulateGovernor } from './governor.ts';
import { NC, basePowerW, batchExtraJ, leakFactor, railPowers } from './power-model.ts';
import { type ServiceTable, computeServiceTable, prepareProfile } from './service-table.ts';

export interface EvaluateOptions {
  /** Arrival rate, requests/s. Absent: saturated (back-to-back batches, active energy only). */
  readonly rateRps?: number;
  /** Tail quantile of request latency (0.99 by default). */
  readonly quantile?: number;
  /** Steady-state thermal model: leakage follows die temperature; GPU throttles above the limit. */
  readonly thermal?: boolean;
  /** Evaluate at this die temperature instead (leakage, throttling); overrides `thermal`. */
  readonly temperatureC?: number;
  /** Online CPU cores (the board's default mode when absent). */
  readonly onlineCpus?: number;
  /** Measurement window an overloaded queue grows over, seconds (10 by default). */
  readonly windowS?: number;
}

/** The twin's exact (noise-free) answer at one configuration. */
export interface Evaluation {
  readonly board: string;
  readonly model: string;
  /** The configuration with every clock resolved (defaults filled in). */
  readonly config: Required<Config>;
  readonly mode: 'saturated' | 'load-aware';
  /** Mean batch service time (GPU, incl. launch overhead), ms. */
  readonly serviceMs: number;
  readonly serviceP50Ms: number;
  readonly serviceTailMs: number;
  /** Non-overlapped host time per batch, ms. */
  readonly hostMs: number;
  /** Pre-processing a request waits for, ms. */
  readonly preprocessMs: number;
  readonly fillWaitP50Ms: number;
  readonly fillWaitTailMs: number;
  readonly queueWaitTailMs: number;
  readonly latencyP50Ms: number;
  readonly latencyTailMs: number;
  readonly tailQuantile: number;
  /** Mean board input power over the measured interval, W. */
  readonly powerW: number;
  readonly railsW: Readonly<Record<string, number>>;
  readonly energyPerQueryJ: number;
  readonly throughputQps: number;
  /** Time-weighted mean GPU clock while a batch runs, Hz. */
  readonly gpuEffectiveHz: number;
  /** Share of time the GPU engine is busy. */
  readonly gpuUtilisation: number;
  /** Share of GPU-busy time in compute-bound kernels (the rest is memory-bound). */
  readonly computeBoundShare: number;
  readonly bytesPerQuery: number;
  /** Load-aware mode only: the arrival rate exceeds what this configuration can serve. */
  readonly overloaded: boolean;
  readonly temperatureC: number;
  /** The thermal model lowered the GPU maximum to this clock (Hz), or null. */
  readonly throttledGpuMaxHz: number | null;
  /** Seconds of virtual time one measured interval covers (for trial-duration accounting). */
  readonly intervalS: number;
}

interface Ctx {
  readonly tables: Map<string, ServiceTable>;
  readonly results: Map<string, Evaluation>;
}
const contexts = new WeakMap<WorkloadProfile, WeakMap<BoardSpec, Ctx>>();

function ctxFor(board: BoardSpec, profile: WorkloadProfile): Ctx {
  let m = contexts.get(profile);
  if (!m) {
    m = new WeakMap();
    contexts.set(profile, m);
  }
  let c = m.get(board);
  if (!c) {
    c = { tables: new Map(), results: new Map() };
    m.set(board, c);
  }
  return c;
}

/** Service table for (batch, EMC, CPU), cached per board and profile. */
export function serviceTableFor(board: BoardSpec, profile: WorkloadProfile, batch: number, emcHz: number, cpuHz: number): ServiceTable {
  const ctx = ctxFor(board, profile);
  const key = `${batch}|${emcHz}|${cpuHz}`;
  let t = ctx.tables.get(key);
  if (!t) {
    t = computeServiceTable(board, prepareProfile(profile, board), batch, emcHz, cpuHz);
    if (ctx.tables.size > 20000) ctx.tables.clear();
    ctx.tables.set(key, t);
  }
  return t;
}

/** Fill in absent clocks the way the board boots: its default nvpmodel mode's caps, GPU governed min..max. */
export function resolveConfig(board: BoardSpec, c: Config): Required<Config> {
  const mode = board.modes.find((m) => m.name === board.defaultMode)!;
  return {
    cpuHz: c.cpuHz ?? mode.cpuHz,
    gpuMinHz: c.gpuMinHz ?? board.gpu.freqsHz[0]!,
    gpuMaxHz: c.gpuMaxHz ?? mode.gpuMaxHz,
    emcHz: c.emcHz ?? mode.emcHz,
    batch: c.batch,
  };
}

function defaultOnlineCpus(board: BoardSpec): number {
  return board.modes.find((m) => m.name === board.defaultMode)?.onlineCpus ?? board.cpu.cores;
}

function checkOptions(o: EvaluateOptions): void {
  if (o.rateRps !== undefined && !(o.rateRps > 0 && Number.isFinite(o.rateRps)))
    throw badInput(`arrival rate must be a positive number of requests/s, got ${o.rateRps}`);
  if (o.quantile !== undefined && !(o.quantile > 0 && o.quantile < 1))
    throw badInput(`latency quantile must be between 0 and 1 (exclusive), got ${o.quantile}`);
}

/**
 * Evaluate a configuration exactly: latency (p50 and tail), power per rail, energy per query and
 * throughput, with the GPU governor simulated in virtual time. Pure and cached: the same inputs give
 * the same object back.
 */
export function evaluateConfig(boardIn: string | BoardSpec, profile: WorkloadProfile, config: Config, opts: EvaluateOptions = {}): Evaluation {
  const board = resolveBoard(boardIn);
  checkOptions(opts);
  const c = resolveConfig(board, config);
  const problem = configProblem(c, { cpuHz: board.cpu.freqsHz, gpuHz: board.gpu.freqsHz, emcHz: board.emc.freqsHz, batch: [c.batch] });
  if (problem) throw badInput(`invalid configuration for sim:${board.name}: ${problem}`);
  const q = opts.quantile ?? 0.99;
  const ctx = ctxFor(board, profile);
  const key = `${configKey(c)}|${opts.rateRps ?? 's'}|${q}|${opts.thermal ? 1 : 0}|${opts.temperatureC ?? ''}|${opts.onlineCpus ?? ''}|${opts.windowS ?? ''}`;
  const hit = ctx.results.get(key);
  if (hit) return hit;
  const r = evaluateThermal(board, profile, c, opts, q);
  if (ctx.results.size > 200000) ctx.results.clear();
  ctx.results.set(key, r);
  return r;
}

function evaluateThermal(board: BoardSpec, profile: WorkloadProfile, c: Required<Config>, opts: EvaluateOptions, q: number): Evaluation {
  const th = board.thermal;
  if (opts.temperatureC !== undefined) {
    let e = evaluateAt(board, profile, c, opts, q, opts.temperatureC, null);
    // Above the throttle point the GPU maximum is stepped down until the clock falls below it.
    if (opts.temperatureC > th.throttleC) {
      const g = board.gpu.freqsHz;
      const excess = opts.temperatureC - th.throttleC;
      const steps = Math.min(g.indexOf(c.gpuMaxHz), 1 + Math.floor(excess / 2));
      const capIdx = g.indexOf(c.gpuMaxHz) - steps;
      if (steps > 0) e = evaluateAt(board, profile, c, opts, q, opts.temperatureC, g[capIdx]!);
    }
    return e;
  }
  if (!opts.thermal) return evaluateAt(board, profile, c, opts, q, th.leakRefC, null);
  // Steady state: die temperature follows board power; leakage follows temperature; throttle above the limit.
  const g = board.gpu.freqsHz;
  let cap: number | null = null;
  for (;;) {
    let temp = th.ambientC + th.rthCPerW * evaluateAt(board, profile, c, opts, q, th.leakRefC, cap).powerW;
    let e = evaluateAt(board, profile, c, opts, q, temp, cap);
    for (let k = 0; k < 4; k++) {
      temp = th.ambientC + th.rthCPerW * e.powerW;
      e = evaluateAt(board, profile, c, opts, q, temp, cap);
    }
    const capIdx = g.indexOf(cap ?? c.gpuMaxHz);
    if (temp <= th.throttleC || capIdx <= 0) return e;
    cap = g[capIdx - 1]!;
  }
}

// Scratch buffers reused by every evaluation (evaluateAt is synchronous and not re-entrant).
const SCRATCH_ENERGY = new Float64Array(NC);
const SCRATCH_BASE = new Float64Array(NC);
const SCRATCH_EXTRA = new Float64Array(NC);
const SCRATCH_MEAN = new Float64Array(NC);

/** A board with stalls: when more than 1 − q of batches stall, the tail quantile is a stalled batch. */
function stallTailFactor(board: BoardSpec, q: number): number {
  const s = board.stalls;
  return s !== undefined && s.share > 1 - q ? s.factor : 1;
}

function evaluateAt(
  board: BoardSpec,
  profile: WorkloadProfile,
  c: Required<Config>,
  opts: EvaluateOptions,
  q: number,
  tempC: number,
  gpuCapHz: number | null,
): Evaluation {
  const g = board.gpu.freqsHz;
  const maxHz = gpuCapHz !== null && gpuCapHz < c.gpuMaxHz ? gpuCapHz : c.gpuMaxHz;
  const hi = g.indexOf(maxHz);
  const lo = Math.min(g.indexOf(c.gpuMinHz), hi);
  const t = serviceTableFor(board, profile, c.batch, c.emcHz, c.cpuHz);
  const rate = opts.rateRps;
  const mode = rate === undefined ? 'saturated' : 'load-aware';
  const online = opts.onlineCpus ?? defaultOnlineCpus(board);
  // Pre-processing is a pipelined stage on the cores the launching thread leaves free: it bounds
  // the batch rate only when the CPU cannot keep up.
  const preInterval = t.preprocessCoreS / Math.max(1, online - 1);
  const intervalS = rate === undefined ? 0 : c.batch / rate;
  const run: GovernorRun = simulateGovernor(board, lo, hi, {
    inferS: t.inferS,
    busyFrac: t.busyFrac,
    hostS: t.hostS,
    minIntervalS: preInterval,
    intervalS,
    mode,
  });

  // Energy over the measured interval, per component.
  const leak = leakFactor(board, tempC);
  const energy = SCRATCH_ENERGY.fill(0);
  const base = SCRATCH_BASE;
  const extra = SCRATCH_EXTRA;
  let busyS = 0;
  let hzBusy = 0;
  let computeS = 0;
  let serviceSum = 0;
  for (let i = lo; i <= hi; i++) {
    const ti = run.timeAt[i]!;
    const pi = run.progressAt[i]!;
    if (ti === 0 && pi === 0) continue;
    basePowerW(board, g[i]!, c.emcHz, c.cpuHz, online, leak, base);
    batchExtraJ(board, t, i, extra);
    for (let k = 0; k < NC; k++) energy[k] = energy[k]! + ti * base[k]! + pi * extra[k]!;
    const wall = pi * t.inferS[i]!;
    busyS += wall * t.busyFrac[i]!;
    hzBusy += wall * g[i]!;
    computeS += wall * t.busyFrac[i]! * t.computeShare[i]!;
    serviceSum += wall;
  }
  const D = run.durationS;
  const meanW = SCRATCH_MEAN;
  for (let k = 0; k < NC; k++) meanW[k] = energy[k]! / D;
  const rails = railPowers(board, meanW);
  const queries = run.batches * c.batch;
  const energyPerQueryJ = (rails.totalW * D) / queries;
  const throughputQps = queries / D;
  const serviceMean = serviceSum / run.batches;
  const sP50 = nearestRankQuantile(run.serviceS, 0.5);
  const sTail = nearestRankQuantile(run.serviceS, q) * stallTailFactor(board, q);

  let fillP50 = 0;
  let fillTail = 0;
  let queueP50 = 0;
  let queueTail = 0;
  const pre = t.preprocessSampleS;
  let overloaded = false;
  if (rate !== undefined) {
    fillP50 = fillWaitQuantileS(c.batch, rate, 0.5);
    fillTail = fillWaitQuantileS(c.batch, rate, q);
    const period = D / run.batches;
    const demand = Math.max(serviceMean + t.hostS, preInterval);
    const rho = demand / intervalS;
    if (period > intervalS * 1.005 || rho >= 1) {
      overloaded = true;
      // Finite measurement window: the backlog grows linearly, so waits grow across the window.
      const w = opts.windowS ?? 10;
      const grow = Math.max(period / intervalS - 1, 1e-3);
      queueP50 = 0.5 * w * grow;
      queueTail = q * w * grow;
    } else {
      queueP50 = queueWaitQuantileS(c.batch, demand, rho, 0.5);
      queueTail = queueWaitQuantileS(c.batch, demand, rho, q);
    }
  }
  const ms = 1000;
  return {
    board: board.name,
    model: profile.model,
    config: c,
    mode,
    serviceMs: serviceMean * ms,
    serviceP50Ms: sP50 * ms,
    serviceTailMs: sTail * ms,
    hostMs: t.hostS * ms,
    preprocessMs: pre * ms,
    fillWaitP50Ms: fillP50 * ms,
    fillWaitTailMs: fillTail * ms,
    queueWaitTailMs: queueTail * ms,
    latencyP50Ms: (fillP50 + queueP50 + sP50 + pre) * ms,
    latencyTailMs: (fillTail + queueTail + sTail + pre) * ms,
    tailQuantile: q,
    powerW: rails.totalW,
    railsW: rails.railsW,
    energyPerQueryJ,
    throughputQps,
    gpuEffectiveHz: serviceSum > 0 ? hzBusy / serviceSum : g[lo]!,
    gpuUtilisation: busyS / D,
    computeBoundShare: busyS > 0 ? computeS / busyS : 0,
    bytesPerQuery: t.bytes / c.batch,
    overloaded,
    temperatureC: tempC,
    throttledGpuMaxHz: gpuCapHz !== null && gpuCapHz < c.gpuMaxHz ? gpuCapHz : null,
    intervalS: D,
  };
}

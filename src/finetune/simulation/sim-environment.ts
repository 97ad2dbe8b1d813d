import { type Config, configKey } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { baselineMeets, type InferenceBaseline } from '../scheduling/admission.ts';
import { type DeviceCosts, latencyQuantile, type SimRequest, simulateCoRun } from './corun-sim.ts';
import { finetunePartFeatures, type InterferenceFeatures, inferenceFeatures } from '../prediction/features.ts';
import { ATTAINMENT_WINDOW_S, quantileWithMargin } from '../scheduling/quantile-margin.ts';

/** Attainment windows an inference-only baseline covers at least. */
const BASELINE_WINDOWS = 5;

/** The highest per-window latency quantile over consecutive full windows of arrivals. */
export function worstWindowQuantile(requests: readonly SimRequest[], q: number, windowMs: number): number {
  const byWindow = new Map<number, SimRequest[]>();
  for (const r of requests) {
    const w = Math.floor(r.arrivalMs / windowMs);
    let a = byWindow.get(w);
    if (!a) {
      a = [];
      byWindow.set(w, a);
    }
    a.push(r);
  }
  const last = Math.max(-1, ...byWindow.keys());
  let worst = 0;
  for (const [w, rs] of byWindow) if (w < last || byWindow.size === 1) worst = Math.max(worst, latencyQuantile(rs, q));
  return worst;
}
import type { InterferencePredictor, LatencyPrediction, LatencyPredictor, PredictionQuery, ProfiledRun } from '../prediction/predictor.ts';
import { createRandom, poissonArrivals } from '../../numerics/random.ts';
import type { SchedulerEnvironment } from '../scheduling/scheduler.ts';

/** One profiling workload: fine-tuning `finetuneModel` at `microBatch` beside inference of `inferenceModel`. */
export interface ProfilingWorkload {
  readonly inferenceModel: string;
  readonly finetuneModel: string;
  readonly microBatch: number;
  /** Profile one chunk (the last, with its share of the update) of a step split into this many. */
  readonly chunks?: number;
}

export function interferenceFeatures(
  profileOf: (name: string) => WorkloadProfile,
  inferenceModel: string,
  batch: number,
  finetuneModel: string,
  microBatch: number,
  part?: { readonly chunks: number; readonly optimizer: boolean },
): InterferenceFeatures {
  return {
    inference: inferenceFeatures(profileOf(inferenceModel), batch),
    finetune: finetunePartFeatures(profileOf(finetuneModel), microBatch, part?.chunks ?? 1, part?.optimizer ?? true),
  };
}

/**
 * Profile co-runs at one configuration: each workload runs `samples` step-then-batch pairs (the batch
 * ready as the step starts) and its run is the mean of step + batch time — what a profiler on the
 * device measures with the clocks pinned.
 */
export function profileCoRuns(
  costs: DeviceCosts,
  profileOf: (name: string) => WorkloadProfile,
  config: Config,
  workloads: readonly ProfilingWorkload[],
  opts: { noise: number; seed: number; samples?: number },
): ProfiledRun[] {
  const rng = createRandom(opts.seed, 'mulberry32');
  const k = opts.samples ?? 5;
  return workloads.map((w) => {
    const chunks = w.chunks ?? 1;
    const part = { chunks, optimizer: true };
    const step = costs.finetuneStep(config, w.finetuneModel, w.microBatch, chunks > 1 ? { ...part, chunk: chunks - 1 } : undefined).stepMs;
    const svc = costs.inferenceBatch(config, w.inferenceModel).serviceMs;
    let sum = 0;
    for (let i = 0; i < k; i++) sum += step * rng.factor(opts.noise) + svc * rng.factor(opts.noise);
    return { features: interferenceFeatures(profileOf, w.inferenceModel, config.batch, w.finetuneModel, w.microBatch, part), latencyMs: sum / k };
  });
}

export interface SimEnvironmentOptions {
  readonly costs: DeviceCosts;
  readonly profileOf: (name: string) => WorkloadProfile;
  /** The model served. */
  readonly model: string;
  /** The profile's Pareto set: configurations the scheduler may select or switch to. */
  readonly candidates: readonly Config[];
  readonly predictor: InterferencePredictor;
  /** Workloads profiled to fit the predictor at a configuration (need ≥ predictor.minRuns). */
  readonly profiling: readonly ProfilingWorkload[];
  readonly noise: number;
  readonly seed: number;
  /** Requests simulated per inference-only baseline (default 3000). */
  readonly baselineRequests?: number;
}

/**
 * The scheduler's environment on the twin: inference-only baselines measured by virtual-time runs
 * of the same batcher, the Pareto set as candidates, and the predictor fitted per configuration on
 * demand from profiled co-runs.
 */
export function createSimEnvironment(o: SimEnvironmentOptions): SchedulerEnvironment & { profiledConfigs(): number } {
  const cache = new Map<string, InferenceBaseline>();
  let profiled = 0;
  const baseline = (config: Config, slo: Slo, rateRps: number): InferenceBaseline => {
    const key = `${configKey(config)}@${slo.latencyMs}/${slo.quantile}@${rateRps}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const cost = o.costs.inferenceBatch(config, o.model);
    let b: InferenceBaseline;
    if (!(rateRps > 0)) b = { tailMs: cost.serviceMs, serviceMs: cost.serviceMs, energyPerQueryJ: cost.energyJ / config.batch };
    else {
      // Enough requests that the raised quantile has ≥ 20 requests beyond it, over at least
      // BASELINE_WINDOWS attainment windows.
      const qPlus = quantileWithMargin(slo.quantile, rateRps);
      const n = Math.max(o.baselineRequests ?? 3000, Math.ceil(20 / (1 - qPlus)));
      const durationMs = Math.max((n / rateRps) * 1000, BASELINE_WINDOWS * ATTAINMENT_WINDOW_S * 1000);
      const arrivals = poissonArrivals(rateRps, durationMs, o.seed ^ 0x5bd1e995);
      const r = simulateCoRun({ model: o.model, arrivalsMs: arrivals, costs: o.costs, noise: o.noise, seed: o.seed, config, slo });
      b = {
        // The served configuration must meet the SLO over each window of requests, not only on
        // average: the quantile raised by its sampling margin at this load, and the worst window's
        // quantile (near saturation, misses come in bursts that the binomial margin does not see).
        tailMs: Math.max(latencyQuantile(r.requests, qPlus), worstWindowQuantile(r.requests, slo.quantile, ATTAINMENT_WINDOW_S * 1000)),
        serviceMs: r.meanServiceMs,
        energyPerQueryJ: r.inferenceEnergyJ / Math.max(1, r.requests.length),
        utilisation: (rateRps * cost.serviceMs) / config.batch / 1000,
      };
    }
    cache.set(key, b);
    return b;
  };
  return {
    baseline,
    features: (config, model, microBatch, part) => interferenceFeatures(o.profileOf, o.model, config.batch, model, microBatch, part),
    candidates: () => o.candidates,
    selectForSlo: (slo, rateRps) => selectCheapest(o.candidates, (c) => baseline(c, slo, rateRps), slo),
    ensureModel: (config) => {
      const key = configKey(config);
      if (o.predictor.has(key)) return true;
      if (o.profiling.length < o.predictor.minRuns) return false;
      o.predictor.fit(key, profileCoRuns(o.costs, o.profileOf, config, o.profiling, { noise: o.noise, seed: o.seed + profiled }));
      profiled++;
      return true;
    },
    validate: (spec) => {
      o.profileOf(spec.model);
    },
    profiledConfigs: () => profiled,
  };
}

/** The least-energy configuration whose inference-only tail meets the SLO; the fastest when none does. */
export function selectCheapest(candidates: readonly Config[], baseline: (c: Config) => InferenceBaseline, slo: Slo): Config {
  if (candidates.length === 0) throw new RangeError('no candidate configurations to select from');
  let best: { c: Config; b: InferenceBaseline } | undefined;
  let fastest: { c: Config; b: InferenceBaseline } | undefined;
  for (const c of candidates) {
    const b = baseline(c);
    if (!fastest || b.tailMs < fastest.b.tailMs) fastest = { c, b };
    if (baselineMeets(b, slo.latencyMs) && (!best || b.energyPerQueryJ < best.b.energyPerQueryJ)) best = { c, b };
  }
  return (best ?? fastest)!.c;
}

/**
 * A predictor that knows the exact noise-free co-run latency and the device's noise level (the
 * benchmark's oracle): its spread is the log-normal noise on the step and the batch, nothing more.
 */
export class OraclePredictor implements LatencyPredictor {
  constructor(
    private readonly costs: DeviceCosts,
    private readonly servingModel: string,
    private readonly noise = 0,
  ) {}
  predict(q: PredictionQuery): LatencyPrediction {
    const chunks = q.part?.chunks ?? 1;
    const optimizer = q.part?.optimizer ?? true;
    // The longest part of the step (chunks are balanced by work, not exactly equal).
    let step = 0;
    for (let chunk = 0; chunk < chunks; chunk++)
      step = Math.max(
        step,
        this.costs.finetuneStep(q.config, q.model, q.microBatch, chunks > 1 || !optimizer ? { chunks, chunk, optimizer } : undefined).stepMs,
      );
    const svc = this.costs.inferenceBatch(q.config, this.servingModel).serviceMs;
    const v = step + svc;
    const sd = this.noise * Math.hypot(step, svc);
    const half = 1.6449 * sd;
    return { meanMs: v, lowerMs: v - half, upperMs: v + half, sdMs: sd, offlineMs: v, correctionMs: 0, observations: 0, level: 0.9 };
  }
  observe(): void {}
  forget(): void {}
}

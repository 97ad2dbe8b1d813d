import { type Config, configKey } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import type { InterferenceFeatures } from '../prediction/features.ts';
import type { LatencyPrediction, LatencyPredictor } from '../prediction/predictor.ts';
import { describeGranularity, granularities, granularityAction, partsPerStep, type StepGranularity } from './granularity.ts';
import { quantileWithMargin } from './quantile-margin.ts';
import { stepQueueTail } from './step-queue.ts';
import { coRunBoundMs } from './step-guard.ts';

/** Inference alone at a configuration, SLO and load (from the profile, or the twin). */
export interface InferenceBaseline {
  /**
   * Request latency without fine-tuning, ms (batch-fill wait + service), at the SLO's quantile raised
   * by its sampling margin at the load (`quantileWithMargin`) where the environment can measure it.
   */
  readonly tailMs: number;
  /** Batch service time, ms. */
  readonly serviceMs: number;
  readonly energyPerQueryJ: number;
  /**
   * Share of the device's time inference needs at the load (rate × service / batch), when known. Above
   * `MAX_UTILISATION` a configuration is too close to saturation for its measured tail to hold.
   */
  readonly utilisation?: number;
}

/**
 * Highest inference utilisation a configuration may run at. Near saturation the queue's tail depends
 * on the arrival sequence (at 98 % the p99 of one 20 s window ranges over 2× between seeds), so no
 * finite measurement of the tail holds; beside fine-tuning the device also needs idle time for steps.
 */
export const MAX_UTILISATION = 0.9;

/** The configuration's inference alone meets the SLO: tail within it and utilisation below the cap. */
export function baselineMeets(b: InferenceBaseline, sloMs: number): boolean {
  return b.tailMs <= sloMs && (b.utilisation ?? 0) <= MAX_UTILISATION;
}

/** Least share of the device's time fine-tuning must get for a job to count as running. */
export const MIN_FINETUNE_SHARE = 0.01;

export interface AdmissionOption {
  readonly config: Config;
  /** Micro-batch of one forward + backward pass (= granularity.microBatch). */
  readonly microBatch: number;
  /** How the optimizer step is cut: micro-batches with gradient accumulation, chunks per micro-batch. */
  readonly granularity: StepGranularity;
  /** What was done to the step: run whole, smaller micro-batch with accumulation, or chunks. */
  readonly action: 'whole' | 'accumulate' | 'chunk';
  readonly baseline: InferenceBaseline;
  /** Co-run latency of the longest part (with the optimizer update) followed by one inference batch. */
  readonly prediction: LatencyPrediction;
  /** The co-run bound the runtime guard holds the longest part + a batch to (`coRunBoundMs`), ms. */
  readonly coRunBoundMs: number;
  /** Upper bound of one part's duration (the bound less a batch), ms. */
  readonly partUpperMs: number;
  /**
   * Predicted request latency at the SLO's quantile (with its sampling margin) with parts of
   * `partUpperMs` interleaved: queueing behind a part and the backlog it leaves, ms.
   */
  readonly tailUpperMs: number;
  /** Same with parts of the point prediction, ms. */
  readonly tailMeanMs: number;
  /** The quantile the tails are taken at (the SLO's, raised by its sampling margin at the load). */
  readonly quantile: number;
  /** Predicted share of device time spent fine-tuning, and optimizer steps per second. */
  readonly finetuneShare: number;
  readonly stepsPerS: number;
}

export type Admission =
  | {
      readonly fits: true;
      readonly option: AdmissionOption;
      /** True when the option's configuration differs from the inference-only one. */
      readonly switched: boolean;
      /** Extra inference energy per query at the switched configuration, J (0 without a switch). */
      readonly extraEnergyPerQueryJ: number;
      /** Extra power of inference while switched, W (extra J/query × load). */
      readonly extraPowerW: number;
      /** The decision in words: the step as requested, shrunk (and how), with the numbers behind it. */
      readonly decision: string;
    }
  | { readonly fits: false; readonly reason: string; readonly closest?: AdmissionOption };

export interface AdmissionInput {
  readonly slo: Slo;
  readonly rateRps: number;
  /** The inference-only configuration (what the SLO selects without fine-tuning). */
  readonly current: Config;
  readonly microBatch: number;
  readonly predictor: LatencyPredictor;
  /** Context whose live residuals correct the prediction (the job id). */
  readonly context?: string;
  readonly baseline: (config: Config) => InferenceBaseline;
  /** Features of one part: a 1/`chunks` layer group at `microBatch`, with the optimizer update or without. */
  readonly features: (config: Config, microBatch: number, part?: { chunks: number; optimizer: boolean }) => InterferenceFeatures;
  /** The model being fine-tuned. */
  readonly model: string;
  /** Pareto-set configurations to try when the job does not fit at `current`; empty = admit or wait only. */
  readonly candidates: readonly Config[];
  /** Make sure the predictor has a model for a configuration; false when it cannot. */
  readonly ensureModel: (config: Config) => boolean;
  /** Also try smaller micro-batches with gradient accumulation, then chunked steps. Default true. */
  readonly shrinkMicroBatch?: boolean;
}

/** Inference service time is taken this much longer in the queue simulation (batch-to-batch jitter). */
export const SERVICE_MARGIN = 1.05;

/** Options within this share of the best fine-tuning throughput count as equally good; the cheapest wins. */
export const THROUGHPUT_TOLERANCE = 0.8;

/**
 * Predicted effect of running the job at a configuration and granularity: the longest part's co-run
 * latency from the predictor, then the request tail with parts of that length interleaved by the
 * runtime guard, from a virtual-time run of the batcher at the load (`stepQueueTail`).
 */
export function evaluateOption(input: AdmissionInput, config: Config, g: StepGranularity, withMean = false, simulate = true): AdmissionOption | null {
  if (!input.ensureModel(config)) return null;
  const baseline = input.baseline(config);
  const part = { chunks: g.chunks, optimizer: true };
  const prediction = input.predictor.predict(
    { config, model: input.model, microBatch: g.microBatch, features: input.features(config, g.microBatch, part), part },
    input.context,
  );
  const quantile = quantileWithMargin(input.slo.quantile, input.rateRps);
  const bound = coRunBoundMs(prediction, input.slo.quantile);
  const partUpperMs = Math.max(0, bound - baseline.serviceMs);
  const partMeanMs = Math.max(0, prediction.meanMs - baseline.serviceMs);
  const sim = (partMs: number) =>
    stepQueueTail({
      rateRps: input.rateRps,
      batch: config.batch,
      serviceMs: baseline.serviceMs * SERVICE_MARGIN,
      partMs,
      sloMs: input.slo.latencyMs,
      quantile,
    });
  // A part that cannot fit even with nothing queued never runs, and a configuration that misses the
  // SLO alone is out: skip the simulation.
  const worth = bound <= input.slo.latencyMs && baselineMeets(baseline, input.slo.latencyMs);
  const blocked = { tailMs: Math.max(baseline.tailMs, baseline.tailMs - baseline.serviceMs + bound), finetuneShare: 0, partsPerS: 0 };
  // Without the simulation: fine-tuning may at best take all the time inference leaves idle.
  const rho = baseline.utilisation ?? (input.rateRps * baseline.serviceMs) / config.batch / 1000;
  const optimistic = { tailMs: baseline.tailMs, finetuneShare: Math.max(0, 1 - rho), partsPerS: (1000 * Math.max(0, 1 - rho)) / Math.max(partUpperMs, 0.1) };
  const upper = worth ? (simulate ? sim(partUpperMs) : optimistic) : blocked;
  const mean = worth && withMean ? sim(partMeanMs) : upper;
  return {
    config,
    microBatch: g.microBatch,
    granularity: g,
    action: granularityAction(g),
    baseline,
    prediction,
    coRunBoundMs: bound,
    partUpperMs,
    tailUpperMs: Math.max(upper.tailMs, baseline.tailMs),
    tailMeanMs: Math.max(mean.tailMs, baseline.tailMs),
    quantile,
    finetuneShare: upper.finetuneShare,
    stepsPerS: upper.partsPerS / partsPerStep(g),
  };
}

function optionFits(o: AdmissionOption, sloMs: number): boolean {
  return baselineMeets(o.baseline, sloMs) && o.coRunBoundMs <= sloMs && o.tailUpperMs <= sloMs && o.finetuneShare >= MIN_FINETUNE_SHARE;
}

/** Why a step of this granularity does not fit, in words. */
function misfit(o: AdmissionOption, sloMs: number): string {
  const q = `p${(100 * o.quantile).toFixed(2).replace(/\.?0+$/, '')}`;
  if (!baselineMeets(o.baseline, sloMs))
    return `inference alone has ${q} ${o.baseline.tailMs.toFixed(1)} ms at ${(100 * (o.baseline.utilisation ?? 0)).toFixed(0)} % utilisation (SLO ${sloMs} ms, at most ${100 * MAX_UTILISATION} %)`;
  if (o.coRunBoundMs > sloMs)
    return `one part of the step lasts up to ${o.partUpperMs.toFixed(1)} ms, longer than the slack ${(sloMs - o.baseline.serviceMs).toFixed(1)} ms beside a ${o.baseline.serviceMs.toFixed(1)} ms batch`;
  if (o.tailUpperMs > sloMs) return `requests queued behind ${o.partUpperMs.toFixed(1)} ms parts reach ${q} ${o.tailUpperMs.toFixed(1)} ms > SLO ${sloMs} ms`;
  return `gaps long enough for a ${o.partUpperMs.toFixed(1)} ms part leave fine-tuning ${(100 * o.finetuneShare).toFixed(1)} % of the device`;
}

const qLabel = (q: number) => `p${(100 * q).toFixed(2).replace(/\.?0+$/, '')}`;

/**
 * Admit a job where its step keeps the request tail within the SLO, counting queueing behind one step
 * (or one part of it) at its upper bound, not only the mean slowdown. Tried: the requested step;
 * smaller micro-batches with gradient accumulation; micro-batch 1 split into chunks that yield between
 * inference batches — each at the current configuration and the Pareto set's. Among those that fit,
 * the least inference energy per query among the options within `THROUGHPUT_TOLERANCE` of the best
 * predicted fine-tuning throughput (the current configuration wins ties). Otherwise the job waits,
 * and the reason says why the requested and the finest step do not fit.
 */
export function decideAdmission(input: AdmissionInput): Admission {
  const slo = input.slo.latencyMs;
  const gs = granularities(input.microBatch, input.shrinkMicroBatch ?? true);
  const whole = gs[0]!;
  const currentKey = configKey(input.current);
  const configs = [input.current, ...input.candidates.filter((c) => configKey(c) !== currentKey)];
  const base = input.baseline(input.current);
  const options: AdmissionOption[] = [];
  const samplesPerS = (o: AdmissionOption) => o.stepsPerS * input.microBatch;
  // Every option's optimistic throughput first (no simulation), then simulations in decreasing order
  // of it, stopping when no remaining option can reach the tolerance of the best that fits.
  const pre: AdmissionOption[] = [];
  for (const g of gs)
    for (const c of configs) {
      const o = evaluateOption(input, c, g, false, false);
      if (o) pre.push(o);
    }
  pre.sort((a, b) => samplesPerS(b) - samplesPerS(a));
  let top = 0;
  let closest: AdmissionOption | undefined;
  const simulated = new Map<AdmissionOption, AdmissionOption>();
  const full = (p: AdmissionOption): AdmissionOption => {
    let o = simulated.get(p);
    if (!o) {
      o = evaluateOption(input, p.config, p.granularity)!;
      simulated.set(p, o);
      if (!closest || o.tailUpperMs < closest.tailUpperMs) closest = o;
    }
    return o;
  };
  for (const p of pre) {
    if (samplesPerS(p) < THROUGHPUT_TOLERANCE * top) break;
    const o = full(p);
    if (!optionFits(o, slo)) continue;
    options.push(o);
    top = Math.max(top, samplesPerS(o));
  }
  const at = (g: StepGranularity) => pre.find((p) => p.granularity === g && configKey(p.config) === currentKey);
  const herePre = at(whole);
  const here = herePre ? full(herePre) : undefined;
  const finestPre = [...gs]
    .reverse()
    .map(at)
    .find((p) => p !== undefined);
  let best: AdmissionOption | undefined;
  for (const o of options) {
    if (samplesPerS(o) < THROUGHPUT_TOLERANCE * top) continue;
    const cheaper = !best || o.baseline.energyPerQueryJ < best.baseline.energyPerQueryJ - 1e-12;
    const tieHere = best && Math.abs(o.baseline.energyPerQueryJ - best.baseline.energyPerQueryJ) <= 1e-12 && configKey(o.config) === currentKey;
    if (cheaper || tieHere) best = o;
  }
  if (best) {
    const chosen = evaluateOption(input, best.config, best.granularity, true)!;
    const switched = configKey(chosen.config) !== currentKey;
    const extra = switched ? Math.max(0, chosen.baseline.energyPerQueryJ - base.energyPerQueryJ) : 0;
    const why =
      chosen.action === 'whole'
        ? 'as requested'
        : `a whole step of micro-batch ${input.microBatch} ${here && optionFits(here, slo) ? 'fits but leaves less time for fine-tuning' : `does not fit (${here ? misfit(here, slo) : 'no model'})`}, so ${describeGranularity(chosen.granularity)}`;
    const decision = `${why}: parts ≤ ${chosen.partUpperMs.toFixed(1)} ms, predicted ${qLabel(chosen.quantile)} ≤ ${chosen.tailUpperMs.toFixed(1)} ms of SLO ${slo} ms, ≈ ${(100 * chosen.finetuneShare).toFixed(0)} % of the device for fine-tuning`;
    return { fits: true, option: chosen, switched, extraEnergyPerQueryJ: extra, extraPowerW: extra * input.rateRps, decision };
  }
  if (!closest) return { fits: false, reason: 'no interference model could be fitted for any candidate configuration' };
  const c = evaluateOption(input, closest.config, closest.granularity, true)!;
  const tried = gs.length > 1 ? `; also tried ${describeGranularity(gs[gs.length - 1]!)}` : '';
  const finestHere = finestPre ? full(finestPre) : undefined;
  const lastWord = finestHere && finestHere !== here ? ` (finest: ${misfit(finestHere, slo)})` : '';
  const reason = `waits: predicted ${qLabel(c.quantile)} with fine-tuning ${c.tailUpperMs.toFixed(1)} ms (upper ${Math.round(c.prediction.level * 100)} % bound; point ${c.tailMeanMs.toFixed(1)} ms) exceeds the SLO ${slo} ms at every configuration and step size tried — ${here ? misfit(here, slo) : 'no model here'}${lastWord}${tried}`;
  return { fits: false, reason, closest: c };
}

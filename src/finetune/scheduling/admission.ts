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

/**
 * Predicted effect of running the job at a configuration and granularity: the longest part's co-run
 * latency from the predictor, then the request tail with parts of that length interleaved by the
 * runtime guard, from a virtual-time run of the batcher at the load (`stepQueueTail`).
 */
export function evaluateOption(input: AdmissionInput, config: Config, g: StepGranularity): AdmissionOption | null {
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
    stepQueueTail({ rateRps: input.rateRps, batch: config.batch, serviceMs: baseline.serviceMs, partMs, sloMs: input.slo.latencyMs, quantile });
  // A part that cannot fit even with nothing queued never runs: skip the simulation.
  const fitsAlone = bound <= input.slo.latencyMs;
  const upper = fitsAlone
    ? sim(partUpperMs)
    : { tailMs: Math.max(baseline.tailMs, baseline.tailMs - baseline.serviceMs + bound), finetuneShare: 0, partsPerS: 0 };
  const mean = fitsAlone ? sim(partMeanMs) : upper;
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
  return o.baseline.tailMs <= sloMs && o.coRunBoundMs <= sloMs && o.tailUpperMs <= sloMs && o.finetuneShare >= MIN_FINETUNE_SHARE;
}

/** Why a step of this granularity does not fit, in words. */
function misfit(o: AdmissionOption, sloMs: number): string {
  const q = `p${(100 * o.quantile).toFixed(2).replace(/\.?0+$/, '')}`;
  if (o.baseline.tailMs > sloMs) return `inference alone has ${q} ${o.baseline.tailMs.toFixed(1)} ms > SLO ${sloMs} ms`;
  if (o.coRunBoundMs > sloMs)
    return `one part of the step lasts up to ${o.partUpperMs.toFixed(1)} ms, longer than the slack ${(sloMs - o.baseline.serviceMs).toFixed(1)} ms beside a ${o.baseline.serviceMs.toFixed(1)} ms batch`;
  if (o.tailUpperMs > sloMs) return `requests queued behind ${o.partUpperMs.toFixed(1)} ms parts reach ${q} ${o.tailUpperMs.toFixed(1)} ms > SLO ${sloMs} ms`;
  return `gaps long enough for a ${o.partUpperMs.toFixed(1)} ms part leave fine-tuning ${(100 * o.finetuneShare).toFixed(1)} % of the device`;
}

/**
 * Admit a job if, at the current configuration, its step (as requested) keeps the request tail
 * within the SLO, counting queueing behind one step at the step's upper bound; else, coarsest first,
 * a smaller micro-batch with gradient accumulation, then chunks of micro-batch 1 that yield between
 * inference batches, each at the cheapest Pareto configuration where it fits. Otherwise the job
 * waits, and the reason says why the finest step tried still does not fit.
 */
export function decideAdmission(input: AdmissionInput): Admission {
  const slo = input.slo.latencyMs;
  const gs = granularities(input.microBatch, input.shrinkMicroBatch ?? true);
  const whole = gs[0]!;
  const here = evaluateOption(input, input.current, whole);
  const record = (o: AdmissionOption): string => {
    const why =
      o.action === 'whole'
        ? 'as requested'
        : `a whole step of micro-batch ${input.microBatch} does not fit (${here ? misfit(here, slo) : 'no model'}), so ${describeGranularity(o.granularity)}`;
    return `${why}: parts ≤ ${o.partUpperMs.toFixed(1)} ms, predicted p${(100 * o.quantile).toFixed(2).replace(/\.?0+$/, '')} ≤ ${o.tailUpperMs.toFixed(1)} ms of SLO ${slo} ms, ≈ ${(100 * o.finetuneShare).toFixed(0)} % of the device for fine-tuning`;
  };
  if (here && optionFits(here, slo)) return { fits: true, option: here, switched: false, extraEnergyPerQueryJ: 0, extraPowerW: 0, decision: record(here) };
  const base = here?.baseline ?? input.baseline(input.current);
  let closest: AdmissionOption | undefined = here ?? undefined;
  let finest: AdmissionOption | undefined;
  const currentKey = configKey(input.current);
  const configs = [input.current, ...input.candidates.filter((c) => configKey(c) !== currentKey)];
  for (const g of gs) {
    let best: AdmissionOption | undefined;
    let bestHere: AdmissionOption | undefined;
    for (const c of configs) {
      const o = configKey(c) === currentKey && g === whole ? here : evaluateOption(input, c, g);
      if (!o) continue;
      if (configKey(c) === currentKey) bestHere = o;
      if (!closest || o.tailUpperMs < closest.tailUpperMs) closest = o;
      if (!optionFits(o, slo)) continue;
      if (!best || o.baseline.energyPerQueryJ < best.baseline.energyPerQueryJ) best = o;
    }
    finest = bestHere ?? finest;
    if (best) {
      const switched = configKey(best.config) !== currentKey;
      const extra = switched ? Math.max(0, best.baseline.energyPerQueryJ - base.energyPerQueryJ) : 0;
      return { fits: true, option: best, switched, extraEnergyPerQueryJ: extra, extraPowerW: extra * input.rateRps, decision: record(best) };
    }
  }
  const c = closest;
  if (!c) return { fits: false, reason: 'no interference model could be fitted for any candidate configuration' };
  const tried = gs.length > 1 ? `; also tried ${describeGranularity(gs[gs.length - 1]!)}` : '';
  const lastWord = finest && finest !== here ? ` (finest: ${misfit(finest, slo)})` : '';
  const reason = `waits: predicted p${(100 * c.quantile).toFixed(2).replace(/\.?0+$/, '')} with fine-tuning ${c.tailUpperMs.toFixed(1)} ms (upper ${Math.round(c.prediction.level * 100)} % bound; point ${c.tailMeanMs.toFixed(1)} ms) exceeds the SLO ${slo} ms at every configuration and step size tried — ${here ? misfit(here, slo) : 'no model here'}${lastWord}${tried}`;
  return { fits: false, reason, closest: c };
}

import { type Config, configKey } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import type { InterferenceFeatures } from '../prediction/features.ts';
import type { LatencyPrediction, LatencyPredictor } from '../prediction/predictor.ts';

/** Inference alone at a configuration, SLO and load (from the profile, or the twin). */
export interface InferenceBaseline {
  /** Request latency at the SLO's quantile without fine-tuning, ms (batch-fill wait + service). */
  readonly tailMs: number;
  /** Batch service time, ms. */
  readonly serviceMs: number;
  readonly energyPerQueryJ: number;
}

export interface AdmissionOption {
  readonly config: Config;
  readonly microBatch: number;
  readonly baseline: InferenceBaseline;
  readonly prediction: LatencyPrediction;
  /** Predicted tail latency with the job's steps interleaved, at the interval's upper bound, ms. */
  readonly tailUpperMs: number;
  /** Same at the point prediction, ms. */
  readonly tailMeanMs: number;
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
  readonly features: (config: Config, microBatch: number) => InterferenceFeatures;
  /** The model being fine-tuned. */
  readonly model: string;
  /** Pareto-set configurations to try when the job does not fit at `current`; empty = admit or wait only. */
  readonly candidates: readonly Config[];
  /** Make sure the predictor has a model for a configuration; false when it cannot. */
  readonly ensureModel: (config: Config) => boolean;
  /** Also try smaller micro-batches (halving down to 1). Default true. */
  readonly shrinkMicroBatch?: boolean;
}

/** Predicted tail of request latency with steps interleaved: the inference tail with one step's blocking added. */
export function evaluateOption(input: AdmissionInput, config: Config, microBatch: number): AdmissionOption | null {
  if (!input.ensureModel(config)) return null;
  const baseline = input.baseline(config);
  const prediction = input.predictor.predict({ config, model: input.model, microBatch, features: input.features(config, microBatch) }, input.context);
  // A batch ready just as a step starts waits for it: tail = fill wait (tail − service) + co-run batch latency.
  const fill = Math.max(0, baseline.tailMs - baseline.serviceMs);
  return { config, microBatch, baseline, prediction, tailUpperMs: fill + prediction.upperMs, tailMeanMs: fill + prediction.meanMs };
}

function microBatches(requested: number, shrink: boolean): number[] {
  const out = [requested];
  if (shrink) for (let m = Math.floor(requested / 2); m >= 1; m = Math.floor(m / 2)) out.push(m);
  return out;
}

/**
 * Admit a job if its predicted tail (upper bound) meets the SLO at the current configuration; else
 * look through the Pareto set (and smaller micro-batches) for the cheapest configuration where it
 * fits. A larger micro-batch is preferred over a cheaper configuration (fine-tuning progress first),
 * then the least inference energy per query.
 */
export function decideAdmission(input: AdmissionInput): Admission {
  const slo = input.slo.latencyMs;
  const here = evaluateOption(input, input.current, input.microBatch);
  if (here && here.tailUpperMs <= slo) return { fits: true, option: here, switched: false, extraEnergyPerQueryJ: 0, extraPowerW: 0 };
  const base = here?.baseline ?? input.baseline(input.current);
  let closest: AdmissionOption | undefined = here ?? undefined;
  const currentKey = configKey(input.current);
  for (const mb of microBatches(input.microBatch, input.shrinkMicroBatch ?? true)) {
    let best: AdmissionOption | undefined;
    const configs = [input.current, ...input.candidates.filter((c) => configKey(c) !== currentKey)];
    for (const c of configs) {
      if (configKey(c) === currentKey && mb === input.microBatch) continue; // evaluated above
      const o = evaluateOption(input, c, mb);
      if (!o) continue;
      if (!closest || o.tailUpperMs < closest.tailUpperMs) closest = o;
      if (o.baseline.tailMs > slo || o.tailUpperMs > slo) continue;
      if (!best || o.baseline.energyPerQueryJ < best.baseline.energyPerQueryJ) best = o;
    }
    if (best) {
      const switched = configKey(best.config) !== currentKey;
      const extra = switched ? Math.max(0, best.baseline.energyPerQueryJ - base.energyPerQueryJ) : 0;
      return { fits: true, option: best, switched, extraEnergyPerQueryJ: extra, extraPowerW: extra * input.rateRps };
    }
  }
  const c = closest;
  const reason = c
    ? `predicted p${Math.round(input.slo.quantile * 100)} with fine-tuning ${c.tailUpperMs.toFixed(1)} ms (upper ${Math.round(c.prediction.level * 100)} % bound; point ${c.tailMeanMs.toFixed(1)} ms) exceeds the SLO ${slo} ms at every configuration and micro-batch tried`
    : 'no interference model could be fitted for any candidate configuration';
  return c ? { fits: false, reason, closest: c } : { fits: false, reason };
}

import { type Config, configKey as keyOf } from '../../core/config.ts';
import { featureVector, type FeatureSet, FEATURE_NAMES, type InterferenceFeatures } from './features.ts';
import { fitOls, type OlsFit, olsPredict } from './least-squares.ts';
import { studentTQuantile } from '../../numerics/quantile-functions.ts';

/**
 * The interference predictor. Target: the *co-run batch latency* — from the moment an inference
 * batch is ready until it completes when a fine-tuning step has just started on the device (the step
 * runs to completion first: edge GPUs only time-share). Request tail latency with fine-tuning is
 * then the inference-only tail minus the service time plus this (see `admission.ts`).
 *
 * Offline: a linear model on the paper's features, fitted by least squares per fixed hardware
 * configuration from a few profiled runs (different inference/fine-tuning workloads at that
 * configuration). Prediction interval: the OLS one, ŷ ± t(n−p) · s · √(1 + h).
 *
 * Online (beyond the paper): live co-run measurements of one context (a job at a configuration)
 * correct the model's residual. The bias b of this context has the OLS predictive distribution as
 * prior, N(0, s²(1 + h)); live residuals e = y − ŷ update it as a normal mean with noise variance σ²
 * (estimated from the live residuals, shrunk toward s²). The interval becomes
 * ŷ + b̂ ± t · √(Var b̂ + σ²), which narrows as evidence accrues.
 */
export interface ProfiledRun {
  readonly features: InterferenceFeatures;
  /** Measured co-run batch latency, ms. */
  readonly latencyMs: number;
}

export interface LatencyPrediction {
  /** Point prediction (offline + online correction), ms. */
  readonly meanMs: number;
  readonly lowerMs: number;
  readonly upperMs: number;
  /** Predictive standard deviation, ms. */
  readonly sdMs: number;
  /** The offline model's own point prediction, ms. */
  readonly offlineMs: number;
  /** Current residual correction b̂, ms. */
  readonly correctionMs: number;
  /** Live observations behind the correction. */
  readonly observations: number;
  /** Two-sided level of [lower, upper]. */
  readonly level: number;
}

export interface PredictorOptions {
  readonly featureSet?: FeatureSet;
  /** Two-sided level of the prediction interval (default 0.9: the upper bound is a 95 % one-sided bound). */
  readonly level?: number;
  /** Live residuals remembered per context (older ones are forgotten, so the model tracks drift). */
  readonly window?: number;
  /**
   * How the offline model's error scales: `relative` (default) fits by least squares weighted by
   * 1 / latency², so the residual spread and the interval are proportional to the prediction — device
   * time noise is multiplicative and a short step part is not off by as many milliseconds as a long
   * step; `absolute` is ordinary least squares with one spread in milliseconds.
   */
  readonly errorModel?: 'relative' | 'absolute';
}

/** One question to the predictor: a fine-tuning step of `model` at `microBatch` beside inference at `config`. */
export interface PredictionQuery {
  readonly config: Config;
  readonly model: string;
  readonly microBatch: number;
  readonly features: InterferenceFeatures;
  /** The part of the step asked about (default: a whole step, optimizer update included). */
  readonly part?: { readonly chunks: number; readonly optimizer: boolean };
}

/** What admission and the scheduler need from a predictor (the fitted model, or an oracle in benchmarks). */
export interface LatencyPredictor {
  predict(q: PredictionQuery, context?: string): LatencyPrediction;
  observe(q: PredictionQuery, context: string, latencyMs: number): void;
  forget(context: string): void;
}

interface Context {
  readonly residuals: number[];
}

export interface ConfigModel {
  readonly fit: OlsFit;
  readonly runs: number;
  readonly featureSet: FeatureSet;
  readonly errorModel: 'relative' | 'absolute';
  /**
   * Relative leave-one-out error that bounds the model's misfit on a pair it was not fitted on: the
   * ⌈(n + 1)·level⌉-th smallest |LOO residual| / measured latency over the profiled runs (split-conformal;
   * the largest when n is small). 0 with too few runs to leave one out.
   */
  readonly misfit: number;
}

/** ⌈(n+1)·level⌉-th smallest relative leave-one-out residual (the largest when that rank exceeds n). */
function leaveOneOutMisfit(fit: OlsFit, x: readonly (readonly number[])[], y: readonly number[], level: number, scaleOf: (i: number) => number): number {
  if (fit.n < fit.beta.length + 2) return 0;
  const r = x.map((row, i) => {
    const { mean, leverage } = olsPredict(fit, row);
    const loo = (y[i]! - mean) / Math.max(1e-6, 1 - leverage);
    return Math.abs(loo) / Math.max(1e-9, scaleOf(i));
  });
  r.sort((a, b) => a - b);
  return r[Math.min(r.length - 1, Math.ceil((r.length + 1) * level) - 1)]!;
}

export class InterferencePredictor implements LatencyPredictor {
  readonly featureSet: FeatureSet;
  readonly level: number;
  readonly errorModel: 'relative' | 'absolute';
  private readonly window: number;
  private readonly models = new Map<string, ConfigModel>();
  private readonly contexts = new Map<string, Context>();

  constructor(opts: PredictorOptions = {}) {
    this.featureSet = opts.featureSet ?? 'paper';
    this.level = opts.level ?? 0.9;
    if (!(this.level > 0 && this.level < 1)) throw new RangeError(`prediction level must be in (0, 1), got ${this.level}`);
    this.window = opts.window ?? 256;
    this.errorModel = opts.errorModel ?? 'relative';
  }

  /** Runs needed to fit one configuration (one more than the coefficients). */
  get minRuns(): number {
    return FEATURE_NAMES[this.featureSet].length + 1;
  }

  /** Fit (or refit) the model of one hardware configuration from profiled co-runs. */
  fit(configKey: string, runs: readonly ProfiledRun[]): ConfigModel {
    if (runs.length < this.minRuns)
      throw new RangeError(`the ${this.featureSet} model needs at least ${this.minRuns} profiled runs per configuration, got ${runs.length}`);
    const rel = this.errorModel === 'relative';
    for (const r of runs)
      if (rel && !(r.latencyMs > 0)) throw new RangeError(`profiled latency must be positive for the relative error model, got ${r.latencyMs}`);
    // Relative: every row divided by its latency (weights 1/y²), so residuals are relative errors.
    const x = runs.map((r) => featureVector(this.featureSet, r.features).map((v) => (rel ? v / r.latencyMs : v)));
    const y = runs.map((r) => (rel ? 1 : r.latencyMs));
    const fit = fitOls(x, y);
    const misfit = leaveOneOutMisfit(fit, x, y, this.level, (i) => (rel ? 1 : runs[i]!.latencyMs));
    const model = { fit, runs: runs.length, featureSet: this.featureSet, errorModel: this.errorModel, misfit };
    this.models.set(configKey, model);
    // A refit invalidates the residuals measured against the old model.
    for (const k of [...this.contexts.keys()]) if (k.startsWith(`${configKey}#`)) this.contexts.delete(k);
    return model;
  }

  has(configKey: string): boolean {
    return this.models.has(configKey);
  }

  model(configKey: string): ConfigModel | undefined {
    return this.models.get(configKey);
  }

  /** Predicted co-run batch latency with its interval; `context` names the live stream whose residuals correct it. */
  predict(q: PredictionQuery, context?: string): LatencyPrediction {
    return this.predictAt(keyOf(q.config), q.features, context);
  }

  observe(q: PredictionQuery, context: string, latencyMs: number): void {
    this.observeAt(keyOf(q.config), q.features, context, latencyMs);
  }

  /** Prediction for a configuration key (see `predict`). */
  predictAt(configKey: string, features: InterferenceFeatures, context?: string): LatencyPrediction {
    const m = this.models.get(configKey);
    if (!m) throw new RangeError(`no interference model fitted for configuration ${configKey}`);
    const { mean, leverage, s2 } = this.offline(m, features);
    const p = (1 + this.level) / 2;
    // Prior spread of this pair's bias: the OLS predictive variance, widened to the leave-one-out
    // misfit (a pair unlike the profiled ones is off by as much as a left-out profiled run was).
    const misfitSd = (m.misfit * Math.abs(mean)) / studentTQuantile(p, m.fit.dof);
    const priorVar = Math.max(s2 * (1 + leverage), misfitSd * misfitSd, 1e-12);
    const res = context === undefined ? [] : (this.contexts.get(`${configKey}#${context}`)?.residuals ?? []);
    const k = res.length;
    if (k === 0) {
      const sd = Math.sqrt(priorVar);
      const half = studentTQuantile(p, m.fit.dof) * sd;
      return { meanMs: mean, lowerMs: mean - half, upperMs: mean + half, sdMs: sd, offlineMs: mean, correctionMs: 0, observations: 0, level: this.level };
    }
    let sum = 0;
    for (const e of res) sum += e;
    const eBar = sum / k;
    let ss = 0;
    for (const e of res) ss += (e - eBar) ** 2;
    // Live noise variance: the live residuals' spread, shrunk toward the offline residual variance with weight 1.
    const noiseVar = Math.max((s2 + ss) / k, 1e-12);
    const prec = 1 / priorVar + k / noiseVar;
    const correction = sum / noiseVar / prec;
    const predVar = 1 / prec + noiseVar;
    const sd = Math.sqrt(predVar);
    const half = studentTQuantile(p, m.fit.dof + k) * sd;
    const meanMs = mean + correction;
    return { meanMs, lowerMs: meanMs - half, upperMs: meanMs + half, sdMs: sd, offlineMs: mean, correctionMs: correction, observations: k, level: this.level };
  }

  /** Feed one live co-run measurement of `context` at a configuration. */
  observeAt(configKey: string, features: InterferenceFeatures, context: string, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`observed latency must be a non-negative number, got ${latencyMs}`);
    const m = this.models.get(configKey);
    if (!m) return; // nothing to correct yet
    const { mean } = this.offline(m, features);
    const key = `${configKey}#${context}`;
    let c = this.contexts.get(key);
    if (!c) {
      c = { residuals: [] };
      this.contexts.set(key, c);
    }
    c.residuals.push(latencyMs - mean);
    if (c.residuals.length > this.window) c.residuals.shift();
  }

  /** The offline model at a feature vector: point prediction, leverage and residual variance in ms². */
  private offline(m: ConfigModel, features: InterferenceFeatures): { mean: number; leverage: number; s2: number } {
    const x = featureVector(m.featureSet, features);
    const mean = olsPredict(m.fit, x).mean;
    if (m.errorModel === 'absolute') return { mean, leverage: olsPredict(m.fit, x).leverage, s2: m.fit.s2 };
    // In the weighted basis a new row is x / y; y is unknown, the prediction stands in for it.
    const scale = Math.max(Math.abs(mean), 1e-9);
    const leverage = olsPredict(
      m.fit,
      x.map((v) => v / scale),
    ).leverage;
    return { mean, leverage, s2: m.fit.s2 * scale * scale };
  }

  /** Forget a context's live residuals (a job finished). */
  forget(context: string): void {
    for (const k of [...this.contexts.keys()]) if (k.endsWith(`#${context}`)) this.contexts.delete(k);
  }
}

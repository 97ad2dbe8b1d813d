/**
 * Gaussian-process regression: Matérn-5/2 ARD kernel on inputs in [0, 1]^d, standardised outputs,
 * optional known per-observation noise, hyperparameters by maximum a posteriori (log marginal
 * likelihood + log-normal priors) with L-BFGS from several starts.
 */
import { matern52, matern52LengthscaleFactor, scaledSqDist } from './kernel.ts';
import { lbfgs } from '../numerics/lbfgs.ts';
import { choleskyInverse, choleskyLogDet, choleskySolve, type CholeskyResult, lowerInverse, stableCholesky } from '../numerics/linalg.ts';
import { DEFAULT_PRIORS, type GpPriors, negLogPrior } from './prior.ts';
import type { GpHyperparameters, GpState } from './gp-state.ts';
import { gaussian, type Random } from '../numerics/random.ts';

/** Noise-variance floor (standardised units), so the kernel matrix stays well conditioned. */
const NOISE_FLOOR = 1e-6;

export interface GpPrediction {
  /** Posterior mean, raw output units. */
  readonly mean: Float64Array;
  /** Posterior variance of the latent function, raw output units squared. */
  readonly variance: Float64Array;
}

/**
 * The factorised posterior behind `predict` (read-only views), for scorers that evaluate the same
 * arithmetic over a structured set of points (see grid-scorer.ts).
 */
export interface GpPosterior {
  readonly n: number;
  readonly d: number;
  /** n×d training inputs, row-major. */
  readonly x: Float64Array;
  /** 1/ℓ_k² per dimension. */
  readonly invLs2: Float64Array;
  readonly signalVariance: number;
  /** K⁻¹(y − mean), standardised units. */
  readonly alpha: Float64Array;
  /** L⁻¹ (row-major, lower-triangular) of the kernel matrix K = L Lᵀ. */
  readonly linv: Float64Array;
  /** Diagonal of K (signal + noise + known noise + jitter), standardised units. */
  readonly kdiag: Float64Array;
  readonly yMean: number;
  readonly yStd: number;
}

export interface Gp {
  readonly state: GpState;
  /** Predict at m points (m×d row-major). */
  predict(x: Float64Array, m: number): GpPrediction;
  /** The factorised posterior that `predict` evaluates. */
  readonly posterior: GpPosterior;
}

export interface FitOptions {
  readonly priors?: GpPriors;
  /** Known per-observation noise variances, raw units. */
  readonly yNoiseVar?: Float64Array;
  /** Hyperparameters to start from (e.g. the previous fit), tried first. */
  readonly warmStart?: GpHyperparameters;
  /** Random starts drawn from the priors, besides the default and warm starts. */
  readonly randomStarts?: number;
  /** Also start from the priors' medians (default true; always done when there is no warm start). */
  readonly defaultStart?: boolean;
  readonly rng?: Random;
  readonly maxIterations?: number;
}

interface Prepared {
  readonly n: number;
  readonly d: number;
  readonly x: Float64Array;
  /** standardised outputs */
  readonly ys: Float64Array;
  /** known noise, standardised units */
  readonly known: Float64Array;
  /** per pair (i<j) and dimension: squared difference, laid out [(i*n+j)*d + k] */
  readonly sq: Float64Array;
}

function thetaOf(h: GpHyperparameters): Float64Array {
  const t = new Float64Array(h.lengthscales.length + 2);
  h.lengthscales.forEach((l, i) => {
    t[i] = Math.log(l);
  });
  t[h.lengthscales.length] = Math.log(h.signalVariance);
  t[h.lengthscales.length + 1] = Math.log(Math.max(h.noiseVariance - NOISE_FLOOR, 1e-12));
  return t;
}

function hyperOf(t: Float64Array, d: number): GpHyperparameters {
  return {
    lengthscales: Array.from(t.subarray(0, d), Math.exp),
    signalVariance: Math.exp(t[d]!),
    noiseVariance: NOISE_FLOOR + Math.exp(t[d + 1]!),
  };
}

/** Negative log posterior −log p(y|θ) − log p(θ) and its gradient in θ. */
function negLogPosterior(p: Prepared, t: Float64Array, priors: GpPriors): { value: number; grad: Float64Array } {
  const { n, d, sq, ys, known } = p;
  // far outside any sensible range (a wild line-search step): reject instead of overflowing
  for (let k = 0; k < d + 2; k++) if (!(Math.abs(t[k]!) < 25)) return { value: Number.POSITIVE_INFINITY, grad: new Float64Array(d + 2) };
  const sf2 = Math.exp(t[d]!);
  const sn2 = NOISE_FLOOR + Math.exp(t[d + 1]!);
  const invLs2 = new Float64Array(d);
  for (let k = 0; k < d; k++) invLs2[k] = Math.exp(-2 * t[k]!);
  const kmat = new Float64Array(n * n);
  const fac = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    kmat[i * n + i] = sf2 + sn2 + known[i]!;
    fac[i * n + i] = sf2 * (5 / 3);
    for (let j = i + 1; j < n; j++) {
      const base = (i * n + j) * d;
      let r2 = 0;
      for (let k = 0; k < d; k++) r2 += sq[base + k]! * invLs2[k]!;
      const kv = sf2 * matern52(r2);
      kmat[i * n + j] = kv;
      kmat[j * n + i] = kv;
      fac[i * n + j] = sf2 * matern52LengthscaleFactor(r2);
    }
  }
  let chol: CholeskyResult;
  try {
    chol = stableCholesky(kmat, n);
  } catch {
    return { value: Number.POSITIVE_INFINITY, grad: new Float64Array(d + 2) };
  }
  const alpha = choleskySolve(chol.l, n, ys);
  let fit = 0;
  for (let i = 0; i < n; i++) fit += ys[i]! * alpha[i]!;
  let value = 0.5 * fit + 0.5 * choleskyLogDet(chol.l, n) + 0.5 * n * Math.log(2 * Math.PI);
  // W = K⁻¹ − ααᵀ; ∂NLML/∂θ = ½ tr(W ∂K/∂θ)
  const w = choleskyInverse(chol.l, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i * n + j] = w[i * n + j]! - alpha[i]! * alpha[j]!;
  const grad = new Float64Array(d + 2);
  let gSf = 0;
  let gSn = 0;
  for (let i = 0; i < n; i++) {
    const wii = w[i * n + i]!;
    gSf += 0.5 * wii * sf2;
    gSn += 0.5 * wii * (sn2 - NOISE_FLOOR);
    for (let j = i + 1; j < n; j++) {
      const wij = w[i * n + j]!; // symmetric: the pair counts twice, ½·2 = 1
      gSf += wij * kmat[i * n + j]!;
      const f = fac[i * n + j]! * wij;
      const base = (i * n + j) * d;
      for (let k = 0; k < d; k++) grad[k] = grad[k]! + f * sq[base + k]! * invLs2[k]!;
    }
  }
  grad[d] = gSf;
  grad[d + 1] = gSn;
  for (let k = 0; k < d; k++) {
    const pr = negLogPrior(t[k]!, priors.lengthscale);
    value += pr.value;
    grad[k] = grad[k]! + pr.grad;
  }
  const ps = negLogPrior(t[d]!, priors.signalVariance);
  const pn = negLogPrior(t[d + 1]!, priors.noiseVariance);
  value += ps.value + pn.value;
  grad[d] = grad[d]! + ps.grad;
  grad[d + 1] = grad[d + 1]! + pn.grad;
  return { value, grad };
}

function standardise(y: Float64Array): { mean: number; std: number } {
  const n = y.length;
  let mean = 0;
  for (const v of y) mean += v;
  mean /= n;
  let v2 = 0;
  for (const v of y) v2 += (v - mean) * (v - mean);
  const std = n > 1 ? Math.sqrt(v2 / (n - 1)) : 0;
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * The negative log posterior of the hyperparameters θ = (log ℓ_1…log ℓ_d, log σ_f², log(σ_n² − floor))
 * for these data, with its analytic gradient (exported for gradient checks and custom fitting).
 */
export function gpNegLogPosterior(
  x: Float64Array,
  y: Float64Array,
  d: number,
  opts: { priors?: GpPriors; yNoiseVar?: Float64Array } = {},
): { f: (theta: Float64Array) => { value: number; grad: Float64Array }; mean: number; std: number } {
  const n = y.length;
  if (n === 0) throw new Error('fitGp needs at least one observation');
  if (x.length !== n * d) throw new Error(`fitGp: x has ${x.length} values, expected ${n}×${d}`);
  for (const v of y) if (!Number.isFinite(v)) throw new Error('fitGp: non-finite output');
  const priors = opts.priors ?? DEFAULT_PRIORS;
  const { mean, std } = standardise(y);
  const ys = y.map((v) => (v - mean) / std);
  const known = new Float64Array(n);
  if (opts.yNoiseVar) for (let i = 0; i < n; i++) known[i] = Math.max(0, opts.yNoiseVar[i] ?? 0) / (std * std);
  const sq = new Float64Array(n * n * d);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      for (let k = 0; k < d; k++) {
        const diff = x[i * d + k]! - x[j * d + k]!;
        sq[(i * n + j) * d + k] = diff * diff;
      }
  const prep: Prepared = { n, d, x, ys, known, sq };
  return { f: (t) => negLogPosterior(prep, t, priors), mean, std };
}

/** Fit a GP to n observations (x: n×d row-major in [0,1], y: raw outputs). */
export function fitGp(x: Float64Array, y: Float64Array, d: number, opts: FitOptions = {}): Gp {
  const priors = opts.priors ?? DEFAULT_PRIORS;
  const { f, mean, std } = gpNegLogPosterior(x, y, d, opts);
  const starts: Float64Array[] = [];
  if (opts.warmStart && opts.warmStart.lengthscales.length === d) starts.push(thetaOf(opts.warmStart));
  const def = new Float64Array(d + 2);
  for (let k = 0; k < d; k++) def[k] = priors.lengthscale.mu;
  def[d] = priors.signalVariance.mu;
  def[d + 1] = priors.noiseVariance.mu;
  if (starts.length === 0 || opts.defaultStart !== false) starts.push(def);
  const rs = opts.randomStarts ?? 1;
  if (opts.rng) {
    const rng = opts.rng;
    const gauss = () => gaussian(rng.next);
    for (let s = 0; s < rs; s++) {
      const t = new Float64Array(d + 2);
      for (let k = 0; k < d; k++) t[k] = priors.lengthscale.mu + priors.lengthscale.sigma * gauss();
      t[d] = priors.signalVariance.mu + 0.5 * priors.signalVariance.sigma * gauss();
      t[d + 1] = priors.noiseVariance.mu + 0.5 * priors.noiseVariance.sigma * gauss();
      starts.push(t);
    }
  }
  let best: { x: Float64Array; value: number } | null = null;
  for (const s of starts) {
    const r = lbfgs(f, s, {
      maxIterations: opts.maxIterations ?? 60,
      valueTolerance: 1e-7,
    });
    if (Number.isFinite(r.value) && (!best || r.value < best.value)) best = r;
  }
  if (!best) throw new Error('GP hyperparameter fit failed from every start');
  const state: GpState = {
    dims: d,
    x: Array.from(x),
    y: Array.from(y),
    ...(opts.yNoiseVar ? { yNoiseVar: Array.from(opts.yNoiseVar) } : {}),
    yMean: mean,
    yStd: std,
    hyper: hyperOf(best.x, d),
    nlp: best.value,
  };
  return gpFromState(state);
}

/** Rebuild a GP from its stored state (no refitting): factorises the kernel matrix once. */
export function gpFromState(state: GpState): Gp {
  const d = state.dims;
  const n = state.y.length;
  const x = Float64Array.from(state.x);
  const { yMean, yStd, hyper } = state;
  const invLs2 = Float64Array.from(hyper.lengthscales, (l) => 1 / (l * l));
  const sf2 = hyper.signalVariance;
  const kmat = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const known = (state.yNoiseVar?.[i] ?? 0) / (yStd * yStd);
    kmat[i * n + i] = sf2 + hyper.noiseVariance + known;
    for (let j = i + 1; j < n; j++) {
      const kv = sf2 * matern52(scaledSqDist(x, i, x, j, invLs2, d));
      kmat[i * n + j] = kv;
      kmat[j * n + i] = kv;
    }
  }
  const { l, jitter } = stableCholesky(kmat, n);
  const kdiag = new Float64Array(n);
  for (let i = 0; i < n; i++) kdiag[i] = kmat[i * n + i]! + jitter;
  const ys = Float64Array.from(state.y, (v) => (v - yMean) / yStd);
  const alpha = choleskySolve(l, n, ys);
  // L⁻¹ once, so each prediction's variance is one triangular mat-vec without divisions
  const linv = lowerInverse(l, n);
  return {
    state,
    posterior: { n, d, x, invLs2, signalVariance: sf2, alpha, linv, kdiag, yMean, yStd },
    predict(xs: Float64Array, m: number): GpPrediction {
      const mean = new Float64Array(m);
      const variance = new Float64Array(m);
      const ks = new Float64Array(n);
      for (let p = 0; p < m; p++) {
        let mu = 0;
        const xp = p * d;
        for (let i = 0; i < n; i++) {
          let r2 = 0;
          const xi = i * d;
          for (let k = 0; k < d; k++) {
            const diff = xs[xp + k]! - x[xi + k]!;
            r2 += diff * diff * invLs2[k]!;
          }
          const kv = matern52(r2, sf2);
          ks[i] = kv;
          mu += kv * alpha[i]!;
        }
        let vv = 0;
        for (let i = 0; i < n; i++) {
          let v = 0;
          const row = i * n;
          for (let k = 0; k <= i; k++) v += linv[row + k]! * ks[k]!;
          vv += v * v;
        }
        mean[p] = yMean + yStd * mu;
        variance[p] = Math.max(sf2 - vv, 1e-12) * yStd * yStd;
      }
      return { mean, variance };
    },
  };
}

/**
 * Calibrate the twin from a few measured points: a small nonlinear least-squares fit (Levenberg–
 * Marquardt over the log of five interpretable coefficients) of log latency and log power, with a
 * weak pull towards the nominal twin for directions the points do not determine, and leave-one-out
 * refits for an honest error per output.
 */
import { configProblem } from '../../../core/config.ts';
import { badInput } from '../../../core/errors.ts';
import type { WorkloadProfile } from '../../../core/workload-profile.ts';
import { choleskyInPlace, choleskySolve } from '../../../numerics/linalg.ts';
import type { BoardSpec } from '../board-spec.ts';
import { evaluateConfig, resolveConfig } from '../evaluate.ts';
import { applyRuntime, DEFAULT_RUNTIME, isRuntimeName, RUNTIMES } from '../runtime-profile.ts';
import type { MeasuredPoint } from './measured-points.ts';
import { COEFFICIENT_NAMES, type TwinCoefficients, type TwinProfile, coefficientsBoard } from './twin-profile.ts';

/** Fewest points a calibration takes. */
export const MIN_POINTS = 3;
const NP = COEFFICIENT_NAMES.length;
/** Weight of the pull of each log-coefficient towards 0 (the nominal twin): weak, against the data's. */
const PRIOR_WEIGHT = 0.02;
/** Coefficients stay within [1/BOUND, BOUND]. */
const BOUND = 6;

export interface CalibrationInput {
  /** The board as loaded (no runtime applied). */
  readonly board: BoardSpec;
  readonly runtime?: string;
  readonly profile: WorkloadProfile;
  readonly points: readonly MeasuredPoint[];
  /** Arrival rate the points were measured at (absent: saturated). */
  readonly rateRps?: number;
  /** Refit without each point in turn for the leave-one-out errors (default true). */
  readonly leaveOneOut?: boolean;
  /** Where the points came from, recorded in the profile. */
  readonly source?: string;
}

export interface PointFit {
  readonly point: MeasuredPoint;
  readonly latencyMs: number;
  readonly powerW: number;
  /** Predicted by a fit without this point (when leave-one-out ran). */
  readonly looLatencyMs?: number;
  readonly looPowerW?: number;
}

export interface CalibrationResult {
  readonly coefficients: TwinCoefficients;
  /** The calibrated board (runtime and coefficients applied). */
  readonly board: BoardSpec;
  readonly runtime: string;
  readonly fits: readonly PointFit[];
  /** What `--out` writes. */
  readonly profile: TwinProfile;
}

const toCoefficients = (t: Float64Array): TwinCoefficients =>
  Object.fromEntries(COEFFICIENT_NAMES.map((n, i) => [n, Math.exp(t[i]!)])) as unknown as TwinCoefficients;

/** Check the points against the board: enough of them, each a configuration the board has. */
export function checkPoints(board: BoardSpec, points: readonly MeasuredPoint[], what = 'the measured points'): void {
  if (points.length < MIN_POINTS) throw badInput(`${what}: a calibration needs at least ${MIN_POINTS} measured points, got ${points.length}`);
  const domains = { cpuHz: board.cpu.freqsHz, gpuHz: board.gpu.freqsHz, emcHz: board.emc.freqsHz, batch: [] as number[] };
  points.forEach((p, i) => {
    const problem = configProblem(p.config, { ...domains, batch: [p.config.batch] });
    if (problem) throw badInput(`${what}: point ${i + 1}: sim:${board.name} has no such configuration: ${problem}`);
    if (!(p.latencyMs > 0 && Number.isFinite(p.latencyMs)) || !(p.powerW > 0 && Number.isFinite(p.powerW)))
      throw badInput(`${what}: point ${i + 1}: latency and power must be positive, got ${p.latencyMs} ms, ${p.powerW} W`);
  });
}

interface Model {
  predict(theta: Float64Array, points: readonly MeasuredPoint[]): { latencyMs: number; powerW: number }[];
}

function modelOf(base: BoardSpec, profile: WorkloadProfile, rateRps: number | undefined): Model {
  return {
    predict(theta, points) {
      const b = coefficientsBoard(base, toCoefficients(theta));
      return points.map((p) => {
        const e = evaluateConfig(b, profile, resolveConfig(b, p.config), rateRps === undefined ? {} : { rateRps });
        return { latencyMs: e.latencyP50Ms, powerW: e.powerW };
      });
    },
  };
}

function residuals(model: Model, theta: Float64Array, points: readonly MeasuredPoint[]): Float64Array {
  const pred = model.predict(theta, points);
  const r = new Float64Array(2 * points.length + NP);
  points.forEach((p, i) => {
    r[2 * i] = Math.log(pred[i]!.latencyMs / p.latencyMs);
    r[2 * i + 1] = Math.log(pred[i]!.powerW / p.powerW);
  });
  for (let k = 0; k < NP; k++) r[2 * points.length + k] = PRIOR_WEIGHT * theta[k]!;
  return r;
}

const sumSq = (r: Float64Array) => r.reduce((s, v) => s + v * v, 0);
const clampTheta = (t: Float64Array) => t.map((v) => Math.max(-Math.log(BOUND), Math.min(Math.log(BOUND), v)));

/** Levenberg–Marquardt from `start`; returns the log-coefficients. */
function levenbergMarquardt(model: Model, points: readonly MeasuredPoint[], start: Float64Array): Float64Array {
  let theta = clampTheta(Float64Array.from(start));
  let r = residuals(model, theta, points);
  let cost = sumSq(r);
  let mu = 1e-2;
  const h = 1e-4;
  for (let iter = 0; iter < 60; iter++) {
    const m = r.length;
    const jac = new Float64Array(m * NP);
    for (let k = 0; k < NP; k++) {
      const t = Float64Array.from(theta);
      // Step away from a bound so the difference sees the model, not the clamp.
      const step = t[k]! + h > Math.log(BOUND) ? -h : h;
      t[k] = t[k]! + step;
      const rk = residuals(model, t, points);
      for (let i = 0; i < m; i++) jac[i * NP + k] = (rk[i]! - r[i]!) / step;
    }
    const jtj = new Float64Array(NP * NP);
    const jtr = new Float64Array(NP);
    for (let i = 0; i < m; i++)
      for (let a = 0; a < NP; a++) {
        const ja = jac[i * NP + a]!;
        jtr[a] = jtr[a]! + ja * r[i]!;
        for (let b = 0; b < NP; b++) jtj[a * NP + b] = jtj[a * NP + b]! + ja * jac[i * NP + b]!;
      }
    let improved = false;
    for (let tries = 0; tries < 12 && !improved; tries++) {
      const a = Float64Array.from(jtj);
      for (let d = 0; d < NP; d++) a[d * NP + d] = a[d * NP + d]! * (1 + mu) + 1e-12;
      const l = choleskyInPlace(a, NP);
      if (!l) {
        mu *= 4;
        continue;
      }
      const delta = choleskySolve(
        l,
        NP,
        jtr.map((v) => -v),
      );
      const next = clampTheta(theta.map((v, k) => v + delta[k]!));
      const rn = residuals(model, next, points);
      const cn = sumSq(rn);
      if (cn < cost) {
        const gain = cost - cn;
        theta = next;
        r = rn;
        cost = cn;
        mu = Math.max(mu / 3, 1e-9);
        improved = true;
        if (gain < 1e-12 * Math.max(1, cost)) return theta;
      } else mu *= 4;
    }
    if (!improved) return theta;
  }
  return theta;
}

const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const relErr = (pred: number, meas: number) => Math.abs(pred / meas - 1);

/** Fit the coefficients to the points; see the file comment. */
export function calibrateTwin(o: CalibrationInput): CalibrationResult {
  checkPoints(o.board, o.points);
  const runtime = o.runtime ?? DEFAULT_RUNTIME;
  if (!isRuntimeName(runtime)) throw badInput(`unknown runtime '${runtime}'`, `known runtimes: ${RUNTIMES.join(', ')}`);
  const base = applyRuntime(o.board, runtime);
  const model = modelOf(base, o.profile, o.rateRps);
  const theta = levenbergMarquardt(model, o.points, new Float64Array(NP));
  const coefficients = toCoefficients(theta);
  const pred = model.predict(theta, o.points);
  const loo =
    o.leaveOneOut === false
      ? null
      : o.points.map((p, i) => {
          const rest = o.points.filter((_, j) => j !== i);
          const t = levenbergMarquardt(model, rest, theta);
          return model.predict(t, [p])[0]!;
        });
  const fits: PointFit[] = o.points.map((p, i) => ({
    point: p,
    latencyMs: pred[i]!.latencyMs,
    powerW: pred[i]!.powerW,
    ...(loo ? { looLatencyMs: loo[i]!.latencyMs, looPowerW: loo[i]!.powerW } : {}),
  }));
  const summary = (get: (f: PointFit) => [number, number | undefined], meas: (p: MeasuredPoint) => number) => {
    const fitErr = fits.map((f) => relErr(get(f)[0], meas(f.point)));
    const looErr = fits.map((f) => relErr(get(f)[1] ?? get(f)[0], meas(f.point)));
    return { fitMedian: median(fitErr), looMedian: median(looErr), looMax: Math.max(...looErr) };
  };
  const profile: TwinProfile = {
    format: 'polythrottle-twin-profile',
    version: 1,
    board: o.board.name,
    runtime,
    model: o.profile.model,
    dtype: o.profile.dtype,
    coefficients,
    fit: {
      points: o.points.length,
      source: o.source ?? 'measured points',
      ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
      latency: summary(
        (f) => [f.latencyMs, f.looLatencyMs],
        (p) => p.latencyMs,
      ),
      power: summary(
        (f) => [f.powerW, f.looPowerW],
        (p) => p.powerW,
      ),
    },
    createdAt: new Date().toISOString(),
  };
  return { coefficients, board: coefficientsBoard(base, coefficients), runtime, fits, profile };
}

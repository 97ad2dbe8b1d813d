/**
 * Limited-memory BFGS minimiser with a backtracking (Armijo) line search, for the GP's
 * hyperparameters (a handful of unconstrained log-parameters).
 */
/** Value and gradient at x. Non-finite values are treated as "step too far". */
export type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

export interface LbfgsOptions {
  readonly maxIterations?: number;
  readonly memory?: number;
  /** Stop when the gradient's max-norm falls below this. */
  readonly gradTolerance?: number;
  /** Stop when the relative decrease of the value in one step falls below this. */
  readonly valueTolerance?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export function lbfgs(f: Objective, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const maxIt = opts.maxIterations ?? 100;
  const m = opts.memory ?? 6;
  const gTol = opts.gradTolerance ?? 1e-5;
  const fTol = opts.valueTolerance ?? 1e-9;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let cur = f(x);
  if (!Number.isFinite(cur.value)) return { x, value: cur.value, iterations: 0 };
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  let it = 0;
  for (; it < maxIt; it++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(cur.grad[i]!));
    if (gmax < gTol) break;
    // two-loop recursion: direction = −H·g
    const q = Float64Array.from(cur.grad);
    const alphas: number[] = new Array(ss.length);
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = rhos[k]! * dot(ss[k]!, q);
      alphas[k] = a;
      const yk = ys[k]!;
      for (let i = 0; i < n; i++) q[i] = q[i]! - a * yk[i]!;
    }
    if (ss.length > 0) {
      const last = ss.length - 1;
      const gamma = dot(ss[last]!, ys[last]!) / dot(ys[last]!, ys[last]!);
      for (let i = 0; i < n; i++) q[i] = q[i]! * gamma;
    } else {
      // first step: a unit-length steepest-descent step
      const gn = Math.sqrt(dot(cur.grad, cur.grad));
      for (let i = 0; i < n; i++) q[i] = q[i]! / Math.max(gn, 1);
    }
    for (let k = 0; k < ss.length; k++) {
      const b = rhos[k]! * dot(ys[k]!, q);
      const sk = ss[k]!;
      for (let i = 0; i < n; i++) q[i] = q[i]! + sk[i]! * (alphas[k]! - b);
    }
    const dir = q.map((v) => -v);
    let slope = dot(dir, cur.grad);
    if (!(slope < 0)) {
      // not a descent direction: reset memory and use steepest descent
      ss.length = 0;
      ys.length = 0;
      rhos.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -cur.grad[i]!;
      slope = dot(dir, cur.grad);
    }
    let step = 1;
    let next: { value: number; grad: Float64Array } | null = null;
    let xNext = x;
    for (let ls = 0; ls < 30; ls++) {
      const cand = new Float64Array(n);
      for (let i = 0; i < n; i++) cand[i] = x[i]! + step * dir[i]!;
      const r = f(cand);
      if (Number.isFinite(r.value) && r.value <= cur.value + 1e-4 * step * slope) {
        next = r;
        xNext = cand;
        break;
      }
      step *= 0.5;
    }
    if (!next) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNext[i]! - x[i]!;
      y[i] = next.grad[i]! - cur.grad[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
      if (ss.length > m) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
    }
    const decrease = cur.value - next.value;
    x = xNext;
    cur = next;
    if (decrease <= fTol * Math.max(1, Math.abs(cur.value))) {
      it++;
      break;
    }
  }
  return { x, value: cur.value, iterations: it };
}

/**
 * Ordinary least squares for the small, ill-scaled design matrices of the interference predictor
 * (FLOPs ~1e11 beside an intercept of 1): columns are scaled to unit maximum before solving, and the
 * (XᵀX)⁻¹ needed by prediction intervals is kept in the scaled basis.
 */
export interface OlsFit {
  /** Coefficients in the caller's (unscaled) feature basis. */
  readonly beta: readonly number[];
  /** Residual variance estimate s² = RSS / (n − p). */
  readonly s2: number;
  /** Residual degrees of freedom n − p. */
  readonly dof: number;
  readonly n: number;
  /** Column scales: the fit works on x_j / scale_j. */
  readonly scale: readonly number[];
  /** (XᵀX)⁻¹ of the scaled design. */
  readonly xtxInvScaled: readonly (readonly number[])[];
}

/** Fit y ≈ Xβ. Needs more rows than columns (n > p) so the residual variance is defined. */
export function fitOls(x: readonly (readonly number[])[], y: readonly number[], ridge = 1e-9): OlsFit {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`fitOls: ${n} rows of features but ${y.length} targets`);
  if (n === 0) throw new RangeError('fitOls: no observations');
  const p = x[0]!.length;
  if (n <= p) throw new RangeError(`fitOls: ${n} observations cannot fit ${p} coefficients with a residual variance (need at least ${p + 1})`);
  for (const row of x) if (row.length !== p) throw new RangeError('fitOls: ragged feature rows');
  for (const v of y) if (!Number.isFinite(v)) throw new RangeError(`fitOls: non-finite target ${v}`);
  const scale = Array.from({ length: p }, (_, j) => {
    let m = 0;
    for (const row of x) m = Math.max(m, Math.abs(row[j]!));
    return m > 0 ? m : 1;
  });
  const xs = x.map((row) => row.map((v, j) => v / scale[j]!));
  const xtx = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xty = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) {
    const r = xs[i]!;
    for (let a = 0; a < p; a++) {
      xty[a]! += r[a]! * y[i]!;
      for (let b = 0; b < p; b++) xtx[a]![b]! += r[a]! * r[b]!;
    }
  }
  for (let a = 0; a < p; a++) xtx[a]![a]! += ridge;
  const inv = invert(xtx);
  const betaScaled = inv.map((row) => row.reduce((s, v, j) => s + v * xty[j]!, 0));
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i]! - dot(xs[i]!, betaScaled);
    rss += e * e;
  }
  const dof = n - p;
  return { beta: betaScaled.map((b, j) => b / scale[j]!), s2: rss / dof, dof, n, scale, xtxInvScaled: inv };
}

/** Prediction and leverage h = xᵀ(XᵀX)⁻¹x at a feature vector. */
export function olsPredict(fit: OlsFit, x: readonly number[]): { mean: number; leverage: number } {
  if (x.length !== fit.beta.length) throw new RangeError(`olsPredict: expected ${fit.beta.length} features, got ${x.length}`);
  const xs = x.map((v, j) => v / fit.scale[j]!);
  const mean = dot(x, fit.beta);
  let h = 0;
  for (let a = 0; a < xs.length; a++) for (let b = 0; b < xs.length; b++) h += xs[a]! * fit.xtxInvScaled[a]![b]! * xs[b]!;
  return { mean, leverage: Math.max(0, h) };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Gauss–Jordan inverse with partial pivoting (p ≤ ~10). */
function invert(m: readonly (readonly number[])[]): number[][] {
  const p = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: p }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < p; col++) {
    let piv = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
    if (Math.abs(a[piv]![col]!) < 1e-14) throw new RangeError('fitOls: the features are collinear (singular design); profile more varied runs');
    [a[col], a[piv]] = [a[piv]!, a[col]!];
    const d = a[col]![col]!;
    for (let j = 0; j < 2 * p; j++) a[col]![j]! /= d;
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = a[r]![col]!;
      if (f === 0) continue;
      for (let j = 0; j < 2 * p; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  return a.map((row) => row.slice(p));
}

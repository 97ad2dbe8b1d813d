/**
 * Dense symmetric positive-definite linear algebra on row-major Float64Arrays: Cholesky with
 * escalating jitter and triangular solves. n is at most a few hundred observations here.
 */

/** Lower-triangular Cholesky factor L (row-major n×n) of A, or null when A is not positive definite. */
export function choleskyInPlace(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    const rj = j * n;
    for (let k = 0; k < j; k++) d -= l[rj + k]! * l[rj + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    l[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!;
      l[ri + j] = s / ljj;
    }
  }
  return l;
}

export interface CholeskyResult {
  readonly l: Float64Array;
  /** Jitter that had to be added to the diagonal (0 when none). */
  readonly jitter: number;
}

/**
 * Cholesky of A + jitter·I, trying jitter 0, then 1e-9·mean(diag) growing ×10 up to 1e-2·mean(diag).
 * Throws when even the largest jitter fails (A is not a covariance matrix).
 */
export function stableCholesky(a: Float64Array, n: number): CholeskyResult {
  const first = choleskyInPlace(a, n);
  if (first) return { l: first, jitter: 0 };
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i]!;
  meanDiag = Math.max(meanDiag / Math.max(n, 1), 1e-12);
  if (!Number.isFinite(meanDiag)) throw new Error('covariance matrix has a non-finite diagonal');
  for (let jitter = 1e-9 * meanDiag; jitter <= 1e-2 * meanDiag; jitter *= 10) {
    const b = Float64Array.from(a);
    for (let i = 0; i < n; i++) b[i * n + i] = b[i * n + i]! + jitter;
    const l = choleskyInPlace(b, n);
    if (l) return { l, jitter };
  }
  throw new Error('covariance matrix is not positive definite even with jitter');
}

/** Solve L x = b (L lower-triangular, row-major), returning x. */
export function solveLower(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= l[ri + k]! * x[k]!;
    x[i] = s / l[ri + i]!;
  }
  return x;
}

/** Solve Lᵀ x = b (L lower-triangular, row-major), returning x. */
export function solveUpperT(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** Solve (L Lᵀ) x = b. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  return solveUpperT(l, n, solveLower(l, n, b));
}

/**
 * (L⁻¹)ᵀ of a lower-triangular L (row-major n×n): row j holds column j of L⁻¹, so the inner loops
 * below run over contiguous memory (the same operations in the same order as the textbook
 * column-by-column forward substitution).
 */
function lowerInverseTransposed(l: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const cj = j * n;
    t[cj + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let k = j; k < i; k++) s -= l[ri + k]! * t[cj + k]!;
      t[cj + i] = s / l[ri + i]!;
    }
  }
  return t;
}

/** L⁻¹ of a lower-triangular L (row-major n×n), itself lower-triangular. */
export function lowerInverse(l: Float64Array, n: number): Float64Array {
  const t = lowerInverseTransposed(l, n);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) m[i * n + j] = t[j * n + i]!;
  return m;
}

/** A⁻¹ = L⁻ᵀ L⁻¹ from its Cholesky factor (row-major n×n). */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  const t = lowerInverseTransposed(l, n);
  // A⁻¹[i][j] = Σ_{k ≥ max(i,j)} M[k][i]·M[k][j] with M = L⁻¹, M[k][i] = t[i][k]
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let j = 0; j <= i; j++) {
      const cj = j * n;
      let s = 0;
      for (let k = i; k < n; k++) s += t[ci + k]! * t[cj + k]!;
      inv[ci + j] = s;
      inv[cj + i] = s;
    }
  }
  return inv;
}

/** log det(L Lᵀ) = 2 Σ log L_ii. */
export function choleskyLogDet(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]!);
  return 2 * s;
}

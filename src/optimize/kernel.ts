/**
 * Matérn-5/2 kernel with one lengthscale per input dimension (ARD):
 * k(x, x') = σ²·(1 + √5·r + 5r²/3)·exp(−√5·r),  r² = Σ_i (x_i − x'_i)² / ℓ_i².
 */
const SQRT5 = Math.sqrt(5);

/**
 * The Matérn-5/2 kernel at scaled squared distance r² (see `scaledSqDist`): σ²·(1 + s + s²/3)·e^(−s),
 * s = √5·r; the correlation when `signalVariance` is left at 1. The factors are multiplied left to
 * right, so `sf2 * matern52(r2)` (the fit's kernel matrix) and `matern52(r2, sf2)` (predictions and
 * the grid scorer) may differ in the last bit: each caller keeps its own order.
 */
export function matern52(r2: number, signalVariance = 1): number {
  const s = SQRT5 * Math.sqrt(r2);
  return signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

/**
 * ∂k/∂(log ℓ_i) divided by σ²·(Δ_i²/ℓ_i²) at scaled squared distance r²: (5/3)(1 + √5·r)·exp(−√5·r),
 * finite at r = 0.
 */
export function matern52LengthscaleFactor(r2: number): number {
  const s = SQRT5 * Math.sqrt(r2);
  return (5 / 3) * (1 + s) * Math.exp(-s);
}

/** Scaled squared distance Σ (a_i − b_i)²/ℓ_i² between row i of A and row j of B (both n×d row-major). */
export function scaledSqDist(a: Float64Array, i: number, b: Float64Array, j: number, invLs2: Float64Array, d: number): number {
  let s = 0;
  const ai = i * d;
  const bj = j * d;
  for (let k = 0; k < d; k++) {
    const diff = a[ai + k]! - b[bj + k]!;
    s += diff * diff * invLs2[k]!;
  }
  return s;
}

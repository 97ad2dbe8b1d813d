/**
 * Standard normal functions accurate far into the tails: φ, Φ, log Φ and the log of the expected-
 * improvement function h(z) = φ(z) + zΦ(z), all built on the scaled complementary error function
 * erfcx(x) = exp(x²)·erfc(x) so nothing underflows (Ament et al. 2023, "Unexpected Improvements to
 * Expected Improvement").
 */

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** erf(x) for |x| < 1.5 by its Maclaurin series (full double precision there). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 60; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return 2 * INV_SQRT_PI * sum;
}

/** erfcx(x) = exp(x²)·erfc(x) for x ≥ 0, by series below 1.5 and Laplace's continued fraction above. */
function erfcxNonNeg(x: number): number {
  if (x < 1.5) return Math.exp(x * x) * (1 - erfSeries(x));
  if (x > 1e8) return INV_SQRT_PI / x;
  // erfc(x)·exp(x²)·√π = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated backwards.
  const terms = x < 3 ? 120 : x < 6 ? 50 : 25;
  let f = x;
  for (let k = terms; k >= 1; k--) f = x + k / 2 / f;
  return INV_SQRT_PI / f;
}

/** The scaled complementary error function exp(x²)·erfc(x). */
export function erfcx(x: number): number {
  if (x >= 0) return erfcxNonNeg(x);
  // erfc(−y) = 2 − erfc(y)  ⇒  erfcx(−y) = 2·exp(y²) − erfcx(y)
  const y = -x;
  return 2 * Math.exp(y * y) - erfcxNonNeg(y);
}

export function erfc(x: number): number {
  if (x >= 0) return Math.exp(-x * x) * erfcxNonNeg(x);
  return 2 - Math.exp(-x * x) * erfcxNonNeg(-x);
}

/** Standard normal density. */
export function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

/** Standard normal CDF Φ(z). */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** log Φ(z), finite for any finite z (≈ −z²/2 − log(−z√(2π)) far in the lower tail). */
export function logNormCdf(z: number): number {
  if (z < 0) {
    const x = -z / SQRT2;
    return Math.log(0.5) - x * x + Math.log(erfcxNonNeg(x));
  }
  return Math.log1p(-0.5 * Math.exp(-(z * z) / 2) * erfcxNonNeg(z / SQRT2));
}

/** log(1 − exp(a)) for a < 0, accurate for a near 0 and a ≪ 0. */
function log1mexp(a: number): number {
  return a > -Math.LN2 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a));
}

/**
 * log h(z) with h(z) = φ(z) + zΦ(z): the expected improvement of a unit-variance Gaussian over an
 * incumbent z standard deviations above its mean. Stable for every finite z.
 */
export function logH(z: number): number {
  if (z > -1) return Math.log(normPdf(z) + z * normCdf(z));
  if (z > -1e8) {
    // h(z) = φ(z)·(1 − |z|·√(π/2)·erfcx(|z|/√2)) for z < 0
    const a = Math.log(-z * erfcxNonNeg(-z / SQRT2)) + 0.5 * Math.log(Math.PI / 2);
    return -0.5 * z * z - LOG_SQRT_2PI + log1mexp(a);
  }
  return -0.5 * z * z - LOG_SQRT_2PI - 2 * Math.log(-z);
}

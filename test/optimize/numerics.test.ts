import { describe, expect, it } from 'vitest';
import { lbfgs } from '../../src/numerics/lbfgs.ts';
import { choleskyInverse, choleskySolve, stableCholesky } from '../../src/numerics/linalg.ts';
import { erfcx, logH, logNormCdf, normCdf } from '../../src/numerics/normal.ts';

describe('normal functions', () => {
  it('erfcx matches reference values across its branches', () => {
    // reference values: exp(x²)·erfc(x) to 15 digits
    const ref: [number, number][] = [
      [0.1, 0.896456979969127],
      [1, 0.427583576155807],
      [2, 0.255395676310506],
      [5, 0.110704637733069],
      [10, 0.0561409927438226],
      [30, 0.0187958888614168],
    ];
    for (const [x, v] of ref) expect(erfcx(x)).toBeCloseTo(v, 12);
    expect(erfcx(-1)).toBeCloseTo(2 * Math.E - 0.427583576155807, 12);
  });

  it('Φ and log Φ are accurate in both tails', () => {
    expect(normCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normCdf(-5)).toBeCloseTo(2.866515718791939e-7, 18);
    // log Φ(−40) ≈ −804.608 (Φ itself underflows to 0 there)
    expect(logNormCdf(-40)).toBeCloseTo(-804.6084420137538, 8);
    expect(logNormCdf(5)).toBeCloseTo(-2.866516129637636e-7, 15);
  });

  it('log h(z) is continuous at its branch point and follows the asymptote far in the tail', () => {
    expect(Math.abs(logH(-1 + 1e-9) - logH(-1 - 1e-9))).toBeLessThan(1e-8);
    const z = -1e4;
    const asym = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(-z);
    expect(logH(z)).toBeCloseTo(asym, 3);
    expect(Number.isFinite(logH(-1e9))).toBe(true);
    // h is increasing
    const zs = [-200, -50, -10, -3, -1, 0, 2];
    for (let i = 1; i < zs.length; i++) expect(logH(zs[i]!)).toBeGreaterThan(logH(zs[i - 1]!));
  });
});

describe('linear algebra', () => {
  it('solves an SPD system and inverts it', () => {
    const a = Float64Array.from([4, 2, 0.6, 2, 5, 1.5, 0.6, 1.5, 3]);
    const { l, jitter } = stableCholesky(a, 3);
    expect(jitter).toBe(0);
    const b = Float64Array.from([1, 2, 3]);
    const x = choleskySolve(l, 3, b);
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let j = 0; j < 3; j++) s += a[i * 3 + j]! * x[j]!;
      expect(s).toBeCloseTo(b[i]!, 12);
    }
    const inv = choleskyInverse(l, 3);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += a[i * 3 + k]! * inv[k * 3 + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
  });

  it('adds jitter to a singular covariance instead of failing', () => {
    const a = Float64Array.from([1, 1, 1, 1]);
    const { jitter } = stableCholesky(a, 2);
    expect(jitter).toBeGreaterThan(0);
    expect(() => stableCholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/positive definite/);
  });
});

describe('L-BFGS', () => {
  it('minimises the Rosenbrock function', () => {
    const r = lbfgs(
      (x) => {
        const a = x[0]!;
        const b = x[1]!;
        return {
          value: (1 - a) ** 2 + 100 * (b - a * a) ** 2,
          grad: Float64Array.from([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]),
        };
      },
      Float64Array.from([-1.2, 1]),
      { maxIterations: 500, valueTolerance: 0 },
    );
    expect(r.x[0]).toBeCloseTo(1, 3);
    expect(r.x[1]).toBeCloseTo(1, 3);
  });
});

describe('numerical guards', () => {
  it('refuses a covariance with a non-finite diagonal instead of looping', () => {
    const a = Float64Array.from([Number.POSITIVE_INFINITY, 0, 0, -1]);
    expect(() => stableCholesky(a, 2)).toThrow(/non-finite/);
  });
});

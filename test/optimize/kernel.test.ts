import { describe, expect, it } from 'vitest';
import { matern52, matern52LengthscaleFactor } from '../../src/optimize/kernel.ts';

describe('Matérn-5/2 kernel', () => {
  it('is the closed form σ²(1 + √5 r + 5r²/3)e^(−√5 r) of the scaled squared distance', () => {
    expect(matern52(0)).toBe(1);
    expect(matern52(0, 2.5)).toBe(2.5);
    const r = 0.7;
    const s = Math.sqrt(5) * r;
    expect(matern52(r * r, 1.3)).toBeCloseTo(1.3 * (1 + s + (5 * r * r) / 3) * Math.exp(-s), 14);
    expect(1.3 * matern52(r * r)).toBeCloseTo(matern52(r * r, 1.3), 14);
  });

  it('gives the lengthscale derivative factor: ∂k/∂log ℓ = σ²·factor·Δ²/ℓ² in one dimension', () => {
    const delta = 0.4;
    const logL = Math.log(0.3);
    const k = (t: number) => matern52((delta * delta) / Math.exp(2 * t));
    const h = 1e-6;
    const numeric = (k(logL + h) - k(logL - h)) / (2 * h);
    const r2 = (delta * delta) / Math.exp(2 * logL);
    expect(matern52LengthscaleFactor(r2) * r2).toBeCloseTo(numeric, 6);
  });
});

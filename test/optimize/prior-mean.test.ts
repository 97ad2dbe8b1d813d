import { describe, expect, it } from 'vitest';
import { ConstrainedBo } from '../../src/optimize/constrained-bo.ts';
import { orinLikeLandscape } from './synthetic.ts';

const land = orinLikeLandscape(40, 0.02);

/** Run the BO for `n` suggestions on the noisy synthetic landscape; the best truly feasible log energy found. */
function run(bo: ConstrainedBo, n: number, seed: number) {
  let best = Number.POSITIVE_INFINITY;
  for (let t = 0; t < n; t++) {
    const s = bo.suggest();
    if (!s) break;
    const y = land.noisy(s.point, seed * 1000 + t);
    bo.observe({ point: s.point, valid: true, objective: y.logE, constraint: y.logLat, objectiveNoiseVar: 0.02 ** 2, constraintNoiseVar: 0.02 ** 2 });
    const tr = land.truth(s.point);
    if (tr.logLat <= land.logThreshold && tr.logE < best) best = tr.logE;
  }
  return best;
}

describe('constrained BO with a prior mean', () => {
  it('fits the residual from a prior that is off by a constant (2× in time, 30 % in energy) and uses it', () => {
    // the prior: the truth shifted, as a twin off by a factor would be
    const prior = (p: readonly number[]) => {
      const t = land.truth(p);
      return { objective: t.logE + Math.log(1.3), constraint: t.logLat + Math.log(2) };
    };
    const bo = new ConstrainedBo({ space: land.space, threshold: land.logThreshold, seed: 3, prior, initialPoints: 3 });
    run(bo, 10, 1);
    expect(bo.state.residual).toEqual({ objective: true, constraint: true });
  });

  it('falls back to the plain GP where the prior contradicts the measurements', () => {
    // a prior unrelated to the landscape: a steep ramp along the first dimension only
    const prior = (p: readonly number[]) => ({ objective: 5 * p[0]! - 2 * p[3]!, constraint: -4 * p[1]! + 3 * p[3]! });
    const bo = new ConstrainedBo({ space: land.space, threshold: land.logThreshold, seed: 3, prior, initialPoints: 6 });
    run(bo, 14, 2);
    expect(bo.state.residual).toEqual({ objective: false, constraint: false });
  });

  it('proposes the given initial design first, then quasi-random points', () => {
    const design = [
      [2, 5, 1, 3],
      [0, 0, 0, 0],
    ];
    const bo = new ConstrainedBo({ space: land.space, threshold: land.logThreshold, seed: 1, initialDesign: design, initialPoints: 2 });
    const got: number[][] = [];
    for (let i = 0; i < 4; i++) {
      const s = bo.suggest()!;
      expect(s.source).toBe('initial');
      got.push([...s.point]);
      const y = land.noisy(s.point, i);
      bo.observe({ point: s.point, valid: true, objective: y.logE, constraint: y.logLat });
    }
    expect(got.slice(0, 2)).toEqual(design);
    expect(new Set(got.map((p) => p.join(','))).size).toBe(4);
  });

  it('stops when the improvement left is below the measured noise, not before the minimum', () => {
    const make = (factor: number) =>
      new ConstrainedBo({ space: land.space, threshold: land.logThreshold, seed: 5, initialPoints: 4, noiseStop: { factor, minObservations: 8 } });
    const count = (bo: ConstrainedBo) => {
      let n = 0;
      for (; n < 60; n++) {
        const s = bo.suggest();
        if (!s) break;
        const y = land.noisy(s.point, 7000 + n);
        bo.observe({ point: s.point, valid: true, objective: y.logE, constraint: y.logLat, objectiveNoiseVar: 0.05 ** 2, constraintNoiseVar: 0.05 ** 2 });
      }
      return n;
    };
    const eager = make(1);
    const n = count(eager);
    expect(eager.stopReason).toBe('converged');
    expect(n).toBeGreaterThanOrEqual(8);
    // a floor a hundred times lower keeps searching longer
    expect(count(make(0.01))).toBeGreaterThan(n);
  });
});

import { describe, expect, it } from 'vitest';
import { fitGp, gpFromState, gpNegLogPosterior } from '../../src/optimize/gp.ts';
import { createRandom } from '../../src/numerics/random.ts';

const f = (a: number, b: number) => Math.sin(6 * a) + 0.5 * b;

function data(n: number, seed: number) {
  const rng = createRandom(seed);
  const x = new Float64Array(n * 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = rng.next();
    x[2 * i + 1] = rng.next();
    y[i] = f(x[2 * i]!, x[2 * i + 1]!);
  }
  return { x, y };
}

describe('GP regression', () => {
  it('has an analytic gradient that matches finite differences', () => {
    const { x, y } = data(15, 1);
    const noise = Float64Array.from({ length: 15 }, (_, i) => 0.001 * (i % 3));
    const { f: nlp } = gpNegLogPosterior(x, y, 2, { yNoiseVar: noise });
    const t = Float64Array.from([-0.7, 0.2, 0.3, -3]);
    const g = nlp(t).grad;
    for (let k = 0; k < t.length; k++) {
      const h = 1e-5;
      const tp = Float64Array.from(t);
      const tm = Float64Array.from(t);
      tp[k] = tp[k]! + h;
      tm[k] = tm[k]! - h;
      const fd = (nlp(tp).value - nlp(tm).value) / (2 * h);
      expect(g[k]!).toBeCloseTo(fd, 4);
    }
  });

  it('interpolates a smooth function and learns which input matters', () => {
    const { x, y } = data(30, 2);
    const gp = fitGp(x, y, 2, { rng: createRandom(3), randomStarts: 2 });
    const test = data(50, 99);
    const p = gp.predict(test.x, 50);
    let maxErr = 0;
    for (let i = 0; i < 50; i++) maxErr = Math.max(maxErr, Math.abs(p.mean[i]! - test.y[i]!));
    expect(maxErr).toBeLessThan(0.1);
    // the sine varies faster along the first input than the linear term along the second
    const [l0, l1] = gp.state.hyper.lengthscales;
    expect(l0!).toBeLessThan(l1!);
  });

  it('is uncertain far from the data and certain at it', () => {
    const x = Float64Array.from([0.1, 0.15, 0.2, 0.25]);
    const y = Float64Array.from([1, 1.1, 1.2, 1.3]);
    const gp = fitGp(x, y, 1);
    const p = gp.predict(Float64Array.from([0.15, 0.95]), 2);
    expect(p.variance[1]!).toBeGreaterThan(10 * p.variance[0]!);
  });

  it('rebuilds from its stored state with identical predictions', () => {
    const { x, y } = data(12, 4);
    const gp = fitGp(x, y, 2);
    const again = gpFromState(JSON.parse(JSON.stringify(gp.state)));
    const q = Float64Array.from([0.3, 0.4, 0.9, 0.1]);
    const a = gp.predict(q, 2);
    const b = again.predict(q, 2);
    for (let i = 0; i < 2; i++) {
      expect(b.mean[i]).toBeCloseTo(a.mean[i]!, 12);
      expect(b.variance[i]).toBeCloseTo(a.variance[i]!, 12);
    }
  });

  it('rejects non-finite outputs', () => {
    expect(() => fitGp(Float64Array.from([0.1]), Float64Array.from([Number.NaN]), 1)).toThrow(/non-finite/);
  });
});

describe('GP hyperparameter objective far out of range', () => {
  it('returns +∞ for overflowing hyperparameters, so a line search backs off', () => {
    const { f } = gpNegLogPosterior(Float64Array.from([0.1, 0.5, 0.9]), Float64Array.from([1, 2, 1.5]), 1);
    expect(f(Float64Array.from([0, 800, -3])).value).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isFinite(f(Float64Array.from([0, 0, -3])).value)).toBe(true);
  });
});

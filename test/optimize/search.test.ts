import { describe, expect, it } from 'vitest';
import { exhaustiveSearch, gridSearch, levels, randomSearch } from '../../src/optimize/baselines.ts';
import { ConstrainedBo } from '../../src/optimize/constrained-bo.ts';
import { initialDesign } from '../../src/optimize/design.ts';
import { createKnobSpace } from '../../src/tune/knob-space.ts';
import type { Optimizer } from '../../src/optimize/optimizer.ts';
import { createRandom } from '../../src/numerics/random.ts';
import { enumerateGrid, gridPoint, pointKey } from '../../src/optimize/search-space.ts';
import { orinLikeLandscape } from './synthetic.ts';

const table = (n: number, base: number) => Array.from({ length: n }, (_, i) => base * (i + 1));

describe('initial design', () => {
  it('initial design gives distinct valid points spread over every dimension', () => {
    const s = createKnobSpace({ domains: { gpuHz: table(13, 1e8), emcHz: table(4, 1e9), batch: [1, 2, 4, 8, 16] } });
    const pts = initialDesign(s, 12, createRandom(1));
    expect(pts).toHaveLength(12);
    expect(new Set(pts.map(pointKey)).size).toBe(12);
    for (const p of pts) expect(s.isValid!(p)).toBe(true);
    expect(new Set(pts.map((p) => p[3])).size).toBeGreaterThanOrEqual(4);
  });
});

describe('baselines', () => {
  const s = createKnobSpace({ domains: { gpuHz: table(5, 1e8), emcHz: table(3, 1e9), batch: [1, 4] } });
  const drain = (o: Optimizer) => {
    const out: string[] = [];
    for (let s2 = o.suggest(); s2; s2 = o.suggest()) {
      out.push(pointKey(s2.point));
      o.observe({ point: s2.point, valid: false });
    }
    return out;
  };
  it('exhaustive and random visit every valid point exactly once', () => {
    const ex = drain(exhaustiveSearch(s));
    const rnd = drain(randomSearch(s, 7));
    expect(ex).toHaveLength(15 * 3 * 2);
    expect(new Set(rnd)).toEqual(new Set(ex));
    expect(rnd).not.toEqual(ex);
  });
  it('grid search uses evenly spaced levels including both ends', () => {
    expect(levels(13, 3)).toEqual([0, 6, 12]);
    const g = drain(gridSearch(s, 20, 1));
    // as close to the budget as whole levels allow, never over it
    expect(g.length).toBeGreaterThanOrEqual(15);
    expect(g.length).toBeLessThanOrEqual(20);
  });
});

/** Trials until the best measured-feasible point is within `tol` of the true constrained optimum. */
function trialsToWithin(o: Optimizer, L: ReturnType<typeof orinLikeLandscape>, opt: number, tol: number, max: number, seed: number) {
  let best = Number.POSITIVE_INFINITY;
  for (let t = 1; t <= max; t++) {
    const s = o.suggest();
    if (!s) return Number.POSITIVE_INFINITY;
    const m = L.noisy(s.point, seed * 1000 + t);
    o.observe({ point: s.point, valid: true, objective: m.logE, constraint: m.logLat });
    const tr = L.truth(s.point);
    if (m.logLat <= L.logThreshold && tr.logLat <= L.logThreshold) best = Math.min(best, tr.logE);
    if (best <= opt + Math.log(1 + tol)) return t;
  }
  return Number.POSITIVE_INFINITY;
}

describe('constrained BO on a synthetic Jetson-like landscape', () => {
  const L = orinLikeLandscape(40, 0.02);
  const g = enumerateGrid(L.space, 1e6)!;
  let opt = Number.POSITIVE_INFINITY;
  for (let i = 0; i < g.size; i++) {
    const t = L.truth(gridPoint(g, i));
    if (t.logLat <= L.logThreshold) opt = Math.min(opt, t.logE);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

  it('comes within 5 % of the optimum in far fewer trials than random search', () => {
    const seeds = [0, 1, 2, 3, 4];
    const cbo = seeds.map((s) => trialsToWithin(new ConstrainedBo({ space: L.space, threshold: L.logThreshold, seed: s }), L, opt, 0.05, 40, s));
    const rnd = seeds.map((s) => trialsToWithin(randomSearch(L.space, s), L, opt, 0.05, 40, s));
    expect(median(cbo)).toBeLessThanOrEqual(15);
    expect(median(rnd)).toBeGreaterThan(median(cbo) * 2);
  });

  it('never proposes the same point twice and maximises feasibility while nothing is feasible', () => {
    // an SLO only the fastest corner meets: the first model-based suggestions search for feasibility
    const tight = orinLikeLandscape(14.5, 0.01);
    const bo = new ConstrainedBo({ space: tight.space, threshold: tight.logThreshold, seed: 3, initialPoints: 4 });
    const seen = new Set<string>();
    let sawPofMode = false;
    let found = false;
    for (let t = 0; t < 25 && !found; t++) {
      const s = bo.suggest();
      if (!s) break;
      expect(seen.has(pointKey(s.point))).toBe(false);
      seen.add(pointKey(s.point));
      const m = tight.noisy(s.point, t);
      bo.observe({ point: s.point, valid: true, objective: m.logE, constraint: m.logLat });
      if (s.source === 'bo' && bo.state.mode === 'log-pof') sawPofMode = true;
      if (m.logLat <= tight.logThreshold) found = true;
    }
    expect(sawPofMode).toBe(true);
    expect(found).toBe(true);
  });

  it('keeps going after invalid windows and works on a grid too large to enumerate', () => {
    const big = createKnobSpace({ domains: { cpuHz: table(20, 1e8), gpuHz: table(13, 1e8), emcHz: table(11, 2e8), batch: [1, 2, 4, 8, 16] } });
    const bo = new ConstrainedBo({ space: big, threshold: 0, seed: 1, maxGridPoints: 10_000, sampleSize: 512 });
    expect(bo.gridSize).toBeNull();
    const f = (p: readonly number[]) => (p[0]! - 12) ** 2 / 100 + (p[3]! - 5) ** 2 / 30 + p[4]! * 0.1;
    let best = Number.POSITIVE_INFINITY;
    for (let t = 0; t < 20; t++) {
      const s = bo.suggest()!;
      if (t === 2) {
        bo.observe({ point: s.point, valid: false });
        continue;
      }
      const v = f(s.point);
      best = Math.min(best, v);
      bo.observe({ point: s.point, valid: true, objective: v, constraint: -1 });
    }
    expect(best).toBeLessThan(0.5);
  });
});

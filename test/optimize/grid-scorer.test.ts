import { describe, expect, it } from 'vitest';
import { scoreAcquisition } from '../../src/optimize/acquisition.ts';
import { ConstrainedBo } from '../../src/optimize/constrained-bo.ts';
import { fitGp } from '../../src/optimize/gp.ts';
import { GridScorer } from '../../src/optimize/grid-scorer.ts';
import { createRandom } from '../../src/numerics/random.ts';
import { dimensionCoordinates, enumerateGrid, gridPoint } from '../../src/optimize/search-space.ts';
import { orinLikeLandscape } from './synthetic.ts';

/** Drive the fast and the plain path with the same seed and the same observations; return both paths' suggestions. */
function sideBySide(sloMs: number, seed: number, steps: number) {
  const L = orinLikeLandscape(sloMs);
  const fast = new ConstrainedBo({ space: L.space, threshold: L.logThreshold, seed, minImprovement: 0 });
  const plain = new ConstrainedBo({ space: L.space, threshold: L.logThreshold, seed, minImprovement: 0, gridScoring: 'plain' });
  const out: { fast: string; plain: string; fa?: number; pa?: number; mode: string }[] = [];
  for (let t = 0; t < steps; t++) {
    const f = fast.suggest();
    const p = plain.suggest();
    if (!f || !p) {
      expect(f).toBe(p);
      break;
    }
    out.push({ fast: f.point.join(','), plain: p.point.join(','), fa: f.acquisition, pa: p.acquisition, mode: fast.state.mode });
    const y = L.noisy(p.point, seed * 1000 + t);
    const o = { point: p.point, valid: true as const, objective: y.logE, constraint: y.logLat };
    fast.observe(o);
    plain.observe(o);
  }
  return out;
}

describe('fast grid scoring', () => {
  it('suggests exactly what the plain path suggests, with the same acquisition value', () => {
    // loose, medium and a tight SLO (feasibility-only mode before a feasible point is seen)
    const modes = new Set<string>();
    for (const [slo, seed] of [
      [60, 1],
      [25, 2],
      [9, 3],
    ] as const) {
      const run = sideBySide(slo, seed, 24);
      expect(run.length).toBeGreaterThan(15);
      for (const r of run) {
        expect(r.fast).toBe(r.plain);
        expect(r.fa).toBe(r.pa);
        modes.add(r.mode);
      }
    }
    expect(modes).toContain('log-ei-pof');
  });

  it('finds the plain argmax of the acquisition over the grid while computing fewer exact variances', () => {
    const L = orinLikeLandscape(25);
    const grid = enumerateGrid(L.space, 1e6)!;
    const scorer = new GridScorer(grid, L.space.dims.map(dimensionCoordinates));
    const rng = createRandom(5);
    const n = 30;
    const d = grid.d;
    const x = new Float64Array(n * d);
    const yo = new Float64Array(n);
    const yc = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = rng.int(grid.size);
      x.set(grid.x.subarray(g * d, (g + 1) * d), i * d);
      const t = L.noisy(gridPoint(grid, g), i);
      yo[i] = t.logE;
      yc[i] = t.logLat;
      scorer.markVisited(gridPoint(grid, g).join(','));
    }
    const objective = fitGp(x, yo, d, { rng });
    const constraint = fitGp(x, yc, d, { rng });
    for (const best of [Math.min(...yo), null]) {
      const pick = scorer.pick({ objective: objective.posterior, constraint: constraint.posterior }, L.logThreshold, best)!;
      const po = objective.predict(grid.x, grid.size);
      const pc = constraint.predict(grid.x, grid.size);
      const { values, mode } = scoreAcquisition({
        objMean: po.mean,
        objVar: po.variance,
        conMean: pc.mean,
        conVar: pc.variance,
        threshold: L.logThreshold,
        best,
      });
      let bi = -1;
      for (let g = 0; g < grid.size; g++) {
        if (x.some((_, i) => i % d === 0 && grid.x.subarray(g * d, (g + 1) * d).every((v, k) => v === x[i + k]))) continue;
        if (bi < 0 || values[g]! > values[bi]!) bi = g;
      }
      expect(pick.mode).toBe(mode);
      expect(pick.index).toBe(bi);
      expect(pick.value).toBe(values[bi]);
      expect(pick.evaluated).toBeLessThan(pick.candidates);
    }
  });

  it('returns null once every grid point is visited, and ignores keys off the grid', () => {
    const L = orinLikeLandscape(25);
    const grid = enumerateGrid(L.space, 1e6)!;
    const scorer = new GridScorer(grid, L.space.dims.map(dimensionCoordinates));
    const objective = fitGp(new Float64Array(grid.x.subarray(0, 2 * grid.d)), new Float64Array([0, 1]), grid.d);
    const models = { objective: objective.posterior, constraint: objective.posterior };
    scorer.markVisited('99,99,99,99');
    for (let g = 0; g < grid.size - 1; g++) scorer.markVisited(gridPoint(grid, g).join(','));
    expect(scorer.pick(models, 0, 0)!.index).toBe(grid.size - 1);
    scorer.markVisited(gridPoint(grid, grid.size - 1).join(','));
    expect(scorer.pick(models, 0, 0)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { TrialRecord } from '../../src/core/tuning-run.ts';
import { bestFeasibleSoFar, curvesFromBenchmark, medianCurve, randomSearchQuantiles } from '../../src/report/convergence.ts';
import { bestPoint, busiestBatch, heatCells, heatmapBatch } from '../../src/report/heatmap-data.ts';
import { describeKnobs, rankKnobs } from '../../src/report/knob-importance.ts';

const trial = (index: number, energy: number, feasible: boolean, valid = true): TrialRecord =>
  ({
    index,
    source: 'bo',
    config: { batch: 1 },
    feasible,
    measurement: { valid, energyPerQueryJ: energy, latencyTailMs: 10, noise: { energyCv: 0, latencyTailCv: 0 } },
  }) as unknown as TrialRecord;

describe('bestFeasibleSoFar', () => {
  it('ignores infeasible and invalid trials and is null until the first feasible one', () => {
    const t = [trial(0, 1, false), trial(1, 5, true), trial(2, 0.5, true, false), trial(3, 4, true), trial(4, 6, true)];
    expect(bestFeasibleSoFar(t)).toEqual([null, 5, 5, 4, 4]);
  });
  it('orders by trial index, not array order', () => {
    expect(bestFeasibleSoFar([trial(1, 2, true), trial(0, 3, true)])).toEqual([3, 2]);
  });
});

/** Brute force over every n-subset of a tiny grid: the exact distribution of random search's best. */
function bruteQuantile(energies: (number | null)[], n: number, q: number): number | null {
  const N = energies.length;
  const bests: number[] = [];
  const rec = (start: number, left: number, best: number) => {
    if (left === 0) {
      bests.push(best);
      return;
    }
    for (let i = start; i < N; i++) rec(i + 1, left - 1, Math.min(best, energies[i] ?? Number.POSITIVE_INFINITY));
  };
  rec(0, n, Number.POSITIVE_INFINITY);
  bests.sort((a, b) => a - b);
  // smallest value v with P(best ≤ v) ≥ q
  for (const v of bests) if (bests.filter((b) => b <= v).length / bests.length >= q) return Number.isFinite(v) ? v : null;
  return null;
}

describe('randomSearchQuantiles', () => {
  // 9 points, 5 feasible (energies), 4 infeasible (null).
  const grid = [7, null, 3, 9, null, 5, null, 1, null];
  const feasible = grid.filter((e): e is number => e !== null);
  it('matches brute-force enumeration of every subset for each n and quantile', () => {
    const steps = randomSearchQuantiles(feasible, grid.length, 6);
    expect(steps).toHaveLength(6);
    for (const s of steps) {
      expect(s.median).toBe(bruteQuantile(grid, s.trials, 0.5));
      expect(s.p25).toBe(bruteQuantile(grid, s.trials, 0.25));
      expect(s.p75).toBe(bruteQuantile(grid, s.trials, 0.75));
    }
  });
  it('gives the chance that a single draw is feasible, and reaches the optimum when every point is drawn', () => {
    const steps = randomSearchQuantiles(feasible, grid.length, 9);
    expect(steps[0]!.pFeasible).toBeCloseTo(5 / 9, 12);
    expect(steps[8]!.median).toBe(1);
    expect(steps[8]!.p75).toBe(1);
  });
  it('is null while an all-infeasible draw is more likely than the quantile allows', () => {
    const steps = randomSearchQuantiles([2], 10, 3);
    expect(steps[0]!.median).toBeNull(); // P(feasible) = 0.1
    expect(steps[0]!.pFeasible).toBeCloseTo(0.1, 12);
  });
  it('refuses more feasible points than the grid has', () => {
    expect(() => randomSearchQuantiles([1, 2, 3], 2, 1)).toThrow(/exceed/);
  });
});

describe('curvesFromBenchmark', () => {
  const filter = { model: 'm1', device: 'sim:orin-agx', sloMs: 8.3 };
  // the tuner benchmark's own layout (bench/results/tuner.json)
  const bench = {
    scenarios: [
      { device: 'sim:orin-agx', model: 'm1', slo: 'tight', sloMs: 4.15 },
      { device: 'sim:orin-agx', model: 'm1', slo: 'medium', sloMs: 8.3 },
      { device: 'sim:tx2', model: 'm1', slo: 'medium', sloMs: 8.3 },
    ],
    runs: [
      { device: 'sim:orin-agx', model: 'm1', slo: 'medium', optimizer: 'cbo', seed: 1, bestSoFarJ: [null, 5, 4] },
      { device: 'sim:orin-agx', model: 'm1', slo: 'medium', optimizer: 'cbo', seed: 2, bestSoFarJ: [6, 5, 3] },
      { device: 'sim:orin-agx', model: 'm1', slo: 'medium', optimizer: 'cbo', seed: 3, bestSoFarJ: [null, null, 2] },
      { device: 'sim:orin-agx', model: 'm1', slo: 'medium', optimizer: 'random', seed: 1, bestSoFarJ: [9, 8, 7] },
      { device: 'sim:orin-agx', model: 'm1', slo: 'tight', optimizer: 'cbo', seed: 1, bestSoFarJ: [0.1, 0.1, 0.1] },
      { device: 'sim:tx2', model: 'm1', slo: 'medium', optimizer: 'cbo', seed: 1, bestSoFarJ: [0.2, 0.2, 0.2] },
    ],
  };
  it('takes the runs of the scenario with the run’s device, model and SLO, median per optimiser', () => {
    const { curves, note } = curvesFromBenchmark(bench, filter);
    expect(curves.map((c) => c.label)).toEqual(['cbo (benchmark, median of 3)', 'random (benchmark)']);
    expect(curves[0]!.bestJ).toEqual([null, 5, 3]);
    expect(curves[1]!.bestJ).toEqual([9, 8, 7]);
    expect(note).toContain('“medium” scenario (8.3 ms)');
  });
  it('draws nothing for another SLO, and says which SLOs the benchmark has', () => {
    const r = curvesFromBenchmark(bench, { ...filter, sloMs: 30 });
    expect(r.curves).toEqual([]);
    expect(r.note).toBe('The benchmark ran m1 on sim:orin-agx at other SLOs (tight 4.15 ms, medium 8.3 ms), not 30 ms, so its curves are not drawn.');
    expect(curvesFromBenchmark(bench, { ...filter, model: 'm2' }).note).toContain('no scenario for m2 on sim:orin-agx');
  });
  it('reads other layouts defensively: any optimiser-named best-so-far array of the model', () => {
    const doc = {
      results: {
        a: [
          { model: 'm1', method: 'bo', trace: [3, 2] },
          { model: 'other', method: 'bo', trace: [1, 1] },
        ],
      },
    };
    expect(curvesFromBenchmark(doc, filter).curves).toEqual([{ label: 'bo (benchmark)', bestJ: [3, 2] }]);
    const none = curvesFromBenchmark({ results: [{ name: 'x', trialsTo5pct: 12 }] }, filter);
    expect(none.curves).toEqual([]);
    expect(none.note).toContain('no best-so-far curves');
  });
  it('medianCurve carries a shorter curve forward at its last value', () => {
    expect(medianCurve([[3], [5, 1], [4, 2]])).toEqual([4, 2]);
  });
});

describe('heat cells', () => {
  const p = (gpuMaxHz: number, emcHz: number, gpuMinHz: number, energyJ: number, latencyMs: number, batch = 1) => ({
    config: { gpuMaxHz, emcHz, gpuMinHz, batch },
    energyJ,
    latencyMs,
  });
  it('keeps the lowest energy per cell and marks a cell feasible when any point in it meets the SLO', () => {
    const cells = heatCells([p(1, 10, 1, 5, 50), p(1, 10, 0, 3, 80), p(2, 10, 1, 4, 90)], 'gpuMaxHz', 'emcHz', 60);
    expect(cells).toEqual([
      { xHz: 1, yHz: 10, energyJ: 3, feasible: true, count: 2 },
      { xHz: 2, yHz: 10, energyJ: 4, feasible: false, count: 1 },
    ]);
  });
  it('skips points that lack a knob', () => {
    expect(heatCells([{ config: { batch: 1, emcHz: 1 }, energyJ: 1, latencyMs: 1 }], 'gpuMaxHz', 'emcHz', 10)).toEqual([]);
  });
  it('picks batch 1 when there is data at 1, else the smallest; busiest batch prefers the recommendation on ties', () => {
    expect(heatmapBatch([p(1, 1, 1, 1, 1, 4), p(1, 1, 1, 1, 1, 1)])).toBe(1);
    expect(heatmapBatch([p(1, 1, 1, 1, 1, 8), p(1, 1, 1, 1, 1, 2)])).toBe(2);
    expect(busiestBatch([p(1, 1, 1, 1, 1, 2), p(1, 1, 1, 1, 1, 4), p(1, 1, 1, 1, 1, 4)], 2)).toBe(4);
    expect(busiestBatch([p(1, 1, 1, 1, 1, 2), p(1, 1, 1, 1, 1, 4)], 4)).toBe(4);
  });
  it('bestPoint prefers a feasible point over a cheaper infeasible one', () => {
    expect(bestPoint([p(1, 1, 1, 1, 99), p(1, 1, 1, 2, 10)], 50)?.energyJ).toBe(2);
    expect(bestPoint([p(1, 1, 1, 1, 99), p(1, 1, 1, 2, 98)], 50)?.energyJ).toBe(1);
  });
});

describe('knob importance', () => {
  it('ranks knobs by lengthscale and says which matter in plain words', () => {
    const ranked = rankKnobs({ batch: 1.0, emcHz: 0.2, cpuHz: 5, gpuMinHz: 0.4, bogus: Number.NaN });
    expect(ranked.map((k) => k.knob)).toEqual(['emcHz', 'gpuMinHz', 'batch', 'cpuHz']);
    expect(ranked.map((k) => k.influence)).toEqual(['strong', 'strong', 'moderate', 'weak']);
    const text = describeKnobs(ranked, 'resnet50').join(' ');
    expect(text).toMatch(/^Memory \(EMC\) frequency matters most for resnet50/);
    expect(text).toContain('GPU minimum frequency (lengthscale 0.40) also matters strongly');
    expect(text).toContain('Batch size (lengthscale 1.0) has a moderate');
    expect(text).toContain('CPU frequency (lengthscale 5.0) hardly changes energy');
  });
  it('says so when even the top knob barely matters', () => {
    expect(describeKnobs(rankKnobs({ cpuHz: 3, batch: 4 }), 'm')[0]).toContain('only a little');
  });
});

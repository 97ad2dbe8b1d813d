import { describe, expect, it } from 'vitest';
import type { TrialRecord } from '../../src/core/tuning-run.ts';
import { bestFeasibleSoFar, curvesFromBenchmark, medianCurve, randomSearchQuantiles, referenceOptimum } from '../../src/report/convergence.ts';
import type { LandscapeRow } from '../../src/report/landscape.ts';
import { bestPoint, busiestBatch, type EnergyPoint, heatCells, heatmapBatch } from '../../src/report/heatmap-data.ts';
import { combineEffects, describeKnobs, gridKnobEffects, influenceOf, measuredKnobEffects } from '../../src/report/knob-importance.ts';

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

describe('referenceOptimum', () => {
  const row = (cpuHz: number, batch: number, energy: number, tail: number) =>
    ({ cpuHz, gpuMinHz: 1, gpuMaxHz: 1, emcHz: 1, batch, energyPerQueryJ: energy, latencyTailMs: tail }) as unknown as LandscapeRow;
  const at = (source: string, cpuHz: number, batch = 1) =>
    ({
      index: 0,
      source,
      config: { cpuHz, gpuMinHz: 1, gpuMaxHz: 1, emcHz: 1, batch },
      feasible: true,
      measurement: { valid: true },
    }) as unknown as TrialRecord;
  const rows = [row(2e9, 1, 3, 10), row(2e9, 4, 2, 20), row(2e9, 8, 1, 99)];
  it('is the cheapest row within the SLO, and lists the knob values the run searched that the grid lacks', () => {
    const ref = referenceOptimum(rows, [at('bo', 2e9, 4), at('cpu-phase', 1e9, 8), at('cpu-phase', 5e8, 8)], 50)!;
    expect(ref.energyJ).toBe(2);
    expect(ref.feasible).toBe(2);
    expect(ref.missing).toEqual([{ knob: 'cpuHz', values: [5e8, 1e9], gridValues: [2e9] }]);
  });
  it('ignores the baselines’ clocks (measured for comparison, not searched) and is null when nothing meets the SLO', () => {
    expect(referenceOptimum(rows, [at('bo', 2e9, 4), at('baseline', 1e9, 4)], 50)!.missing).toEqual([]);
    expect(referenceOptimum(rows, [], 5)).toBeNull();
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
  const GPU = [100e6, 200e6, 300e6, 400e6];
  const EMC = [1e9, 2e9];
  /** A grid whose energy moves 2.5× across batch, 30 % across EMC and not at all along the GPU minimum. */
  function grid(energy: (c: { gpuMinHz: number; gpuMaxHz: number; emcHz: number; batch: number }) => number): EnergyPoint[] {
    const out: EnergyPoint[] = [];
    for (const batch of [1, 2, 4, 8])
      for (const emcHz of EMC)
        for (const gpuMaxHz of GPU)
          for (const gpuMinHz of GPU.filter((g) => g <= gpuMaxHz)) {
            const config = { cpuHz: 1e9, gpuMinHz, gpuMaxHz, emcHz, batch };
            out.push({ config, energyJ: energy(config), latencyMs: 10 * batch });
          }
    return out;
  }
  const held = { cpuHz: 1e9, gpuMinHz: 100e6, gpuMaxHz: 300e6, emcHz: 2e9, batch: 4 };
  const batchEnergy: Record<number, number> = { 1: 0.05, 2: 0.035, 4: 0.025, 8: 0.02 };
  const energy = (c: { gpuMaxHz: number; emcHz: number; batch: number }) =>
    batchEnergy[c.batch]! * (c.emcHz === 1e9 ? 1.3 : 1) * (1 + (c.gpuMaxHz - 300e6) ** 2 / 4e17);

  it('judges each knob by the energy range across it with the others held, not by a lengthscale', () => {
    const fx = combineEffects(gridKnobEffects(grid(energy), held, 'landscape'));
    expect(fx.effects.map((e) => e.knob)).toEqual(['batch', 'emcHz', 'gpuMaxHz', 'gpuMinHz']);
    const batch = fx.effects[0]!;
    expect(batch.ratio).toBeCloseTo(2.5, 12);
    expect(batch.low).toEqual({ value: 8, energyJ: 0.02, latencyMs: 80 });
    expect(batch.high).toEqual({ value: 1, energyJ: 0.05, latencyMs: 10 });
    expect(fx.effects.find((e) => e.knob === 'gpuMinHz')!.ratio).toBe(1);
    expect(fx.effects.map((e) => e.influence)).toEqual(['strong', 'moderate', 'weak', 'none']);
    expect(fx.unknown).toEqual([{ knob: 'cpuHz', label: 'CPU frequency', why: 'it is held at 1000 MHz' }]);
  });

  it('words each knob from its numbers: a knob that moves energy 2.5× is never one that “hardly changes” it, a flat one is', () => {
    const text = describeKnobs(combineEffects(gridKnobEffects(grid(energy), held, 'landscape')), 'resnet50', 50);
    expect(text[0]).toBe(
      'Batch size matters most for resnet50: energy per query changes 2.5× across it, from 20.0 mJ at batch 8 (misses the SLO) to 50.0 mJ at batch 1; ' +
        'among the 3 values that meet the SLO, 2.0× (25.0 mJ at batch 4 to 50.0 mJ at batch 1).',
    );
    expect(text.find((t) => t.startsWith('Batch size'))).not.toMatch(/hardly|little/);
    expect(text).toContain('Memory (EMC) frequency changes it by 30 %: from 25.0 mJ at 2000 MHz to 32.5 mJ at 1000 MHz.');
    expect(text).toContain('GPU maximum frequency changes it a little, by 10 %: from 25.0 mJ at 300 MHz to 27.5 mJ at 100 MHz.');
    expect(text).toContain('GPU minimum frequency hardly changes it: under 0.1 %, 25.0 mJ over all 3 values.');
    expect(text).toContain('Nothing here shows the effect of CPU frequency (it is held at 1000 MHz).');
  });

  it('says so when no knob moves energy much', () => {
    const flat = (c: { batch: number }) => 0.02 * (1 + c.batch / 1000);
    const text = describeKnobs(combineEffects(gridKnobEffects(grid(flat), held, 'landscape')), 'm');
    expect(text[0]).toMatch(/^No knob moves energy per query much for m: even batch size changes it only by 0\.7 %/);
    expect(text.join(' ')).not.toMatch(/matters most/);
  });

  it('reads measurements alone from trials that differ in one knob only, and says which knobs it cannot judge', () => {
    const t = (index: number, config: Record<string, number>, energy: number): TrialRecord =>
      ({ index, source: 'bo', config, feasible: true, measurement: { valid: true, energyPerQueryJ: energy, latencyTailMs: 10 } }) as unknown as TrialRecord;
    const trials = [
      t(0, { emcHz: 1e9, batch: 1 }, 0.06),
      t(1, { emcHz: 1e9, batch: 4 }, 0.02),
      t(2, { emcHz: 1e9, batch: 4 }, 0.022), // a repeat: averaged
      t(3, { emcHz: 2e9, batch: 2 }, 0.03),
    ];
    const fx = combineEffects(measuredKnobEffects(trials, { emcHz: 1e9, batch: 4 }));
    expect(fx.effects).toHaveLength(1);
    expect(fx.effects[0]).toMatchObject({ knob: 'batch', source: 'measured', values: 2, low: { value: 4 }, high: { value: 1, energyJ: 0.06 } });
    expect(fx.effects[0]!.low.energyJ).toBeCloseTo(0.021, 12);
    expect(fx.unknown).toEqual([{ knob: 'emcHz', label: 'memory (EMC) frequency', why: 'the run measured no two configurations that differ only in it' }]);
  });

  it('classifies by the ratio of highest to lowest energy', () => {
    expect([1, 1.049, 1.05, 1.19, 1.2, 1.59, 1.6, 3].map(influenceOf)).toEqual(['none', 'none', 'weak', 'weak', 'moderate', 'moderate', 'strong', 'strong']);
  });
});

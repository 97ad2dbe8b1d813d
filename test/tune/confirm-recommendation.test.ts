import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import type { TrialRecord } from '../../src/core/tuning-run.ts';
import { confirmRecommendation } from '../../src/tune/index.ts';

const slo = { latencyMs: 10, quantile: 0.99 };
const margin = 0.02; // limit 9.8 ms

const m = (tail: number, energy: number): TrialMeasurement => ({
  config: { gpuMaxHz: 1, batch: 1 },
  valid: true,
  energyPerQueryJ: energy,
  latencyP50Ms: tail / 2,
  latencyTailMs: tail,
  tailQuantile: 0.99,
  serviceMs: tail / 2,
  throughputQps: 10,
  powerW: energy * 10,
  railsW: {},
  queries: 300,
  windowS: 30,
  noise: { energyCv: 0.01, latencyTailCv: 0.02 },
});
const cfg = (gpuMaxHz: number): Config => ({ gpuMaxHz, batch: 1 });
const rec = (index: number, config: Config, meas: TrialMeasurement, source: TrialRecord['source'] = 'bo'): TrialRecord => ({
  index,
  source,
  config,
  measurement: meas,
  feasible: meas.latencyTailMs <= slo.latencyMs,
});

/** A re-measurement that reads each configuration's tail from `tails` (energy 1 J). */
function remeasurer(tails: Record<number, number>) {
  const asked: number[] = [];
  let n = 100;
  return {
    asked,
    remeasure: async (c: Config) => {
      asked.push(c.gpuMaxHz!);
      return rec(n++, c, m(tails[c.gpuMaxHz!]!, 1), 'confirm');
    },
  };
}

// three candidates in the margin, cheapest first: 1 (0.8 J), 2 (0.9 J), 3 (1.0 J); 4 breaks the margin
const trials = [rec(0, cfg(3), m(8, 1.0)), rec(1, cfg(1), m(9.6, 0.8)), rec(2, cfg(2), m(9.0, 0.9)), rec(3, cfg(4), m(11, 0.5))];

describe('confirmRecommendation', () => {
  it('re-measures the cheapest candidate and recommends it, pooled, when it holds the margin', async () => {
    const r = remeasurer({ 1: 9.7 });
    const out = await confirmRecommendation({ trials, slo, margin, remeasure: r.remeasure });
    expect(r.asked).toEqual([1]);
    expect(out.recommendation?.config).toEqual(cfg(1));
    expect(out.recommendation?.measurement.latencyTailMs).toBeCloseTo(9.65, 10);
    expect(out.confirmations).toHaveLength(1);
  });

  it('hands a refuted candidate over to the next in rank order, not the one with most headroom', async () => {
    const r = remeasurer({ 1: 10.4, 2: 9.2 });
    const out = await confirmRecommendation({ trials, slo, margin, remeasure: r.remeasure });
    expect(r.asked).toEqual([1, 2]);
    expect(out.refuted).toEqual([cfg(1)]);
    expect(out.recommendation?.config).toEqual(cfg(2));
  });

  it('follows the given ranking (the surrogate), not the measured energy', async () => {
    const r = remeasurer({ 3: 8 });
    const out = await confirmRecommendation({ trials, slo, margin, remeasure: r.remeasure, rank: (c) => [...c].reverse() });
    expect(r.asked).toEqual([3]);
    expect(out.recommendation?.config).toEqual(cfg(3));
  });

  it('when the confirmations run out, picks the cheapest candidate no re-measurement refuted', async () => {
    const r = remeasurer({ 1: 11 });
    const out = await confirmRecommendation({ trials, slo, margin, remeasure: r.remeasure, maxConfirmations: 1 });
    expect(out.refuted).toEqual([cfg(1)]);
    expect(out.recommendation?.config).toEqual(cfg(2));
  });

  it('when every candidate is refuted, picks the one with the most pooled latency headroom', async () => {
    const r = remeasurer({ 1: 11, 2: 12, 3: 12.5 });
    const out = await confirmRecommendation({ trials, slo, margin, remeasure: r.remeasure });
    expect(r.asked).toEqual([1, 2, 3]);
    // pooled tails: 1 → 10.3, 2 → 10.5, 3 → 10.25
    expect(out.recommendation?.config).toEqual(cfg(3));
  });

  it('gives no recommendation and measures nothing when no configuration held the margin', async () => {
    const r = remeasurer({});
    const out = await confirmRecommendation({ trials: [rec(0, cfg(4), m(11, 0.5))], slo, margin, remeasure: r.remeasure });
    expect(out.recommendation).toBeNull();
    expect(r.asked).toEqual([]);
  });
});

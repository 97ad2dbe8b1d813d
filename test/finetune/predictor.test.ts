import { describe, expect, it } from 'vitest';
import type { InterferenceFeatures } from '../../src/finetune/prediction/features.ts';
import { fitOls, olsPredict } from '../../src/finetune/prediction/least-squares.ts';
import { InterferencePredictor } from '../../src/finetune/prediction/predictor.ts';
import { normalQuantile, studentTQuantile } from '../../src/numerics/quantile-functions.ts';
import { createRandom } from '../../src/numerics/random.ts';
import { cfg, PROFILING, profileOf, rooflineCosts } from './fixtures.ts';
import { profileCoRuns } from '../../src/finetune/simulation/sim-environment.ts';

describe('quantiles', () => {
  it('match tabulated Student-t and normal values', () => {
    expect(studentTQuantile(0.975, 7)).toBeCloseTo(2.3646, 3);
    expect(studentTQuantile(0.95, 3)).toBeCloseTo(2.3534, 3);
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 2);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.2281, 3);
    expect(normalQuantile(0.975)).toBeCloseTo(1.95996, 4);
  });
});

describe('least squares', () => {
  it('recovers coefficients of ill-scaled features', () => {
    const rng = createRandom(1, 'mulberry32');
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 12; i++) {
      const f = 1e10 * (1 + 9 * rng.next());
      const ai = 5 + 50 * rng.next();
      x.push([1, f, ai]);
      y.push(3 + 2e-9 * f + 0.4 * ai);
    }
    const fit = fitOls(x, y);
    expect(fit.beta[0]).toBeCloseTo(3, 4);
    expect(fit.beta[1]! / 2e-9).toBeCloseTo(1, 5);
    expect(fit.beta[2]).toBeCloseTo(0.4, 5);
    expect(olsPredict(fit, [1, 5e10, 10]).mean).toBeCloseTo(3 + 100 + 4, 3);
  });
  it('refuses too few observations', () => {
    expect(() =>
      fitOls(
        [
          [1, 2],
          [1, 3],
        ],
        [1, 2],
      ),
    ).toThrow(/at least 3/);
  });
});

const feat = (fi: number, ai: number, ff: number, af: number): InterferenceFeatures => ({
  inference: { flops: fi, bytes: fi / ai, intensity: ai },
  finetune: { flops: ff, bytes: ff / af, intensity: af },
});

describe('InterferencePredictor', () => {
  it('is accurate on the profiled device within its own feature span', () => {
    const costs = rooflineCosts();
    const c = cfg(1e9, 2e9, 4);
    const p = new InterferencePredictor({ featureSet: 'roofline' });
    p.fit('c', profileCoRuns(costs, profileOf, c, PROFILING, { noise: 0.02, seed: 3 }));
    const q = profileCoRuns(costs, profileOf, c, [{ inferenceModel: 'medium', finetuneModel: 'deep', microBatch: 2 }], { noise: 0, seed: 1 })[0]!;
    const pred = p.predictAt('c', q.features);
    expect(Math.abs(pred.meanMs - q.latencyMs) / q.latencyMs).toBeLessThan(0.15);
    expect(pred.lowerMs).toBeLessThan(pred.meanMs);
    expect(pred.upperMs).toBeGreaterThan(pred.meanMs);
  });

  it('has an interval that covers new observations at about its level', () => {
    const rng = createRandom(7, 'mulberry32');
    const gen = () => {
      const f = feat(1e9 * (1 + 20 * rng.next()), 10 + 40 * rng.next(), 1e10 * (1 + 5 * rng.next()), 5 + 20 * rng.next());
      const y = 2 + 1e-8 * f.inference.flops + 0.1 * f.inference.intensity + 3e-9 * f.finetune.flops + 0.3 * f.finetune.intensity + 2 * rng.normal();
      return { features: f, latencyMs: y };
    };
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const p = new InterferencePredictor({ level: 0.9 });
      p.fit('c', Array.from({ length: 10 }, gen));
      const o = gen();
      const pr = p.predictAt('c', o.features);
      if (o.latencyMs >= pr.lowerMs && o.latencyMs <= pr.upperMs) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.85);
    expect(covered / trials).toBeLessThan(0.95);
  });

  it('corrects a biased context online and narrows its interval as evidence accrues', () => {
    const rng = createRandom(11, 'mulberry32');
    const runs = Array.from({ length: 8 }, () => {
      const f = feat(1e9 * (1 + 20 * rng.next()), 10 + 40 * rng.next(), 1e10 * (1 + 5 * rng.next()), 5 + 20 * rng.next());
      return { features: f, latencyMs: 10 + 1e-8 * f.inference.flops + 3e-9 * f.finetune.flops + 4 * rng.normal() };
    });
    const p = new InterferencePredictor();
    p.fit('c', runs);
    const f = feat(1e10, 20, 3e10, 10);
    const before = p.predictAt('c', f, 'job');
    const truth = before.offlineMs + 25; // this job is 25 ms slower than the model thinks
    const widths: number[] = [before.upperMs - before.lowerMs];
    for (let i = 0; i < 60; i++) {
      p.observeAt('c', f, 'job', truth + 1.5 * rng.normal());
      if (i === 4 || i === 59) {
        const pr = p.predictAt('c', f, 'job');
        widths.push(pr.upperMs - pr.lowerMs);
      }
    }
    const after = p.predictAt('c', f, 'job');
    expect(after.observations).toBe(60);
    expect(Math.abs(after.meanMs - truth)).toBeLessThan(2);
    expect(widths[1]!).toBeLessThan(widths[0]!);
    expect(widths[2]!).toBeLessThan(widths[1]!);
    expect(after.upperMs).toBeGreaterThan(truth);
    // Other contexts are not affected, and forgetting resets.
    expect(p.predictAt('c', f, 'other').correctionMs).toBe(0);
    p.forget('job');
    expect(p.predictAt('c', f, 'job').observations).toBe(0);
  });

  it('needs a fitted configuration and enough runs', () => {
    const p = new InterferencePredictor();
    expect(() => p.predictAt('nope', feat(1, 1, 1, 1))).toThrow(/no interference model/);
    expect(() => p.fit('c', [])).toThrow(/at least 6 profiled runs/);
  });
});

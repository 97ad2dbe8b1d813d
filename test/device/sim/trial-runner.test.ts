import { describe, expect, it } from 'vitest';
import { createSimTrialRunner, evaluateConfig, loadBoard } from '../../../src/device/sim/index.ts';
import { denseCnn, depthwiseCnn } from './synthetic-profiles.ts';

const profile = depthwiseCnn();
const g = loadBoard('orin-agx').gpu.freqsHz;
const config = { gpuMinHz: g[6]!, gpuMaxHz: g[10]!, emcHz: 2133000000, batch: 4 };

describe('createSimTrialRunner', () => {
  it('with noise 0 returns the exact evaluation', async () => {
    const r = createSimTrialRunner({ board: 'orin-agx', profile, noise: 0 });
    const m = await r.measure(config, { rateRps: 200 });
    const e = evaluateConfig('orin-agx', profile, config, { rateRps: 200, windowS: 10 });
    expect(m.energyPerQueryJ).toBeCloseTo(e.energyPerQueryJ, 12);
    expect(m.latencyTailMs).toBeCloseTo(e.latencyTailMs, 12);
    expect(m.latencyP50Ms).toBeCloseTo(e.latencyP50Ms, 12);
    expect(m.powerW).toBeCloseTo(e.powerW, 12);
    expect(m.throughputQps).toBeCloseTo(200, 9);
    expect(m.noise).toEqual({ energyCv: 0, latencyTailCv: 0 });
    expect(m.valid).toBe(true);
    expect(m.queries).toBe(6000);
  });

  it('is deterministic per seed and differs between seeds', async () => {
    const run = async (seed: number) => {
      const r = createSimTrialRunner({ board: 'orin-agx', profile, seed });
      return [await r.measure(config), await r.measure(config)].map((m) => m.energyPerQueryJ);
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
    expect(a[0]).not.toBe(a[1]); // a repeated measurement is a new draw
  });

  it('does not depend on the order other configurations are measured in', async () => {
    const r1 = createSimTrialRunner({ board: 'orin-agx', profile, seed: 5 });
    const r2 = createSimTrialRunner({ board: 'orin-agx', profile, seed: 5 });
    await r2.measure({ ...config, batch: 8 });
    expect((await r2.measure(config)).energyPerQueryJ).toBe((await r1.measure(config)).energyPerQueryJ);
  });

  it('has noise of a few percent around the exact value, with rare tail outliers', async () => {
    const r = createSimTrialRunner({ board: 'orin-agx', profile, seed: 1, noise: 0.03 });
    const exact = evaluateConfig('orin-agx', profile, config);
    const rel: number[] = [];
    let outliers = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const m = await r.measure(config, { repeats: 1 });
      rel.push(m.energyPerQueryJ / exact.energyPerQueryJ - 1);
      if (m.latencyTailMs > exact.latencyTailMs * 1.4) outliers++;
    }
    const mean = rel.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(rel.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(sd).toBeGreaterThan(0.015);
    expect(sd).toBeLessThan(0.06);
    expect(outliers).toBeGreaterThan(0);
    expect(outliers / n).toBeLessThan(0.06);
  });

  it('reads the tail latency without bias: half the windows above the exact value, half below', async () => {
    // under a load (queueing: the exact p99 lies well above the p50, so no window's p99 is clamped to its p50)
    const r = createSimTrialRunner({ board: 'orin-agx', profile, seed: 3, noise: 0.03 });
    const exact = evaluateConfig('orin-agx', profile, config, { rateRps: 200, windowS: 10 });
    expect(exact.latencyTailMs).toBeGreaterThan(exact.latencyP50Ms * 1.2);
    const ratios: number[] = [];
    for (let i = 0; i < 400; i++) ratios.push((await r.measure(config, { repeats: 1, rateRps: 200 })).latencyTailMs / exact.latencyTailMs);
    ratios.sort((a, b) => a - b);
    const median = ratios[200]!;
    expect(Math.abs(median - 1)).toBeLessThan(0.01);
    // windows without a stall (the top few % are stalls) average to the exact value
    const calm = ratios.slice(0, 380);
    expect(Math.abs(calm.reduce((s, v) => s + v, 0) / calm.length - 1)).toBeLessThan(0.01);
    expect(ratios.filter((v) => v < 1).length).toBeGreaterThan(150);
  });

  it('reads the tail latency without bias at saturation too, where the exact p99 is the p50', async () => {
    const r = createSimTrialRunner({ board: 'orin-agx', profile, seed: 4, noise: 0.03 });
    const exact = evaluateConfig('orin-agx', profile, config);
    expect(exact.latencyTailMs).toBeCloseTo(exact.latencyP50Ms, 9);
    const ratios: number[] = [];
    for (let i = 0; i < 400; i++) {
      const m = await r.measure(config, { repeats: 1 });
      expect(m.latencyTailMs).toBeGreaterThanOrEqual(m.latencyP50Ms);
      ratios.push(m.latencyTailMs / exact.latencyTailMs);
    }
    ratios.sort((a, b) => a - b);
    expect(Math.abs(ratios[200]! - 1)).toBeLessThan(0.006);
  });

  it('estimates noise from repeated windows', async () => {
    const r = createSimTrialRunner({ board: 'tx2', profile: denseCnn(), seed: 2, noise: 0.05 });
    const m = await r.measure({ batch: 2 }, { repeats: 5 });
    expect(m.noise.energyCv).toBeGreaterThan(0.005);
    expect(m.noise.energyCv).toBeLessThan(0.2);
    expect(m.windowS).toBe(50);
  });

  it('keeps virtual time and rejects invalid configurations and options', async () => {
    const r = createSimTrialRunner({ board: 'orin-agx', profile, noise: 0 });
    expect(r.virtualTimeS).toBe(0);
    await r.measure(config, { repeats: 2, windowS: 5 });
    expect(r.virtualTimeS).toBeGreaterThan(10);
    await expect(r.measure({ ...config, emcHz: 123 })).rejects.toThrow(/not in the device's table/);
    await expect(r.measure(config, { repeats: 0 })).rejects.toThrow(/repeats/);
    expect(() => createSimTrialRunner({ board: 'orin-agx', profile, noise: 2 })).toThrow(/noise/);
    expect((await r.describe()).id).toBe('sim:orin-agx');
    await r.close();
    await expect(r.measure(config)).rejects.toThrow(/closed/);
  });

  it('heats the board under sustained load with the thermal model', async () => {
    const r = createSimTrialRunner({ board: 'tx2', profile: denseCnn(), noise: 0, thermal: true });
    const t0 = r.temperatureC;
    const first = await r.measure({ batch: 16 });
    for (let i = 0; i < 20; i++) await r.measure({ batch: 16 });
    expect(r.temperatureC).toBeGreaterThan(t0 + 10);
    const later = await r.measure({ batch: 16 });
    expect(later.powerW).toBeGreaterThan(first.powerW); // hotter silicon leaks more
  });

  it('is fast enough for a tuner benchmark (cached exact evaluation)', async () => {
    const r = createSimTrialRunner({ board: 'orin-agx', profile: denseCnn(), seed: 3 });
    await r.measure(config);
    let t = performance.now();
    for (let i = 0; i < 2000; i++) await r.measure(config, { repeats: 1 });
    const cachedUs = ((performance.now() - t) / 2000) * 1000;
    // The baseline, measured in this run on the same (possibly loaded) host: a call that simulates
    // afresh (a new profile object has nothing cached yet).
    t = performance.now();
    for (let i = 0; i < 20; i++) await createSimTrialRunner({ board: 'orin-agx', profile: denseCnn(), seed: 3 }).measure(config, { repeats: 1 });
    const freshUs = ((performance.now() - t) / 20) * 1000;
    // about 100× apart; a regression to re-simulating each call would make them about equal
    expect(cachedUs).toBeLessThan(freshUs / 10);
  });
});

import { describe, expect, it } from 'vitest';
import type { PowerSource } from '../../src/core/device.ts';
import { integrateWindow, PowerSampler } from '../../src/serve/energy-meter.ts';

describe('integrateWindow', () => {
  const samples = [
    { t: 0, w: 10 },
    { t: 100, w: 20 },
    { t: 200, w: 20 },
  ];
  it('integrates piecewise-linear power with partial intervals at the edges', () => {
    expect(integrateWindow(samples, 0, 200)).toBeCloseTo(1.5 + 2, 9); // 15 W·0.1 s + 20 W·0.1 s
    expect(integrateWindow(samples, 50, 150)).toBeCloseTo(((15 + 20) / 2) * 0.05 + 20 * 0.05, 9);
  });
  it('is undefined when the samples do not cover the window or a read failed inside it', () => {
    expect(integrateWindow(samples, 0, 250)).toBeUndefined();
    expect(integrateWindow([...samples.slice(0, 2), { t: 150, w: Number.NaN }, samples[2]!], 120, 180)).toBeUndefined();
    expect(integrateWindow([...samples.slice(0, 2), { t: 150, w: Number.NaN }, samples[2]!], 0, 90)).toBeCloseTo(((10 + 19) / 2) * 0.09, 9);
  });
});

describe('PowerSampler', () => {
  it('sums several rails and differences a wrapping energy counter', async () => {
    let t = 0;
    let counter = 90;
    const rail: PowerSource = { name: 'rail', role: 'rail', kind: 'power', read: async () => 4 };
    const meter: PowerSource = { name: 'rapl', role: 'rail', kind: 'energy-counter', wrapJ: 100, read: async () => counter };
    const s = new PowerSampler([rail, meter], { now: () => t, intervalMs: 60_000 });
    await s.start(); // the counter's first read has no predecessor: that sample is unknown, not zero
    expect(s.powerW()).toBeUndefined();
    t = 1000;
    counter = 5; // wrapped at 100: 15 J in 1 s
    await s.sample();
    expect(s.powerW()).toBeCloseTo(19, 9);
    t = 2000;
    counter = 20;
    await s.sample();
    expect(await s.energyBetween(1000, 2000)).toBeCloseTo(19, 9);
    expect(await s.energyBetween(0, 2000)).toBeUndefined(); // the unknown first sample is inside
    expect(s.totalJ()).toBeCloseTo(19, 9);
    await s.close();
  });

  it('reports a failed read as unknown energy, never zero', async () => {
    let fail = false;
    let t = 0;
    const src: PowerSource = {
      name: 'VDD_IN',
      role: 'total',
      kind: 'power',
      read: async () => {
        if (fail) throw new Error('i2c timeout');
        return 10;
      },
    };
    const s = new PowerSampler(src, { now: () => t, intervalMs: 5 });
    await s.start();
    t = 10;
    await new Promise((r) => setTimeout(r, 30)); // a few ticks at 10 W, all at t = 10
    fail = true;
    t = 20;
    await new Promise((r) => setTimeout(r, 30));
    fail = false;
    t = 30;
    await new Promise((r) => setTimeout(r, 30));
    expect(await s.energyBetween(0, 10)).toBeCloseTo(0.1, 9);
    expect(await s.energyBetween(12, 28)).toBeUndefined();
    expect(s.powerW()).toBe(10);
    await s.close();
  });
});

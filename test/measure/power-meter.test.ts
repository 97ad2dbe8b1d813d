import { describe, expect, it } from 'vitest';
import type { PowerSource } from '../../src/core/device.ts';
import { PowerMeter } from '../../src/measure/power-meter.ts';

/** A 'power' source whose watts follow a function of the fake clock. */
function powerSource(name: string, role: 'total' | 'rail', w: (tMs: number) => number, clock: { t: number }, fail?: (tMs: number) => boolean): PowerSource {
  return {
    name,
    role,
    kind: 'power',
    async read() {
      if (fail?.(clock.t)) throw new Error('EIO');
      return w(clock.t);
    },
  };
}

describe('PowerMeter', () => {
  it('integrates power with the trapezoid rule: a linear ramp is exact', async () => {
    const clock = { t: 0 };
    // 10 W rising by 1 W per second.
    const src = powerSource('VDD_IN', 'total', (t) => 10 + t / 1000, clock);
    const m = new PowerMeter([src], { now: () => clock.t });
    const h = await m.begin('ramp');
    for (clock.t = 50; clock.t < 2000; clock.t += 50) await m.sample();
    clock.t = 2000;
    const w = await m.end(h);
    // ∫0..2 (10 + s) ds = 22 J
    expect(w.valid).toBe(true);
    expect(w.energyJ).toBeCloseTo(22, 9);
    expect(w.durationS).toBeCloseTo(2, 9);
    expect(w.meanPowerW).toBeCloseTo(11, 9);
    expect(w.samples).toBe(41);
  });

  it('counts only total sources toward energyJ, and reports every rail', async () => {
    const clock = { t: 0 };
    const m = new PowerMeter(
      [powerSource('VDD_IN', 'total', () => 8, clock), powerSource('VDD_GPU', 'rail', () => 3, clock), powerSource('VDD_CPU', 'rail', () => 1, clock)],
      { now: () => clock.t },
    );
    const h = await m.begin();
    clock.t = 500;
    const w = await m.end(h);
    expect(w.energyJ).toBeCloseTo(4, 9);
    expect(w.railsJ).toEqual({ VDD_IN: 4, VDD_GPU: 1.5, VDD_CPU: 0.5 });
    expect(w.railsW.VDD_GPU).toBeCloseTo(3, 9);
  });

  it('nested and overlapping windows each get their own energy', async () => {
    const clock = { t: 0 };
    const m = new PowerMeter([powerSource('P', 'total', (t) => (t < 1000 ? 5 : 15), clock)], { now: () => clock.t });
    const outer = await m.begin('outer');
    clock.t = 500;
    const a = await m.begin('a');
    clock.t = 999;
    await m.sample();
    clock.t = 1000;
    const b = await m.begin('b');
    clock.t = 1500;
    const wa = await m.end(a);
    clock.t = 2000;
    const wb = await m.end(b);
    const wo = await m.end(outer);
    expect(wa.energyJ).toBeCloseTo(0.499 * 5 + 0.001 * 10 + 0.5 * 15, 9);
    expect(wb.energyJ).toBeCloseTo(15, 9);
    expect(wo.energyJ).toBeCloseTo(0.999 * 5 + 0.001 * 10 + 15, 9);
  });

  it('a failed read invalidates the window with the reason; it never counts as zero', async () => {
    const clock = { t: 0 };
    const m = new PowerMeter([powerSource('VDD_IN', 'total', () => 10, clock, (t) => t === 300)], { now: () => clock.t });
    const h = await m.begin();
    for (clock.t = 100; clock.t <= 500; clock.t += 100) await m.sample();
    const w = await m.end(h);
    expect(w.valid).toBe(false);
    expect(w.reason).toMatch(/failed read at \+0\.300 s: VDD_IN: EIO/);
    expect(Number.isNaN(w.energyJ)).toBe(true);
    // A window that does not include the failure is fine.
    clock.t = 500;
    const h2 = await m.begin();
    clock.t = 700;
    expect((await m.end(h2)).energyJ).toBeCloseTo(2, 9);
  });

  it('handles energy-counter wrap-around, and refuses a backwards counter without a wrap range', async () => {
    const clock = { t: 0 };
    const seq = [262.0, 262.1, 0.05, 0.2];
    let i = 0;
    const counter: PowerSource = { name: 'package-0', role: 'total', kind: 'energy-counter', wrapJ: 262.143, read: async () => seq[i++]! };
    const m = new PowerMeter([counter], { now: () => clock.t });
    const h = await m.begin();
    for (clock.t = 100; clock.t <= 200; clock.t += 100) await m.sample();
    clock.t = 300;
    const w = await m.end(h);
    expect(w.energyJ).toBeCloseTo(0.1 + (0.05 + 262.143 - 262.1) + 0.15, 9);
    i = 0;
    const noWrap: PowerSource = { ...counter, wrapJ: undefined, read: async () => seq[i++]! } as PowerSource;
    const m2 = new PowerMeter([noWrap], { now: () => clock.t });
    const h2 = await m2.begin();
    clock.t += 100;
    await m2.sample();
    clock.t += 100;
    await m2.sample();
    clock.t += 100;
    const w2 = await m2.end(h2);
    expect(w2.valid).toBe(false);
    expect(w2.reason).toMatch(/went backwards/);
  });

  it('a window with one sample instant is invalid, not zero energy', async () => {
    const clock = { t: 0 };
    const m = new PowerMeter([powerSource('P', 'total', () => 4, clock)], { now: () => clock.t });
    const w = await m.end(await m.begin());
    expect(w.valid).toBe(false);
    expect(w.reason).toMatch(/too short/);
  });

  it('samples periodically once started and keeps memory bounded', async () => {
    let reads = 0;
    const src: PowerSource = { name: 'P', role: 'total', kind: 'power', read: async () => {
        reads++;
        return 7;
      },
    };
    const m = new PowerMeter([src], { periodMs: 5 });
    m.start();
    const h = await m.begin();
    await new Promise((r) => setTimeout(r, 120));
    const w = await m.end(h);
    await m.stop();
    expect(w.valid).toBe(true);
    expect(w.samples).toBeGreaterThan(4);
    expect(w.meanPowerW).toBeCloseTo(7, 9);
    const after = reads;
    await new Promise((r) => setTimeout(r, 30));
    expect(reads).toBe(after);
    expect((m as unknown as { ticks: unknown[] }).ticks.length).toBe(1);
  });
});

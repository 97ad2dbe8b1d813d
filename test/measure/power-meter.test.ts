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
    const m = new PowerMeter(
      [
        powerSource(
          'VDD_IN',
          'total',
          () => 10,
          clock,
          (t) => t === 300,
        ),
      ],
      { now: () => clock.t },
    );
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
    const src: PowerSource = {
      name: 'P',
      role: 'total',
      kind: 'power',
      read: async () => {
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

describe('PowerMeter: energy between two instants (one served batch)', () => {
  /** 10 W at t=0, 20 W at t=100 and t=200 (ms); `fail` makes the read at that instant fail. */
  async function stepMeter(fail?: number) {
    const clock = { t: 0 };
    const w = (t: number) => (t === 0 ? 10 : 20);
    const m = new PowerMeter([powerSource('VDD_IN', 'total', w, clock, (t) => t === fail)], { now: () => clock.t, keepMs: 10_000 });
    for (const t of fail === undefined ? [0, 100, 200] : [0, 100, fail, 200]) {
      clock.t = t;
      await m.sample();
    }
    return m;
  }

  it('integrates piecewise-linear power, with partial intervals at the edges', async () => {
    const m = await stepMeter();
    expect(await m.energyBetween(0, 200)).toBeCloseTo(1.5 + 2, 9); // 15 W·0.1 s + 20 W·0.1 s
    expect(await m.energyBetween(50, 150)).toBeCloseTo(((15 + 20) / 2) * 0.05 + 20 * 0.05, 9);
    expect(await m.energyBetween(70, 70)).toBe(0);
  });

  it('is undefined when the samples do not cover the span or a read failed inside it', async () => {
    expect(await (await stepMeter()).energyBetween(0, 250)).toBeUndefined();
    const m = await stepMeter(150);
    expect(await m.energyBetween(120, 180)).toBeUndefined();
    expect(await m.energyBetween(0, 90)).toBeCloseTo(((10 + 19) / 2) * 0.09, 9);
  });

  it('sums the rails when there is no total sensor and differences a wrapping energy counter', async () => {
    let t = 0;
    let counter = 90;
    const rail: PowerSource = { name: 'rail', role: 'rail', kind: 'power', read: async () => 4 };
    const rapl: PowerSource = { name: 'rapl', role: 'rail', kind: 'energy-counter', wrapJ: 100, read: async () => counter };
    const m = new PowerMeter([rail, rapl], { now: () => t, keepMs: 10_000 });
    await m.sample();
    expect(m.powerW()).toBeUndefined(); // a counter's first reading has no predecessor: power unknown, not zero
    t = 1000;
    counter = 5; // wrapped at 100: 15 J in 1 s
    await m.sample();
    expect(m.powerW()).toBeCloseTo(19, 9);
    t = 2000;
    counter = 20;
    await m.sample();
    expect(await m.energyBetween(1000, 2000)).toBeCloseTo(19, 9);
    expect(await m.energyBetween(500, 1500)).toBeCloseTo(4 + 7.5 + 7.5, 9); // half of each counter interval
    expect(await m.energyBetween(0, 2000)).toBeCloseTo(38, 9);
    expect(m.totalJ()).toBeCloseTo(38, 9);
  });

  it('reports a failed read as unknown energy, never zero, while sampling periodically', async () => {
    let fail = false;
    let t = 0;
    let reads = 0;
    const src: PowerSource = {
      name: 'VDD_IN',
      role: 'total',
      kind: 'power',
      read: async () => {
        reads++;
        if (fail) throw new Error('i2c timeout');
        return 10;
      },
    };
    const m = new PowerMeter([src], { now: () => t, periodMs: 5, keepMs: 10_000 });
    const readsAfter = async (n: number) => {
      const target = reads + n;
      while (reads < target) await new Promise((r) => setTimeout(r, 5));
    };
    m.start();
    await readsAfter(1);
    t = 10;
    await readsAfter(2); // a few ticks at 10 W, all at t = 10
    fail = true;
    t = 20;
    await readsAfter(2);
    fail = false;
    t = 30;
    await readsAfter(2);
    expect(await m.energyBetween(0, 10)).toBeCloseTo(0.1, 9);
    expect(await m.energyBetween(12, 28)).toBeUndefined();
    expect(m.powerW()).toBe(10);
    expect(m.totalJ()).toBeCloseTo(0.1, 9);
    await m.stop();
  });

  it('waits for the sample that closes a span still in the future', async () => {
    let t = 0;
    const m = new PowerMeter([{ name: 'P', role: 'total', kind: 'power', read: async () => 6 }], { now: () => t, periodMs: 5, keepMs: 10_000 });
    await m.sample();
    m.start();
    const pending = m.energyBetween(0, 1000);
    t = 1000;
    expect(await pending).toBeCloseTo(6, 9);
    await m.stop();
  });

  it('forgets samples older than keepMs that no window needs', async () => {
    const clock = { t: 0 };
    const m = new PowerMeter([powerSource('P', 'total', () => 5, clock)], { now: () => clock.t, keepMs: 1000 });
    for (; clock.t <= 5000; clock.t += 100) await m.sample();
    expect(await m.energyBetween(4000, 5000)).toBeCloseTo(5, 9);
    expect(await m.energyBetween(3900, 5000)).toBeUndefined();
  });
});

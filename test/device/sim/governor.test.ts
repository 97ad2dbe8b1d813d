import { describe, expect, it } from 'vitest';
import { loadBoard } from '../../../src/device/sim/index.ts';
import { simulateGovernor } from '../../../src/device/sim/governor.ts';

const orin = loadBoard('orin-agx');
const g = orin.gpu.freqsHz;
const top = g[g.length - 1]!;

/** A compute-bound batch that takes `atMaxS` at the top clock (time ∝ 1/f), GPU fully busy. */
function computeBound(atMaxS: number) {
  return { inferS: Float64Array.from(g, (f) => (atMaxS * top) / f), busyFrac: new Float64Array(g.length).fill(1) };
}

describe('nvhost_podgov simulation', () => {
  it('ramps from the floor to the top in ~3 decisions (≈100–150 ms), as calibration.md §5.1 derives', () => {
    // One 1 s burst every 10 s: the load average decays to nothing in between, so every burst starts
    // at the minimum; jumps of max/3 at most every 50 ms (polled every 25 ms) reach the top.
    const w = { ...computeBound(1), hostS: 0, minIntervalS: 0, intervalS: 10, mode: 'load-aware' as const };
    const r = simulateGovernor(orin, 0, g.length - 1, w);
    // Work lost while climbing: 25 ms at 114.75 MHz, then ~50 ms at 624.75 and ~50 ms at 1134.75 MHz
    // (give or take the burst's phase against the 25 ms poll grid).
    const lost = 0.025 * (1 - g[0]! / top) + 0.05 * (1 - 624750000 / top) + 0.05 * (1 - 1134750000 / top);
    expect(r.serviceS.length).toBeGreaterThanOrEqual(3);
    for (const s of r.serviceS) {
      expect(s - 1).toBeGreaterThan(lost * 0.6);
      expect(s - 1).toBeLessThan(lost * 1.4);
    }
  });

  it('pins the clock when min = max', () => {
    const w = { ...computeBound(0.01), hostS: 0.002, minIntervalS: 0, intervalS: 0, mode: 'saturated' as const };
    const r = simulateGovernor(orin, 5, 5, w);
    expect([...r.timeAt].filter((t) => t > 0)).toHaveLength(1);
    expect(r.timeAt[5]).toBeCloseTo((0.01 * top) / g[5]! + 0.002, 12);
  });

  it('settles a light steady load near the load target instead of the top', () => {
    // 1 ms of top-clock work every 5 ms: ~20 % busy at the top, so the governor lowers the clock
    // until the GPU is busy about 70 % of the time (load_target = 700).
    const w = { ...computeBound(0.001), hostS: 0, minIntervalS: 0, intervalS: 0.005, mode: 'load-aware' as const };
    const r = simulateGovernor(orin, 0, g.length - 1, w);
    let busy = 0;
    let total = 0;
    for (let i = 0; i < g.length; i++) {
      busy += r.progressAt[i]! * w.inferS[i]!;
      total += r.timeAt[i]!;
    }
    expect(busy / total).toBeGreaterThan(0.45);
    expect(busy / total).toBeLessThan(0.9);
    expect(r.timeAt[g.length - 1]! / r.durationS).toBeLessThan(0.2);
  });

  it('computes many short batches per poll window as a flow with the same result as event by event', () => {
    // 0.3–2.8 ms batches with a 0.4 ms host gap: up to ~40 batches per 25 ms window.
    const fast = { ...computeBound(0.0003), hostS: 0.0004, minIntervalS: 0, intervalS: 0, mode: 'saturated' as const };
    const light = { ...computeBound(0.0003), hostS: 0, minIntervalS: 0, intervalS: 0.002, mode: 'load-aware' as const };
    for (const w of [fast, light]) {
      const flow = simulateGovernor(orin, 0, g.length - 1, w);
      const events = simulateGovernor(orin, 0, g.length - 1, w, { fluid: false });
      const hz = (r: typeof flow) => r.timeAt.reduce((s, t, i) => s + t * g[i]!, 0) / r.durationS;
      expect(hz(flow) / hz(events)).toBeCloseTo(1, 1);
      expect(flow.batches / flow.durationS / (events.batches / events.durationS)).toBeCloseTo(1, 1);
    }
  });
});

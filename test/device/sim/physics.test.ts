import { describe, expect, it } from 'vitest';
import { fillWaitQuantileS } from '../../../src/device/sim/fill-wait.ts';
import { evaluateConfig, loadBoard } from '../../../src/device/sim/index.ts';
import { denseCnn, depthwiseCnn } from './synthetic-profiles.ts';

const dense = denseCnn();
const dw = depthwiseCnn();
const tx2 = loadBoard('tx2');
const orin = loadBoard('orin-agx');
const top = (a: readonly number[]) => a[a.length - 1]!;
const pin = (hz: number) => ({ gpuMinHz: hz, gpuMaxHz: hz });

describe('twin physics', () => {
  it('never gets slower with more GPU clock (fixed EMC) or more EMC clock (fixed GPU)', () => {
    for (const b of [tx2, orin])
      for (const p of [dense, dw])
        for (const batch of [1, 8]) {
          let prev = Number.POSITIVE_INFINITY;
          for (const f of b.gpu.freqsHz) {
            const s = evaluateConfig(b, p, { ...pin(f), batch }).serviceMs;
            expect(s).toBeLessThanOrEqual(prev * (1 + 1e-12));
            prev = s;
          }
          prev = Number.POSITIVE_INFINITY;
          for (const emcHz of b.emc.freqsHz) {
            const s = evaluateConfig(b, p, { ...pin(top(b.gpu.freqsHz)), emcHz, batch }).serviceMs;
            expect(s).toBeLessThanOrEqual(prev * (1 + 1e-12));
            prev = s;
          }
        }
  });

  it('scales a compute-bound batch ~1/f with the GPU clock, a memory-bound one with the EMC clock', () => {
    const g = tx2.gpu.freqsHz;
    const big = evaluateConfig(tx2, dense, { ...pin(top(g)), batch: 16 });
    expect(big.computeBoundShare).toBeGreaterThan(0.8);
    const half = evaluateConfig(tx2, dense, { ...pin(g[5]!), batch: 16 }); // 624.75 MHz ≈ 0.48 × 1300.5
    expect(half.serviceMs / big.serviceMs).toBeGreaterThan(1.7);
    expect(half.serviceMs / big.serviceMs).toBeLessThan(2.2);
    const e = orin.emc.freqsHz;
    const mem = evaluateConfig(orin, dw, { ...pin(top(orin.gpu.freqsHz)), emcHz: top(e), batch: 16 });
    expect(mem.computeBoundShare).toBeLessThan(0.3);
    const slowMem = evaluateConfig(orin, dw, { ...pin(top(orin.gpu.freqsHz)), emcHz: e[2]!, batch: 16 });
    expect(slowMem.serviceMs / mem.serviceMs).toBeGreaterThan(1.3);
  });

  it('grows kernel-launch overhead and pre-processing as the CPU clock drops', () => {
    const c = tx2.cpu.freqsHz;
    const fast = evaluateConfig(tx2, dw, { cpuHz: top(c), ...pin(top(tx2.gpu.freqsHz)), batch: 1 });
    const slow = evaluateConfig(tx2, dw, { cpuHz: c[0]!, ...pin(top(tx2.gpu.freqsHz)), batch: 1 });
    expect(slow.serviceMs).toBeGreaterThan(fast.serviceMs);
    expect(slow.preprocessMs / fast.preprocessMs).toBeCloseTo(top(c) / c[0]!, 6);
    expect(slow.hostMs / fast.hostMs).toBeCloseTo(top(c) / c[0]!, 6);
  });

  it('with min < max the governor runs short bursts below the maximum; pinning removes the ramp', () => {
    const g = orin.gpu.freqsHz;
    // One small batch every 100 ms: the load average decays between bursts, so each starts low.
    const governed = evaluateConfig(orin, dw, { gpuMinHz: g[0]!, gpuMaxHz: top(g), batch: 1 }, { rateRps: 10 });
    const pinned = evaluateConfig(orin, dw, { ...pin(top(g)), batch: 1 }, { rateRps: 10 });
    expect(governed.gpuEffectiveHz).toBeLessThan(top(g) * 0.6);
    expect(governed.serviceMs).toBeGreaterThan(pinned.serviceMs * 1.3);
    expect(pinned.gpuEffectiveHz).toBe(top(g));
    // Back-to-back large batches keep the load high: the governor holds much higher clocks (podgov's
    // cycle average lags each jump, so with host gaps it oscillates below the top rather than pinning it).
    const busy = evaluateConfig(orin, dense, { gpuMinHz: g[0]!, gpuMaxHz: top(g), batch: 16 });
    expect(busy.gpuEffectiveHz).toBeGreaterThan(top(g) * 0.5);
    expect(busy.gpuEffectiveHz).toBeGreaterThan(governed.gpuEffectiveHz);
  });

  it('counts idle power between batches in load-aware mode', () => {
    const c = { ...pin(top(tx2.gpu.freqsHz)), batch: 1 };
    const sat = evaluateConfig(tx2, dense, c);
    const slow = evaluateConfig(tx2, dense, c, { rateRps: 2 });
    expect(slow.throughputQps).toBeCloseTo(2, 6);
    expect(slow.energyPerQueryJ).toBeGreaterThan(sat.energyPerQueryJ * 5);
    expect(slow.powerW).toBeLessThan(sat.powerW);
    expect(slow.overloaded).toBe(false);
  });

  it('reports overload (and a growing queue) when arrivals outpace service', () => {
    const c = { ...pin(tx2.gpu.freqsHz[0]!), batch: 1 };
    const e = evaluateConfig(tx2, dense, c, { rateRps: 1000 });
    expect(e.overloaded).toBe(true);
    expect(e.throughputQps).toBeLessThan(1000);
    expect(e.latencyTailMs).toBeGreaterThan(1000);
  });

  it('overloads when CPU pre-processing cannot keep up, even with a fast GPU', () => {
    const c = orin.cpu.freqsHz;
    const cfg = { ...pin(top(orin.gpu.freqsHz)), batch: 4 };
    // 3e7 cycles per image on 11 free cores: ~800 images/s at 2.2 GHz, ~40 at 115 MHz.
    expect(evaluateConfig(orin, dense, { ...cfg, cpuHz: top(c) }, { rateRps: 100 }).overloaded).toBe(false);
    const slow = evaluateConfig(orin, dense, { ...cfg, cpuHz: c[0]! }, { rateRps: 100 });
    expect(slow.overloaded).toBe(true);
    expect(slow.throughputQps).toBeLessThan(60);
  });

  it('adds the batch-fill wait: exact quantiles for Poisson arrivals', () => {
    expect(fillWaitQuantileS(1, 50, 0.99)).toBe(0);
    // Batch 2: half the requests wait Exp(λ), half do not → P(W ≤ t) = 1 − ½e^{−λt}.
    expect(fillWaitQuantileS(2, 10, 0.99)).toBeCloseTo(Math.log(50) / 10, 6);
    expect(fillWaitQuantileS(2, 10, 0.5)).toBeCloseTo(0, 9); // half the requests complete the batch
    // Batch 4, median: (1/4)·Σ_{m=0..3} P(Erlang(m, λ) ≤ t) = 1/2, solved by bisection; check the CDF there.
    const t4 = fillWaitQuantileS(4, 10, 0.5);
    const erl = (m: number, x: number) => 1 - Array.from({ length: m }, (_, i) => (Math.exp(-x) * x ** i) / [1, 1, 2, 6][i]!).reduce((a, b) => a + b, 0);
    expect((1 + erl(1, 10 * t4) + erl(2, 10 * t4) + erl(3, 10 * t4)) / 4).toBeCloseTo(0.5, 9);
    const e8 = evaluateConfig(orin, dense, { batch: 8 }, { rateRps: 100 });
    const e1 = evaluateConfig(orin, dense, { batch: 1 }, { rateRps: 100 });
    expect(e8.fillWaitTailMs).toBeGreaterThan(40);
    expect(e8.latencyTailMs).toBeGreaterThan(e1.latencyTailMs);
    expect(e8.latencyTailMs).toBeGreaterThanOrEqual(e8.latencyP50Ms);
  });

  it('sums rails to the input power the way each board wires them', () => {
    const t = evaluateConfig(tx2, dense, { batch: 4 });
    const sub = Object.entries(t.railsW)
      .filter(([k]) => k !== 'VDD_IN')
      .reduce((s, [, v]) => s + v, 0);
    expect(t.railsW.VDD_IN).toBe(t.powerW);
    expect(t.powerW).toBeGreaterThan(sub); // module rest + regulator loss only show on VDD_IN
    const o = evaluateConfig(orin, dense, { batch: 4 });
    const sum = Object.values(o.railsW).reduce((s, v) => s + v, 0);
    expect(o.powerW).toBeCloseTo(sum, 9);
  });

  it('raises power with GPU voltage: dynamic ∝ V²·f, leakage rises with voltage', () => {
    const g = orin.gpu.freqsHz;
    const lo = evaluateConfig(orin, dense, { ...pin(g[3]!), batch: 16 });
    const hi = evaluateConfig(orin, dense, { ...pin(top(g)), batch: 16 });
    expect(hi.railsW.VDD_GPU_SOC! - lo.railsW.VDD_GPU_SOC!).toBeGreaterThan(5);
  });

  it('heats up under the thermal model and leaks more when hot', () => {
    const c = { ...pin(top(orin.gpu.freqsHz)), batch: 16 };
    const cool = evaluateConfig(orin, dense, c);
    const hot = evaluateConfig(orin, dense, c, { thermal: true });
    expect(hot.temperatureC).toBeGreaterThan(orin.thermal.ambientC + 10);
    const at90 = evaluateConfig(orin, dense, c, { temperatureC: 90 });
    expect(at90.powerW).toBeGreaterThan(cool.powerW);
    const over = evaluateConfig(orin, dense, c, { temperatureC: orin.thermal.throttleC + 5 });
    expect(over.throttledGpuMaxHz).not.toBeNull();
    expect(over.serviceMs).toBeGreaterThan(cool.serviceMs);
  });

  it('rejects configurations outside the tables and bad options', () => {
    expect(() => evaluateConfig(tx2, dense, { gpuMaxHz: 1e9, batch: 1 })).toThrow(/not in the device's table/);
    expect(() => evaluateConfig(tx2, dense, { batch: 1 }, { rateRps: 0 })).toThrow(/arrival rate/);
    expect(() => evaluateConfig(tx2, dense, { batch: 1 }, { quantile: 1 })).toThrow(/quantile/);
  });

  it('is pure and cached: the same inputs give the same answer', () => {
    const a = evaluateConfig('tx2', dense, { batch: 2 });
    const b = evaluateConfig('tx2', dense, { batch: 2 });
    expect(b).toBe(a);
  });
});

import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import type { TrialRecord } from '../../src/core/tuning-run.ts';
import { chooseCpuClock } from '../../src/tune/cpu-phase.ts';
import { paretoSet } from '../../src/core/pareto.ts';

/** A pipeline whose pre-processing becomes the bottleneck below 1.2 GHz; CPU power ∝ f². */
function pipeline(c: Config): TrialMeasurement {
  const f = c.cpuHz! / 1e9;
  const gpuRate = 1000; // queries/s the GPU sustains
  const cpuRate = 900 * f; // queries/s pre-processing sustains
  const thr = Math.min(gpuRate, cpuRate);
  const powerW = 20 + 4 * f * f;
  const tail = 16 * (gpuRate / thr);
  return {
    config: c,
    valid: true,
    energyPerQueryJ: powerW / thr,
    latencyP50Ms: tail * 0.9,
    latencyTailMs: tail,
    tailQuantile: 0.99,
    serviceMs: tail * 0.8,
    throughputQps: thr,
    powerW,
    railsW: {},
    queries: thr * 10,
    windowS: 10,
    noise: { energyCv: 0, latencyTailCv: 0 },
  };
}

describe('CPU phase', () => {
  const cpuHz = [0.4e9, 0.6e9, 0.8e9, 1.0e9, 1.2e9, 1.4e9, 1.6e9, 1.8e9, 2.0e9, 2.2e9];

  it('picks the lowest-energy clock that keeps pre-processing off the critical path', async () => {
    const seen: number[] = [];
    const r = await chooseCpuClock({
      cpuHz,
      gpuHz: [1e8, 1.3e9],
      emcHz: [2e9, 3.2e9],
      batch: 16,
      measure: async (c) => {
        seen.push(c.cpuHz!);
        expect(c.gpuMinHz).toBe(1.3e9);
        expect(c.emcHz).toBe(3.2e9);
        expect(c.batch).toBe(16);
        return pipeline(c);
      },
    });
    expect(seen[0]).toBe(2.2e9);
    // 1.2 GHz sustains 1080 q/s ≥ the GPU's 1000: the lowest clock at full throughput
    expect(r.cpuHz).toBe(1.2e9);
  });

  it('where the SLO binds, keeps the fastest clock whose energy is within the noise of the lowest', async () => {
    // CPU power barely matters: energy falls 0.5 % per step down to 1.2 GHz, the tail grows 1 % per
    // step; windows carry 3 % energy noise, so none of those savings is distinguishable from noise
    const flat = (c: Config): TrialMeasurement => {
      const steps = Math.round((2.2e9 - c.cpuHz!) / 0.2e9);
      const m = pipeline(c);
      return {
        ...m,
        energyPerQueryJ: 0.03 * (1 - 0.005 * Math.min(steps, 5)),
        latencyTailMs: 16 * (1 + 0.01 * steps),
        noise: { energyCv: 0.03, latencyTailCv: 0.03 },
      };
    };
    const run = (latencyLimitMs?: number) =>
      chooseCpuClock({ cpuHz, batch: 16, measure: async (c) => flat(c), ...(latencyLimitMs === undefined ? {} : { latencyLimitMs }) });
    // the top clock misses a 5 ms limit at batch 16: the search will need a smaller batch, where the
    // lower clock's latency would cost more than its unresolvable saving
    expect((await run(5)).cpuHz).toBe(2.2e9);
    // the SLO does not bind (or is unknown): the lowest measured energy, as before
    expect((await run(100)).cpuHz).toBe(1.2e9);
    expect((await run()).cpuHz).toBe(1.2e9);
  });

  it('thins a long table to at most maxLevels clocks, both ends included', async () => {
    const long = Array.from({ length: 29 }, (_, i) => 1.152e8 * (i + 1));
    const seen: number[] = [];
    const measure = async (c: Config) => {
      seen.push(c.cpuHz!);
      return pipeline(c);
    };
    await chooseCpuClock({ cpuHz: long, batch: 8, maxLevels: 6, measure });
    expect(seen).toHaveLength(6);
    expect(seen).toContain(long[0]);
    expect(seen).toContain(long[28]);
  });
});

describe('Pareto set', () => {
  it('keeps exactly the trials nothing beats on both energy and tail latency', () => {
    const rec = (i: number, e: number, tail: number, valid = true): TrialRecord => ({
      index: i,
      source: 'bo',
      config: { batch: i + 1 },
      measurement: { ...pipeline({ cpuHz: 1e9, batch: i + 1 }), energyPerQueryJ: e, latencyTailMs: tail, valid },
      feasible: true,
    });
    const p = paretoSet([rec(0, 3, 10), rec(1, 2, 20), rec(2, 2.5, 25), rec(3, 1, 40), rec(4, 0.5, 5, false)]);
    expect(p.map((x) => x.trial)).toEqual([0, 1, 3]);
  });
});

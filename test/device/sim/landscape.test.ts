import { describe, expect, it } from 'vitest';
import { computeLandscape, evaluateConfig, landscapeCsv, loadBoard, tailColumn } from '../../../src/device/sim/index.ts';
import { denseCnn } from './synthetic-profiles.ts';

const profile = denseCnn();

describe('computeLandscape', () => {
  it('has the paper grid sizes: 5005 rows on TX2 and 1820 on AGX Orin with 5 batch sizes', () => {
    expect(computeLandscape({ board: 'tx2', profile }).rows).toHaveLength(5005);
    const o = computeLandscape({ board: 'orin-agx', profile });
    expect(o.rows).toHaveLength(1820);
    expect(o.rows.every((r) => r.gpu_min_hz <= r.gpu_max_hz)).toBe(true);
    expect(new Set(o.rows.map((r) => `${r.gpu_min_hz}|${r.gpu_max_hz}|${r.emc_hz}|${r.batch}`)).size).toBe(1820);
  });

  it('rows are the exact evaluation with noise 0', () => {
    const l = computeLandscape({ board: 'orin-agx', profile, batchSizes: [2], rateRps: 100 });
    const r = l.rows[37]!;
    const e = evaluateConfig(
      'orin-agx',
      profile,
      { cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: 2 },
      { rateRps: 100 },
    );
    expect(r.energy_per_query_j).toBeCloseTo(e.energyPerQueryJ, 12);
    expect(r.latency_p99_ms).toBe(e.latencyTailMs);
    expect(r.power_w).toBe(e.powerW);
    expect(r.device).toBe('sim:orin-agx');
    expect(r.model).toBe('dense-cnn');
  });

  it('sweeps the CPU with cpu: all, or fixes it', () => {
    const b = loadBoard('orin-nano');
    const all = computeLandscape({ board: b, profile, batchSizes: [1], cpu: 'all' });
    expect(all.rows).toHaveLength(b.cpu.freqsHz.length * 4 * 36);
    const fixed = computeLandscape({ board: b, profile, batchSizes: [1], cpuHz: b.cpu.freqsHz[3]! });
    expect(new Set(fixed.rows.map((r) => r.cpu_hz))).toEqual(new Set([b.cpu.freqsHz[3]!]));
    expect(() => computeLandscape({ board: b, profile, cpuHz: 1.234e9 })).toThrow(/not in sim:orin-nano's table/);
    expect(() => computeLandscape({ board: b, profile, batchSizes: [0] })).toThrow(/positive integers/);
  });

  it('adds seeded noise per row', () => {
    const a = computeLandscape({ board: 'orin-agx', profile, batchSizes: [1], noise: 0.05, seed: 4 });
    const b = computeLandscape({ board: 'orin-agx', profile, batchSizes: [1], noise: 0.05, seed: 4 });
    const exact = computeLandscape({ board: 'orin-agx', profile, batchSizes: [1] });
    expect(a.rows).toEqual(b.rows);
    expect(a.rows.filter((r, i) => r.energy_per_query_j !== exact.rows[i]!.energy_per_query_j).length).toBeGreaterThan(300);
  });

  it('writes CSV with the documented columns, naming the tail column by its quantile', () => {
    const l = computeLandscape({ board: 'orin-agx', profile, batchSizes: [1, 2] });
    const lines = landscapeCsv(l).trimEnd().split('\n');
    expect(lines[0]).toBe('device,model,cpu_hz,gpu_min_hz,gpu_max_hz,emc_hz,batch,latency_p50_ms,latency_p99_ms,energy_per_query_j,power_w,throughput_qps');
    expect(lines).toHaveLength(1 + 2 * 4 * 91);
    const cells = lines[1]!.split(',');
    expect(cells.slice(0, 7)).toEqual(['sim:orin-agx', 'dense-cnn', '2201600000', '114750000', '114750000', '204000000', '1']);
    expect(Number(cells[9])).toBeGreaterThan(0);
    expect(tailColumn(0.95)).toBe('latency_p95_ms');
    expect(tailColumn(0.999)).toBe('latency_p99.9_ms');
    const q95 = computeLandscape({ board: 'orin-agx', profile, batchSizes: [1], quantile: 0.95 });
    expect(landscapeCsv(q95).split('\n')[0]).toContain('latency_p95_ms');
  });

  it('reports progress', () => {
    const seen: number[] = [];
    computeLandscape({ board: 'tx2', profile, batchSizes: [1], onProgress: (d) => seen.push(d) });
    expect(seen.at(-1)).toBe(1001);
    expect(seen.length).toBeGreaterThan(1);
  });
});

import { describe, expect, it } from 'vitest';
import { computeLandscape, evaluateConfig, landscapeOptimum, loadBoard } from '../../../src/device/sim/index.ts';
import { zooProfile } from '../../../src/model/zoo/index.ts';

describe('landscapeOptimum', () => {
  it('is the lowest-energy row, beside every clock at maximum at its batch size and CPU clock', () => {
    const board = loadBoard('orin-nano');
    const profile = zooProfile('mobilenet-v2');
    const l = computeLandscape({ board, profile, batchSizes: [1, 4], rateRps: 50, quantile: 0.95 });
    const { best, allMax } = landscapeOptimum(board, profile, l);
    expect(best.energy_per_query_j).toBe(Math.min(...l.rows.map((r) => r.energy_per_query_j)));
    const top = (t: readonly number[]) => t[t.length - 1]!;
    const g = top(board.gpu.freqsHz);
    const expected = evaluateConfig(
      board,
      profile,
      { cpuHz: best.cpu_hz, gpuMinHz: g, gpuMaxHz: g, emcHz: top(board.emc.freqsHz), batch: best.batch },
      { rateRps: 50, quantile: 0.95 },
    );
    expect(allMax).toEqual(expected);
    expect(allMax.energyPerQueryJ).toBeGreaterThan(best.energy_per_query_j);
  });
});

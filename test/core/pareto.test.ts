import { describe, expect, it } from 'vitest';
import { paretoFront, paretoFrontBy } from '../../src/core/pareto.ts';

const energy = (p: { energyJ: number }) => p.energyJ;
const latency = (p: { latencyMs: number }) => p.latencyMs;

describe('paretoFront', () => {
  it('keeps exactly the points no other point beats on both latency and energy', () => {
    const pts = [
      { latencyMs: 10, energyJ: 5 },
      { latencyMs: 12, energyJ: 6 }, // dominated by (10, 5)
      { latencyMs: 20, energyJ: 3 },
      { latencyMs: 15, energyJ: 4 },
      { latencyMs: 30, energyJ: 3 }, // dominated by (20, 3)
      { latencyMs: 8, energyJ: 9 },
    ];
    expect(paretoFront(pts, energy, latency)).toEqual([
      { latencyMs: 8, energyJ: 9 },
      { latencyMs: 10, energyJ: 5 },
      { latencyMs: 15, energyJ: 4 },
      { latencyMs: 20, energyJ: 3 },
    ]);
  });
  it('computes one frontier per group', () => {
    const pts = [
      { latencyMs: 1, energyJ: 2, b: 1 },
      { latencyMs: 2, energyJ: 1, b: 1 },
      { latencyMs: 1, energyJ: 1, b: 2 },
      { latencyMs: 2, energyJ: 2, b: 2 },
    ];
    const f = paretoFrontBy(pts, energy, latency, (p) => p.b);
    expect(f.get(1)).toHaveLength(2);
    expect(f.get(2)).toEqual([{ latencyMs: 1, energyJ: 1, b: 2 }]);
  });
});

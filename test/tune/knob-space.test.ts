import { describe, expect, it } from 'vitest';
import { enumerateGrid, gridPoint } from '../../src/optimize/search-space.ts';
import { createKnobSpace } from '../../src/tune/knob-space.ts';

const table = (n: number, base: number) => Array.from({ length: n }, (_, i) => base * (i + 1));

describe('knob search space', () => {
  it('has the grid sizes of the paper (min ≤ max GPU pairs)', () => {
    const tx2 = createKnobSpace({ domains: { gpuHz: table(13, 1e8), emcHz: table(11, 2e8), batch: [1, 2, 4, 8, 16] } });
    expect(enumerateGrid(tx2, 1e6)!.size).toBe(5005);
    const orin = createKnobSpace({ domains: { gpuHz: table(13, 1e8), emcHz: table(4, 1e9), batch: [1, 2, 4, 8, 16] } });
    expect(enumerateGrid(orin, 1e6)!.size).toBe(1820);
  });

  it('maps points to configurations and back, and holds fixed knobs', () => {
    const s = createKnobSpace({
      domains: { cpuHz: table(5, 4e8), gpuHz: table(3, 1e8), emcHz: [1e9, 2e9], batch: [1, 4, 16] },
      fixed: { cpuHz: 8e8 },
    });
    expect(s.knobs).toEqual(['gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch']);
    const c = s.toConfig([1, 2, 0, 2]);
    expect(c).toEqual({ cpuHz: 8e8, gpuMinHz: 2e8, gpuMaxHz: 3e8, emcHz: 1e9, batch: 16 });
    expect(s.toPoint(c)).toEqual([1, 2, 0, 2]);
    expect(s.toPoint({ ...c, emcHz: 5 })).toBeNull();
    // a configuration at another CPU clock than the held one is not on the space
    expect(s.toPoint({ ...c, cpuHz: 1.2e9 })).toBeNull();
    expect(s.isValid!([2, 1, 0, 0])).toBe(false);
    // batch on a log scale: 4 sits halfway between 1 and 16
    const g = enumerateGrid(s, 1e6)!;
    const i = Array.from({ length: g.size }, (_, k) => k).find((k) => gridPoint(g, k)[3] === 1)!;
    expect(g.x[i * 4 + 3]).toBeCloseTo(0.5, 12);
  });
});

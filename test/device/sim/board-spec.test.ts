import { describe, expect, it } from 'vitest';
import { BOARDS, landscapeSize, loadBoard, parseBoardSpec, voltageAt } from '../../../src/device/sim/index.ts';

describe('board data', () => {
  it('has the four boards, each valid, with modes drawn from its own tables', () => {
    expect([...BOARDS].sort()).toEqual(['orin-agx', 'orin-nano', 'tx2', 'xavier-nx']);
    for (const b of BOARDS) {
      const s = loadBoard(b);
      expect(s.name).toBe(b);
      expect(s.modes.length).toBeGreaterThan(0);
      expect(loadBoard(`sim:${b}`)).toBe(s);
    }
  });

  it('uses the real frequency tables (hardware.md §2.4, §3.2) so the paper grid sizes come out', () => {
    const tx2 = loadBoard('tx2');
    const orin = loadBoard('orin-agx');
    expect(tx2.gpu.freqsHz).toHaveLength(13);
    expect(tx2.emc.freqsHz).toHaveLength(11);
    expect(orin.gpu.freqsHz).toHaveLength(13);
    expect(orin.emc.freqsHz).toEqual([204000000, 665600000, 2133000000, 3199000000]);
    // Paper: 5 batch sizes → 5005 (TX2) and 1820 (AGX Orin) configurations.
    expect(landscapeSize(tx2, [1, 2, 4, 8, 16], 1)).toBe(5005);
    expect(landscapeSize(orin, [1, 2, 4, 8, 16], 1)).toBe(1820);
  });

  it('gives the published peak memory bandwidth at the top EMC rate (calibration.md §1)', () => {
    const bw = (n: string) => {
      const b = loadBoard(n);
      return (b.emc.bytesPerCycle * b.emc.freqsHz[b.emc.freqsHz.length - 1]!) / 1e9;
    };
    expect(bw('orin-agx')).toBeCloseTo(204.8, 0);
    expect(bw('tx2')).toBeCloseTo(59.7, 0);
    expect(bw('xavier-nx')).toBeCloseTo(59.7, 0);
    expect(bw('orin-nano')).toBeCloseTo(102.4, 0);
  });

  it('derives FP32 peaks from CUDA cores × 2 FLOP per FMA', () => {
    for (const b of BOARDS) {
      const s = loadBoard(b);
      expect(s.gpu.fp32FlopPerCycle).toBe(2 * s.gpu.cores);
    }
    expect(loadBoard('tx2').gpu.tensorFp16FlopPerCycle).toBeNull();
  });

  it('names rails as each board does; AGX Orin has no input rail', () => {
    expect(loadBoard('orin-agx').rails.map((r) => r.name)).toEqual(['VDD_GPU_SOC', 'VDD_CPU_CV', 'VIN_SYS_5V0', 'VDDQ_VDD2_1V8AO']);
    expect(loadBoard('orin-agx').rails.some((r) => r.role === 'total')).toBe(false);
    expect(loadBoard('tx2').rails.find((r) => r.role === 'total')?.name).toBe('VDD_IN');
    expect(loadBoard('xavier-nx').rails.map((r) => r.name)).toEqual(['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC']);
  });

  it('rejects unknown boards and invalid specs with a clear message', () => {
    expect(() => loadBoard('jetson-nano')).toThrow(/unknown simulated board 'jetson-nano'/);
    const good = structuredClone(loadBoard('tx2')) as unknown as { gpu: { freqsHz: number[] } };
    good.gpu.freqsHz = [3, 2, 1];
    expect(() => parseBoardSpec(good, 'x')).toThrow(/ascending/);
    const badMode = structuredClone(loadBoard('tx2')) as unknown as { modes: { gpuMaxHz: number }[] };
    badMode.modes[0]!.gpuMaxHz = 123;
    expect(() => parseBoardSpec(badMode, 'x')).toThrow(/not in the board's tables/);
  });

  it('interpolates voltage piecewise-linearly and flat outside the points', () => {
    const vf: [number, number][] = [
      [100, 0.6],
      [200, 0.6],
      [300, 1.0],
    ];
    expect(voltageAt(vf, 50)).toBe(0.6);
    expect(voltageAt(vf, 250)).toBeCloseTo(0.8);
    expect(voltageAt(vf, 400)).toBe(1.0);
  });
});

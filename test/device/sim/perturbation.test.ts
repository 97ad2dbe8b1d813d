import { describe, expect, it } from 'vitest';
import { evaluateConfig, loadBoard } from '../../../src/device/sim/index.ts';
import { NOMINAL, SHIFTED_BOARDS, perturbBoard, perturbationSets, randomPerturbation } from '../../../src/device/sim/perturbation.ts';
import { zooProfile } from '../../../src/model/zoo/index.ts';

const board = loadBoard('orin-agx');
const resnet = zooProfile('resnet-50', { dtype: 'fp16' });
const g = board.gpu.freqsHz;
const top = { cpuHz: board.cpu.freqsHz.at(-1)!, gpuMinHz: g[0]!, gpuMaxHz: g.at(-1)!, emcHz: board.emc.freqsHz.at(-1)! };
const shifted = (name: string) => perturbBoard(board, SHIFTED_BOARDS.find((p) => p.name === name)!);

describe('shifted boards', () => {
  it('the nominal perturbation is the board itself, and a perturbed board is cached', () => {
    expect(perturbBoard(board, NOMINAL)).toBe(board);
    expect(perturbBoard(board, SHIFTED_BOARDS[0]!)).toBe(perturbBoard(board, { ...SHIFTED_BOARDS[0]! }));
  });

  it('each factor moves the twin the way it says', () => {
    const at = (b: typeof board, batch: number) => evaluateConfig(b, resnet, { ...top, batch });
    const base1 = at(board, 1);
    const base32 = at(board, 32);
    // Per-kernel overhead hurts batch 1 more (relatively) than batch 32.
    const eager1 = at(shifted('eager-dispatch'), 1);
    const eager32 = at(shifted('eager-dispatch'), 32);
    expect(eager1.serviceMs / base1.serviceMs).toBeGreaterThan(eager32.serviceMs / base32.serviceMs);
    expect(eager1.serviceMs).toBeGreaterThan(base1.serviceMs);
    expect(at(shifted('slow-gpu'), 32).serviceMs).toBeGreaterThan(base32.serviceMs);
    const hungry = at(shifted('hungry-power'), 32);
    expect(hungry.powerW).toBeGreaterThan(base32.powerW * 1.1);
    expect(hungry.serviceMs).toBeCloseTo(base32.serviceMs, 9);
    expect(at(shifted('narrow-memory'), 32).serviceMs).toBeGreaterThan(base32.serviceMs);
    const stalls = at(shifted('stalls'), 32);
    expect(stalls.serviceTailMs).toBeCloseTo(base32.serviceTailMs * 2, 6);
    expect(stalls.serviceP50Ms).toBeCloseTo(base32.serviceP50Ms, 9);
  });

  it('seeded mixtures are reproducible and inside the single-factor ranges', () => {
    expect(randomPerturbation(7)).toEqual(randomPerturbation(7));
    expect(randomPerturbation(7)).not.toEqual(randomPerturbation(8));
    const sets = perturbationSets(9, 3);
    expect(sets).toHaveLength(9);
    expect(sets.slice(0, 5)).toEqual(SHIFTED_BOARDS);
    for (const p of sets) {
      expect(p.launchOverhead).toBeGreaterThanOrEqual(1);
      expect(p.launchOverhead).toBeLessThanOrEqual(3);
      expect(p.gpuEfficiency).toBeGreaterThanOrEqual(0.7 - 1e-12);
      expect(p.dynamicPower).toBeLessThanOrEqual(1.3 + 1e-12);
      expect(p.memoryBandwidth).toBeGreaterThanOrEqual(0.8 - 1e-12);
    }
  });
});

/**
 * Shifted boards: the twin with perturbed physics. A real board is not the twin; a perturbation is
 * one way it can differ (an eager framework's per-kernel dispatch, a slower GPU, a hungrier module,
 * narrower memory, stalls). Benchmarks use these as the truth while the tuner's prior stays the
 * nominal twin, and calibration is tested by recovering them.
 */
import { mulberry32 } from '../../numerics/random.ts';
import type { BoardSpec } from './board-spec.ts';

export interface TwinPerturbation {
  readonly name: string;
  /** × CPU cycles to launch one kernel and the GPU gap between kernels (per-operator overhead). */
  readonly launchOverhead: number;
  /** × achieved tensor-core and CUDA-core efficiency (0.7 = a GPU 30 % less efficient). */
  readonly gpuEfficiency: number;
  /** × switched capacitance of GPU and CPU: dynamic power, hence power at full load. */
  readonly dynamicPower: number;
  /** × achieved memory bandwidth. */
  readonly memoryBandwidth: number;
  /** Share of batches that stall (0 = none) and the stall's factor on their service time. */
  readonly stallShare: number;
  readonly stallFactor: number;
}

export const NOMINAL: TwinPerturbation = {
  name: 'nominal',
  launchOverhead: 1,
  gpuEfficiency: 1,
  dynamicPower: 1,
  memoryBandwidth: 1,
  stallShare: 0,
  stallFactor: 1,
};

/** One factor at a time, each at the size a real stack or board plausibly differs by. */
export const SHIFTED_BOARDS: readonly TwinPerturbation[] = [
  { ...NOMINAL, name: 'eager-dispatch', launchOverhead: 3 },
  { ...NOMINAL, name: 'slow-gpu', gpuEfficiency: 0.7 },
  { ...NOMINAL, name: 'hungry-power', dynamicPower: 1.3 },
  { ...NOMINAL, name: 'narrow-memory', memoryBandwidth: 0.8 },
  { ...NOMINAL, name: 'stalls', stallShare: 0.02, stallFactor: 2 },
];

function logUniform(u: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * u());
}

/** A seeded mixture of every factor (each drawn log-uniformly within the single-factor ranges). */
export function randomPerturbation(seed: number): TwinPerturbation {
  const u = mulberry32(seed >>> 0);
  const stall = u() < 0.5;
  return {
    name: `mixed-${seed}`,
    launchOverhead: logUniform(u, 1, 3),
    gpuEfficiency: logUniform(u, 0.7, 1.1),
    dynamicPower: logUniform(u, 0.85, 1.3),
    memoryBandwidth: logUniform(u, 0.8, 1.1),
    stallShare: stall ? 0.015 + 0.015 * u() : 0,
    stallFactor: stall ? 1.5 + u() : 1,
  };
}

/** The first `count` shifted boards: the single-factor ones, then seeded mixtures. */
export function perturbationSets(count: number, seed = 1): TwinPerturbation[] {
  const out = SHIFTED_BOARDS.slice(0, count);
  for (let i = 0; out.length < count; i++) out.push(randomPerturbation(seed * 1000 + i));
  return out;
}

const cache = new WeakMap<BoardSpec, Map<string, BoardSpec>>();

function keyOf(p: TwinPerturbation): string {
  return [p.launchOverhead, p.gpuEfficiency, p.dynamicPower, p.memoryBandwidth, p.stallShare, p.stallFactor].join('|');
}

/**
 * The board with this perturbation applied (a new spec object, cached so the twin's per-board
 * caches are shared between calls). Efficiencies are capped at 1.
 */
export function perturbBoard(board: BoardSpec, p: TwinPerturbation): BoardSpec {
  const key = keyOf(p);
  if (key === keyOf(NOMINAL)) return board;
  let m = cache.get(board);
  if (!m) {
    m = new Map();
    cache.set(board, m);
  }
  const hit = m.get(key);
  if (hit) return hit;
  const shifted = shiftBoard(board, p);
  m.set(key, shifted);
  return shifted;
}

/** perturbBoard without its cache: a new spec object on every call (for fits that try many). */
export function shiftBoard(board: BoardSpec, p: TwinPerturbation): BoardSpec {
  const rt = board.runtime;
  const pw = board.power;
  const shifted: BoardSpec = {
    ...board,
    displayName: `${board.displayName} [${p.name}]`,
    runtime: {
      ...rt,
      launchCycles: rt.launchCycles * p.launchOverhead,
      kernelGapS: rt.kernelGapS * p.launchOverhead,
      tensorEfficiency: Math.min(1, rt.tensorEfficiency * p.gpuEfficiency),
      cudaEfficiency: Math.min(1, rt.cudaEfficiency * p.gpuEfficiency),
      memoryEfficiency: Math.min(1, rt.memoryEfficiency * p.memoryBandwidth),
    },
    power: {
      ...pw,
      gpu: { ...pw.gpu, cdynF: pw.gpu.cdynF * p.dynamicPower },
      cpu: { ...pw.cpu, cdynPerCoreF: pw.cpu.cdynPerCoreF * p.dynamicPower },
    },
    ...(p.stallShare > 0 ? { stalls: { share: p.stallShare, factor: p.stallFactor } } : {}),
  };
  return shifted;
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PolyThrottleError } from '../../core/errors.ts';
import { simBoardName } from '../device-spec.ts';
import { BOARDS, type BoardName, isBoardName } from './board-names.ts';

export { BOARDS, type BoardName, isBoardName };

const ascendingHz = z
  .array(z.number().positive())
  .min(1)
  .refine((a) => a.every((v, i) => i === 0 || v > a[i - 1]!), 'frequencies must be strictly ascending');
const vfCurve = z
  .array(z.tuple([z.number().positive(), z.number().positive()]))
  .min(1)
  .refine((a) => a.every((p, i) => i === 0 || p[0] > a[i - 1]![0]), 'V-f points must be ascending in frequency');

const componentName = z.enum(['gpu', 'cpu', 'soc', 'dram', 'cv', 'io', 'module', 'loss']);
export type PowerComponent = z.infer<typeof componentName>;

const boardSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  soc: z.string(),
  release: z.string(),
  sources: z.string(),
  gpu: z.object({
    node: z.string(),
    arch: z.string(),
    cores: z.number().int().positive(),
    freqsHz: ascendingHz,
    fp32FlopPerCycle: z.number().positive(),
    fp16FlopPerCycle: z.number().positive(),
    /** Dense FP16 tensor-core FLOP per cycle; null when the GPU has no tensor cores. */
    tensorFp16FlopPerCycle: z.number().positive().nullable(),
    /** DRAM bytes the GPU can stream per GPU cycle (limits bandwidth at low GPU clocks). */
    bytesPerCycle: z.number().positive(),
  }),
  emc: z.object({ freqsHz: ascendingHz, bytesPerCycle: z.number().positive() }),
  cpu: z.object({ freqsHz: ascendingHz, cores: z.number().int().positive(), clusters: z.string() }),
  modes: z
    .array(
      z.object({
        id: z.number().int().nonnegative(),
        name: z.string(),
        budgetW: z.number().positive().optional(),
        cpuHz: z.number().positive(),
        gpuMaxHz: z.number().positive(),
        emcHz: z.number().positive(),
        onlineCpus: z.number().int().positive(),
        /** True when the mode's caps are not from a retrieved source. */
        assumed: z.boolean().optional(),
      }),
    )
    .min(1),
  defaultMode: z.string(),
  power: z.object({
    gpu: z.object({
      vf: vfCurve,
      cdynF: z.number().positive(),
      leakW: z.number().nonnegative(),
      idleActivity: z.number().min(0).max(1),
      memoryBoundActivity: z.number().min(0).max(1),
    }),
    cpu: z.object({
      vf: vfCurve,
      cdynPerCoreF: z.number().positive(),
      leakPerCoreW: z.number().nonnegative(),
      idleActivity: z.number().min(0).max(1),
    }),
    dram: z.object({
      backgroundW: z.number().nonnegative(),
      backgroundWPerGHz: z.number().nonnegative(),
      energyPerBytePJ: z.number().positive(),
    }),
    soc: z.object({ baseW: z.number().nonnegative(), emcWPerGHz: z.number().nonnegative() }),
    cvW: z.number().nonnegative(),
    ioW: z.number().nonnegative(),
    moduleW: z.number().nonnegative(),
    conversionLoss: z.number().min(0).max(0.5),
  }),
  rails: z
    .array(
      z.object({
        name: z.string(),
        role: z.enum(['total', 'rail']),
        covers: z.string(),
        shared: z.boolean().optional(),
        components: z.array(componentName).min(1),
      }),
    )
    .min(1),
  envelopeW: z.number().positive(),
  thermal: z.object({
    ambientC: z.number(),
    rthCPerW: z.number().positive(),
    tauS: z.number().positive(),
    throttleC: z.number(),
    leakRefC: z.number(),
    leakDoublingC: z.number().positive(),
  }),
  governor: z.object({
    pollMs: z.number().positive(),
    blockWindowMs: z.number().nonnegative(),
    loadMax: z.number().positive(),
    loadTarget: z.number().positive(),
    bias: z.number().nonnegative(),
    smooth: z.number().nonnegative(),
    damp: z.number().min(0).max(10),
    source: z.string().optional(),
  }),
  /**
   * Stalls: a share of batches whose service time is multiplied by `factor` (page-cache misses,
   * background jobs, a framework's allocator). Absent on the nominal boards; shifted boards set it.
   */
  stalls: z.object({ share: z.number().min(0).max(0.5), factor: z.number().min(1) }).optional(),
  runtime: z.object({
    /** The runtime these costs are for (data/runtimes); absent: the fused engine the board files are calibrated for. */
    name: z.string().optional(),
    /** BatchNorm folded into the convolution (absent: true). False: one more kernel per convolution. */
    foldsBatchNorm: z.boolean().optional(),
    /** fp32 convolutions run in TF32 on tensor cores where the GPU has them (Ampere), as cuDNN does by default under PyTorch. */
    tf32Convolutions: z.boolean().optional(),
    /** Share of activations (ReLU, Clip, Sigmoid…) still run as their own kernel (absent: pointwiseKernelWeight). */
    activationKernelWeight: z.number().min(0).max(1).optional(),
    tensorEfficiency: z.number().positive().max(1),
    cudaEfficiency: z.number().positive().max(1),
    memoryEfficiency: z.number().positive().max(1),
    /** GPU cycles of ramp-up/tail per kernel at full width (small kernels fill the GPU poorly). */
    fillCycles: z.number().nonnegative(),
    /** Share of pointwise ops that still run as their own kernel / still move their bytes after fusion. */
    pointwiseKernelWeight: z.number().min(0).max(1),
    pointwiseByteWeight: z.number().min(0).max(1),
    /** CPU cycles to launch one kernel. */
    launchCycles: z.number().nonnegative(),
    /** GPU idle gap between dependent kernels, seconds. */
    kernelGapS: z.number().nonnegative(),
    /** Host work per batch that is not overlapped with the GPU (request handling, sync, copy-out). */
    hostCyclesPerBatch: z.number().nonnegative(),
    hostCyclesPerSample: z.number().nonnegative(),
  }),
});

export type BoardSpec = z.infer<typeof boardSchema>;
export type BoardMode = BoardSpec['modes'][number];

const cache = new Map<string, BoardSpec>();

/** Validate a board spec object (a data file's content). */
export function parseBoardSpec(data: unknown, origin = 'board spec'): BoardSpec {
  const r = boardSchema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new PolyThrottleError('INTERNAL', `${origin} is invalid: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}`.trim());
  }
  const b = r.data;
  for (const m of b.modes) {
    if (!b.cpu.freqsHz.includes(m.cpuHz) || !b.gpu.freqsHz.includes(m.gpuMaxHz) || !b.emc.freqsHz.includes(m.emcHz))
      throw new PolyThrottleError('INTERNAL', `${origin}: mode ${m.name} uses a clock that is not in the board's tables`);
  }
  if (!b.modes.some((m) => m.name === b.defaultMode))
    throw new PolyThrottleError('INTERNAL', `${origin}: default mode ${b.defaultMode} is not one of its modes`);
  return b;
}

/** Load a board spec by name (`orin-agx`, `tx2`, `xavier-nx`, `orin-nano`) or device spec (`sim:orin-agx`). */
export function loadBoard(name: string): BoardSpec {
  const n = simBoardName(name);
  const hit = cache.get(n);
  if (hit) return hit;
  const url = new URL(`../../../data/boards/${n}.json`, import.meta.url);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new PolyThrottleError('INTERNAL', `cannot read the board data file for ${n}`, { cause: e });
  }
  const spec = parseBoardSpec(raw, `data/boards/${n}.json`);
  cache.set(n, spec);
  return spec;
}

export function resolveBoard(board: string | BoardSpec): BoardSpec {
  return typeof board === 'string' ? loadBoard(board) : board;
}

/** Piecewise-linear voltage at a frequency (flat outside the given points). */
export function voltageAt(vf: readonly (readonly [number, number])[], hz: number): number {
  const first = vf[0]!;
  if (hz <= first[0]) return first[1];
  for (let i = 1; i < vf.length; i++) {
    const p = vf[i]!;
    if (hz <= p[0]) {
      const q = vf[i - 1]!;
      return q[1] + ((p[1] - q[1]) * (hz - q[0])) / (p[0] - q[0]);
    }
  }
  return vf[vf.length - 1]![1];
}

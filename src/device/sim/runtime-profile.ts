/**
 * Runtime profiles: the execution stack a model runs on (a fused TensorRT-style engine, ONNX
 * Runtime, eager PyTorch) as data (data/runtimes/*.json). A profile says what one operator costs
 * on the CPU (dispatch + launch) and on the GPU (the gap between kernels), what the stack fuses,
 * its default precision and how well its kernels use the GPU and memory, relative to the fused
 * engine each board file is calibrated for. Applying one to a board gives the board as that stack
 * sees it; the fused engine is the identity (the same board object back).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { badInput, PolyThrottleError } from '../../core/errors.ts';
import type { DType } from '../../core/workload-profile.ts';
import type { BoardSpec } from './board-spec.ts';

import { DEFAULT_RUNTIME, isRuntimeName, RUNTIMES } from './runtime-names.ts';

export { DEFAULT_RUNTIME, isRuntimeName, RUNTIMES, type RuntimeName } from './runtime-names.ts';

const runtimeSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  kind: z.enum(['fused-engine', 'graph-executor', 'eager']),
  defaultPrecision: z.enum(['fp32', 'fp16']),
  dispatch: z.object({
    /** CPU cycles per operator on top of the board's driver launch (framework dispatch). */
    cpuCyclesPerOp: z.number().nonnegative(),
    /** GPU idle seconds per kernel on top of the board's gap between dependent kernels. */
    gpuGapSPerKernel: z.number().nonnegative(),
    /** Host cycles per batch on top of the board's (input/output binding, synchronisation). */
    hostCyclesPerBatch: z.number().nonnegative(),
  }),
  fusion: z.object({
    /** BatchNorm folded into the convolution (false: one more kernel per convolution). */
    foldsBatchNorm: z.boolean(),
    /** Share of activations (ReLU, Clip, Sigmoid…) that run as their own kernel. */
    activationKernelWeight: z.number().min(0).max(1),
    /** Share of elementwise arithmetic (Add, Mul, Div, Erf…) that runs as its own kernel. */
    arithmeticKernelWeight: z.number().min(0).max(1),
    /** Share of the elementwise ops' bytes that still move through DRAM. */
    pointwiseByteWeight: z.number().min(0).max(1),
  }),
  kernels: z.object({
    /** × the board's achieved tensor-core and CUDA-core efficiency. */
    efficiency: z.number().positive().max(2),
    /** × the board's achieved memory efficiency. */
    memoryEfficiency: z.number().positive().max(2),
    /** fp32 convolutions in TF32 on Ampere tensor cores. */
    tf32Convolutions: z.boolean(),
  }),
  /** Where every constant comes from (key: the field's path). */
  sources: z.record(z.string(), z.string()),
});

export type RuntimeProfile = z.infer<typeof runtimeSchema>;

const cache = new Map<string, RuntimeProfile>();

/** Load a runtime profile by name (`tensorrt`, `onnxruntime`, `pytorch`). */
export function loadRuntime(name: string): RuntimeProfile {
  if (!isRuntimeName(name)) throw badInput(`unknown runtime '${name}'`, `known runtimes: ${RUNTIMES.join(', ')}`);
  const hit = cache.get(name);
  if (hit) return hit;
  const url = new URL(`../../../data/runtimes/${name}.json`, import.meta.url);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new PolyThrottleError('INTERNAL', `cannot read the runtime data file for ${name}`, { cause: e });
  }
  const r = runtimeSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new PolyThrottleError('INTERNAL', `data/runtimes/${name}.json is invalid: ${i?.path.join('.') ?? ''} ${i?.message ?? ''}`.trim());
  }
  cache.set(name, r.data);
  return r.data;
}

/** The precision a model runs in on this runtime unless one is given. */
export function runtimePrecision(runtime: string | RuntimeProfile): DType {
  return (typeof runtime === 'string' ? loadRuntime(runtime) : runtime).defaultPrecision;
}

/** The runtime a board spec was prepared for (the fused engine when none was applied). */
export function boardRuntime(board: BoardSpec): string {
  return board.runtime.name ?? DEFAULT_RUNTIME;
}

const applied = new WeakMap<BoardSpec, Map<string, BoardSpec>>();

/**
 * The board as this runtime uses it. The fused engine (whose costs the board files are calibrated
 * for) gives the same board object back, so every cache and every result stays as it was.
 */
export function applyRuntime(board: BoardSpec, runtime: string | RuntimeProfile): BoardSpec {
  const r = typeof runtime === 'string' ? loadRuntime(runtime) : runtime;
  const rt = board.runtime;
  const next: BoardSpec['runtime'] = {
    ...rt,
    name: r.name,
    launchCycles: rt.launchCycles + r.dispatch.cpuCyclesPerOp,
    kernelGapS: rt.kernelGapS + r.dispatch.gpuGapSPerKernel,
    hostCyclesPerBatch: rt.hostCyclesPerBatch + r.dispatch.hostCyclesPerBatch,
    foldsBatchNorm: r.fusion.foldsBatchNorm,
    tf32Convolutions: r.kernels.tf32Convolutions,
    activationKernelWeight: r.fusion.activationKernelWeight,
    pointwiseKernelWeight: r.fusion.arithmeticKernelWeight,
    pointwiseByteWeight: r.fusion.pointwiseByteWeight,
    tensorEfficiency: Math.min(1, rt.tensorEfficiency * r.kernels.efficiency),
    cudaEfficiency: Math.min(1, rt.cudaEfficiency * r.kernels.efficiency),
    memoryEfficiency: Math.min(1, rt.memoryEfficiency * r.kernels.memoryEfficiency),
  };
  const same =
    (rt.name ?? DEFAULT_RUNTIME) === r.name &&
    next.launchCycles === rt.launchCycles &&
    next.kernelGapS === rt.kernelGapS &&
    next.hostCyclesPerBatch === rt.hostCyclesPerBatch &&
    (rt.foldsBatchNorm ?? true) === r.fusion.foldsBatchNorm &&
    (rt.tf32Convolutions ?? false) === r.kernels.tf32Convolutions &&
    (rt.activationKernelWeight ?? rt.pointwiseKernelWeight) === r.fusion.activationKernelWeight &&
    rt.pointwiseKernelWeight === r.fusion.arithmeticKernelWeight &&
    rt.pointwiseByteWeight === r.fusion.pointwiseByteWeight &&
    next.tensorEfficiency === rt.tensorEfficiency &&
    next.cudaEfficiency === rt.cudaEfficiency &&
    next.memoryEfficiency === rt.memoryEfficiency;
  if (same) return board;
  if (rt.name !== undefined && rt.name !== DEFAULT_RUNTIME && rt.name !== r.name)
    throw badInput(`sim:${board.name} is already prepared for runtime ${rt.name}; apply ${r.name} to the board as loaded`);
  let m = applied.get(board);
  if (!m) {
    m = new Map();
    applied.set(board, m);
  }
  const hit = m.get(r.name);
  if (hit) return hit;
  const out: BoardSpec = { ...board, displayName: `${board.displayName} · ${r.displayName}`, runtime: next };
  m.set(r.name, out);
  return out;
}

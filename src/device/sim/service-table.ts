import type { WorkloadProfile } from '../../core/workload-profile.ts';
import type { BoardSpec } from './board-spec.ts';

/**
 * Per-operator roofline, aggregated per batch over every GPU table frequency. One table answers
 * "how long does one batch take at GPU clock i" for a fixed (batch, EMC clock, CPU clock), which is
 * what the governor simulation and the power model need.
 */

/** Ops that cost nothing after engine build (shape ops, folded BatchNorm). */
const FREE_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Shape', 'Constant', 'ConstantOfShape', 'Dropout', 'BatchNormalization']);
/** Convolutions (cuDNN's TF32 path in fp32 on Ampere). */
const CONV_OPS = new Set(['Conv', 'ConvTranspose']);
/** Ops that run as GEMM/implicit-GEMM kernels (tensor cores in fp16 where the GPU has them). */
const MATMUL_OPS = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Einsum', 'Attention', 'FusedMatMul', 'ConvInteger', 'MatMulInteger']);
/** Activations: fused into the producing kernel by an engine, their own kernel in an eager framework. */
const ACTIVATION_OPS = new Set(['Relu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu', 'Swish', 'Mish', 'PRelu']);
/** Elementwise ops the engine mostly fuses into a neighbouring kernel. */
const POINTWISE_OPS = new Set([
  ...ACTIVATION_OPS,
  'Gelu',
  'FastGelu',
  'Erf',
  'Mul',
  'Add',
  'Sub',
  'Div',
  'Pow',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'Cast',
  'Where',
  'Swish',
  'Mish',
  'PRelu',
]);

enum OpClass {
  Free = 0,
  MatMul = 1,
  Other = 2,
  /** A convolution in fp32 on a runtime that runs it in TF32 on tensor cores. */
  Tf32Conv = 3,
}

/** Struct-of-arrays view of a profile, built once per profile object. */
export interface PreparedProfile {
  readonly n: number;
  readonly cls: Uint8Array;
  readonly flopsPerSample: Float64Array;
  readonly weightBytes: Float64Array;
  readonly actBytesPerSample: Float64Array;
  readonly kernelWeight: Float64Array;
  readonly byteWeight: Float64Array;
  readonly kernels: number;
  readonly inputBytesPerSample: number;
  readonly preprocessCyclesPerSample: number;
  readonly fp16: boolean;
}

const prepared = new WeakMap<WorkloadProfile, WeakMap<BoardSpec, PreparedProfile>>();

export function prepareProfile(profile: WorkloadProfile, board: BoardSpec): PreparedProfile {
  let byBoard = prepared.get(profile);
  if (!byBoard) {
    byBoard = new WeakMap();
    prepared.set(profile, byBoard);
  }
  const hit = byBoard.get(board);
  if (hit) return hit;
  const rt = board.runtime;
  // An eager framework runs BatchNorm as its own kernel. Profiles of exported graphs have it folded
  // away already: then every convolution gets one back (read + write of its output, 2 FLOP/element).
  const unfoldBn = rt.foldsBatchNorm === false;
  const hasBn = unfoldBn && profile.ops.some((o) => o.opType === 'BatchNormalization');
  const ops = profile.ops.filter((o) => {
    const bytes = o.weightBytes + o.activationBytesReadPerSample + o.activationBytesWrittenPerSample;
    if (o.opType === 'BatchNormalization' && unfoldBn) return bytes > 0;
    return !FREE_OPS.has(o.opType) && (o.flopsPerSample > 0 || bytes > 0);
  });
  const extraBn = unfoldBn && !hasBn ? ops.filter((o) => o.opType === 'Conv' || o.opType === 'ConvTranspose') : [];
  const n = ops.length + extraBn.length;
  const cls = new Uint8Array(n);
  const flops = new Float64Array(n);
  const wb = new Float64Array(n);
  const ab = new Float64Array(n);
  const kw = new Float64Array(n);
  const bw = new Float64Array(n);
  const activationWeight = rt.activationKernelWeight ?? rt.pointwiseKernelWeight;
  // TF32 needs tensor cores that take it (Ampere and later; the boards' Volta tensor cores do not).
  const tf32Conv = rt.tf32Convolutions === true && profile.dtype === 'fp32' && board.gpu.tensorFp16FlopPerCycle !== null && board.gpu.arch === 'Ampere';
  let kernels = 0;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    const pointwise = POINTWISE_OPS.has(o.opType);
    cls[i] = MATMUL_OPS.has(o.opType) && o.macsPerSample > 0 ? (tf32Conv && CONV_OPS.has(o.opType) ? OpClass.Tf32Conv : OpClass.MatMul) : OpClass.Other;
    flops[i] = o.modelled ? o.flopsPerSample : 0;
    wb[i] = o.weightBytes;
    ab[i] = o.activationBytesReadPerSample + o.activationBytesWrittenPerSample;
    kw[i] = pointwise ? (ACTIVATION_OPS.has(o.opType) ? activationWeight : rt.pointwiseKernelWeight) : 1;
    bw[i] = pointwise ? rt.pointwiseByteWeight : 1;
    kernels += kw[i]!;
  }
  for (let j = 0; j < extraBn.length; j++) {
    const o = extraBn[j]!;
    const i = ops.length + j;
    const outBytes = o.activationBytesWrittenPerSample;
    const elemBytes = profile.dtype === 'fp16' ? 2 : 4;
    cls[i] = OpClass.Other;
    flops[i] = (2 * outBytes) / elemBytes;
    wb[i] = 0;
    ab[i] = 2 * outBytes;
    kw[i] = 1;
    bw[i] = 1;
    kernels += 1;
  }
  const p: PreparedProfile = {
    n,
    cls,
    flopsPerSample: flops,
    weightBytes: wb,
    actBytesPerSample: ab,
    kernelWeight: kw,
    byteWeight: bw,
    kernels,
    inputBytesPerSample: profile.inputBytesPerSample,
    preprocessCyclesPerSample: profile.preprocessCyclesPerSample,
    fp16: profile.dtype === 'fp16',
  };
  byBoard.set(board, p);
  return p;
}

/** One batch at one (batch, EMC, CPU) point, for every GPU table frequency (index i). */
export interface ServiceTable {
  readonly batch: number;
  readonly emcHz: number;
  readonly cpuHz: number;
  /** Wall time of one batch on the GPU (launch-limited or GPU-limited), seconds. */
  readonly inferS: Float64Array;
  /** Fraction of inferS the GPU engine is busy (what the governor's load counter sees). */
  readonly busyFrac: Float64Array;
  /** Mean switching activity of the GPU while busy (1 = compute-bound, lower when memory-bound). */
  readonly activity: Float64Array;
  /** Share of GPU-busy time spent in compute-bound kernels. */
  readonly computeShare: Float64Array;
  /** DRAM bytes moved per batch. */
  readonly bytes: number;
  /** CPU time the launching thread is busy per batch, seconds. */
  readonly launchS: number;
  /** Non-overlapped host time per batch (request handling, sync, copy-out), seconds. */
  readonly hostS: number;
  /** CPU pre-processing per batch, core-seconds (a pipelined stage beside the GPU). */
  readonly preprocessCoreS: number;
  /** Pre-processing wall time of one sample (what a single request waits for), seconds. */
  readonly preprocessSampleS: number;
  readonly kernels: number;
}

export function computeServiceTable(board: BoardSpec, p: PreparedProfile, batch: number, emcHz: number, cpuHz: number): ServiceTable {
  const g = board.gpu;
  const rt = board.runtime;
  const freqs = g.freqsHz;
  const nf = freqs.length;
  const peakMat = p.fp16 ? (g.tensorFp16FlopPerCycle ?? g.fp16FlopPerCycle) : g.fp32FlopPerCycle;
  const effMat = p.fp16 && g.tensorFp16FlopPerCycle ? rt.tensorEfficiency : rt.cudaEfficiency;
  const peakOther = p.fp16 ? g.fp16FlopPerCycle : g.fp32FlopPerCycle;
  const memAct = board.power.gpu.memoryBoundActivity;
  const emcBw = board.emc.bytesPerCycle * emcHz * rt.memoryEfficiency;

  // Per-op batch quantities (independent of the GPU clock).
  let bytes = 2 * p.inputBytesPerSample * batch; // staging copy of the input (read + write)
  const n = p.n;
  const fl = new Float64Array(n);
  const by = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    fl[k] = batch * p.flopsPerSample[k]!;
    const b = p.byteWeight[k]! * (p.weightBytes[k]! + batch * p.actBytesPerSample[k]!);
    by[k] = b;
    bytes += b;
  }
  const launchS = (p.kernels * rt.launchCycles) / cpuHz;
  const firstLaunchS = rt.launchCycles / cpuHz;

  const inferS = new Float64Array(nf);
  const busyFrac = new Float64Array(nf);
  const activity = new Float64Array(nf);
  const computeShare = new Float64Array(nf);
  for (let i = 0; i < nf; i++) {
    const f = freqs[i]!;
    const bw = Math.min(emcBw, g.bytesPerCycle * f * rt.memoryEfficiency);
    const matRate = peakMat * f * effMat;
    // Dense TF32 on Ampere tensor cores: half the FP16 rate.
    const tf32Rate = ((g.tensorFp16FlopPerCycle ?? g.fp32FlopPerCycle) / 2) * f * rt.tensorEfficiency;
    const otherRate = peakOther * f * rt.cudaEfficiency;
    const fillS = rt.fillCycles / f;
    let gpuS = 0;
    let actS = 0;
    let compS = 0;
    for (let k = 0; k < n; k++) {
      const c = p.cls[k];
      const tc = fl[k]! / (c === OpClass.MatMul ? matRate : c === OpClass.Tf32Conv ? tf32Rate : otherRate);
      const tm = by[k]! / bw;
      const kwk = p.kernelWeight[k]!;
      const core = Math.max(tc, tm);
      const t = core + kwk * (fillS + rt.kernelGapS);
      gpuS += t;
      // Switching activity: full while compute-limited, lower while waiting on memory, lowest in ramps.
      const a = core > 0 ? memAct + ((1 - memAct) * tc) / core : memAct;
      actS += core * a + kwk * fillS * memAct;
      if (tc >= tm) compS += core;
    }
    const wall = Math.max(gpuS, launchS) + firstLaunchS;
    inferS[i] = wall;
    busyFrac[i] = gpuS / wall;
    activity[i] = gpuS > 0 ? actS / gpuS : memAct;
    computeShare[i] = gpuS > 0 ? compS / gpuS : 0;
  }
  const hostS = (rt.hostCyclesPerBatch + rt.hostCyclesPerSample * batch) / cpuHz;
  const sampleS = p.preprocessCyclesPerSample / cpuHz;
  return {
    batch,
    emcHz,
    cpuHz,
    inferS,
    busyFrac,
    activity,
    computeShare,
    bytes,
    launchS,
    hostS,
    preprocessCoreS: sampleS * batch,
    preprocessSampleS: sampleS,
    kernels: p.kernels,
  };
}

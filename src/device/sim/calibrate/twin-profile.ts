/**
 * A calibrated twin profile: a few interpretable coefficients, fitted per board × runtime × model
 * from measured points, that turn the nominal twin into the board as measured. The coefficients
 * are of the same kind as a shifted board's (perturbation.ts), plus static power, so a calibration
 * from a shifted twin's points can be checked against the shift it recovers.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { badInput } from '../../../core/errors.ts';
import type { TwinProfileRecord } from '../../../core/tuning-run.ts';
import type { BoardSpec } from '../board-spec.ts';
import { NOMINAL, shiftBoard } from '../perturbation.ts';
import { applyRuntime, isRuntimeName, RUNTIMES } from '../runtime-profile.ts';

/** Multipliers on the nominal twin (1 = as the board file and runtime profile say). */
export interface TwinCoefficients {
  /** × CPU dispatch + launch cycles per kernel and the GPU gap between kernels (per-op overhead). */
  readonly launchOverhead: number;
  /** × achieved tensor-core and CUDA-core efficiency. */
  readonly computeEfficiency: number;
  /** × achieved memory bandwidth. */
  readonly memoryEfficiency: number;
  /** × GPU and CPU switched capacitance (dynamic power). */
  readonly dynamicPower: number;
  /** × every static part: leakage, SoC base, DRAM background, CV, I/O and module power. */
  readonly staticPower: number;
}

export const COEFFICIENT_NAMES = ['launchOverhead', 'computeEfficiency', 'memoryEfficiency', 'dynamicPower', 'staticPower'] as const;

export const UNIT_COEFFICIENTS: TwinCoefficients = { launchOverhead: 1, computeEfficiency: 1, memoryEfficiency: 1, dynamicPower: 1, staticPower: 1 };

const positive = z.number().positive().finite();
const errorSummary = z.object({ fitMedian: z.number(), looMedian: z.number(), looMax: z.number() });

const twinProfileSchema = z.object({
  format: z.literal('polythrottle-twin-profile'),
  version: z.literal(1),
  board: z.string(),
  runtime: z.string().refine(isRuntimeName, `runtime must be one of ${RUNTIMES.join(', ')}`),
  model: z.string(),
  dtype: z.enum(['fp32', 'fp16']),
  coefficients: z.object({
    launchOverhead: positive,
    computeEfficiency: positive,
    memoryEfficiency: positive,
    dynamicPower: positive,
    staticPower: positive,
  }),
  fit: z.object({
    points: z.number().int().positive(),
    source: z.string(),
    rateRps: z.number().positive().optional(),
    /** Relative errors |predicted / measured − 1| of the fit, and leave-one-out. */
    latency: errorSummary,
    power: errorSummary,
  }),
  createdAt: z.string(),
});

export type TwinProfile = z.infer<typeof twinProfileSchema>;

/** Validate a parsed twin profile; `what` names it in the one-line error. */
export function parseTwinProfile(value: unknown, what = 'twin profile'): TwinProfile {
  const r = twinProfileSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    const at = i && i.path.length > 0 ? ` at ${i.path.join('.')}` : '';
    throw badInput(`${what} is not a twin profile${at}: ${i?.message ?? 'invalid'}`, 'give the file that `polythrottle calibrate --out` wrote');
  }
  return r.data;
}

/** Read a twin profile file (what `polythrottle calibrate --out` writes). */
export function loadTwinProfile(path: string): TwinProfile {
  return loadTwinProfileFile(path).profile;
}

/** A twin profile file with what a run records of it (path, content hash, coefficients). */
export function loadTwinProfileFile(path: string): { profile: TwinProfile; record: TwinProfileRecord } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw badInput(`cannot read twin profile ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, e);
  }
  const profile = parseTwinProfileText(bytes.toString('utf8'), path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { profile, record: { path, sha256, model: profile.model, dtype: profile.dtype, coefficients: { ...profile.coefficients } } };
}

function parseTwinProfileText(text: string, path: string): TwinProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badInput(`twin profile ${path} is not JSON: ${(e as Error).message}`, undefined, e);
  }
  return parseTwinProfile(value, path);
}

export function writeTwinProfile(path: string, p: TwinProfile): void {
  writeFileSync(path, `${JSON.stringify(p, null, 2)}\n`);
}

/** Coefficients as a run records them, checked: every one present, positive and finite. */
export function recordedCoefficients(c: Readonly<Record<string, unknown>>, what = 'the recorded twin profile'): TwinCoefficients {
  const out: Record<string, number> = {};
  for (const n of COEFFICIENT_NAMES) {
    const v = c[n];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw badInput(`${what}: coefficient ${n} must be a positive number, got ${String(v)}`);
    out[n] = v;
  }
  return out as unknown as TwinCoefficients;
}

/** The board with these coefficients applied (a new spec object each call; see applyTwinProfile for a cached one). */
export function coefficientsBoard(board: BoardSpec, c: TwinCoefficients, label = 'calibrated'): BoardSpec {
  const shifted = shiftBoard(board, {
    ...NOMINAL,
    name: label,
    launchOverhead: c.launchOverhead,
    gpuEfficiency: c.computeEfficiency,
    dynamicPower: c.dynamicPower,
    memoryBandwidth: c.memoryEfficiency,
  });
  if (c.staticPower === 1) return shifted;
  const s = c.staticPower;
  const pw = shifted.power;
  return {
    ...shifted,
    power: {
      ...pw,
      gpu: { ...pw.gpu, leakW: pw.gpu.leakW * s },
      cpu: { ...pw.cpu, leakPerCoreW: pw.cpu.leakPerCoreW * s },
      dram: { ...pw.dram, backgroundW: pw.dram.backgroundW * s, backgroundWPerGHz: pw.dram.backgroundWPerGHz * s },
      soc: { baseW: pw.soc.baseW * s, emcWPerGHz: pw.soc.emcWPerGHz * s },
      cvW: pw.cvW * s,
      ioW: pw.ioW * s,
      moduleW: pw.moduleW * s,
    },
  };
}

const applied = new WeakMap<BoardSpec, Map<string, BoardSpec>>();

/**
 * The board as the twin profile calibrated it: its runtime applied, then its coefficients. The
 * board must be the one the profile was fitted on (as loaded, without a runtime). Cached, so the
 * same board and profile give the same spec object (the twin's caches are per spec object).
 */
export function applyTwinProfile(board: BoardSpec, tp: TwinProfile): BoardSpec {
  if (board.name !== tp.board) throw badInput(`the twin profile is for sim:${tp.board}, not sim:${board.name}`);
  return applyTwinCoefficients(board, tp.runtime, tp.coefficients, tp.model);
}

/**
 * The board (as loaded) with a runtime and calibrated coefficients applied, e.g. as a run recorded
 * them; cached like applyTwinProfile.
 */
export function applyTwinCoefficients(board: BoardSpec, runtime: string, coefficients: TwinCoefficients, model: string): BoardSpec {
  const key = JSON.stringify([runtime, COEFFICIENT_NAMES.map((n) => coefficients[n]), model]);
  let m = applied.get(board);
  if (!m) {
    m = new Map();
    applied.set(board, m);
  }
  const hit = m.get(key);
  if (hit) return hit;
  const withRuntime = applyRuntime(board, runtime);
  const b = coefficientsBoard(withRuntime, coefficients);
  const out: BoardSpec = { ...b, displayName: `${withRuntime.displayName} [calibrated: ${model}]` };
  m.set(key, out);
  return out;
}

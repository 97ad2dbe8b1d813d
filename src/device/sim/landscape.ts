import { writeFileSync } from 'node:fs';
import { DEFAULT_BATCH_SIZES, configKey, maxClocksConfig } from '../../core/config.ts';
import { PolyThrottleError, badInput } from '../../core/errors.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from './board-spec.ts';
import { type Evaluation, evaluateConfig } from './evaluate.ts';
import { hash32, mulberry32 } from '../../numerics/random.ts';
import { noisyWindow } from './trial-runner.ts';

export interface LandscapeOptions {
  readonly board: string | BoardSpec;
  readonly profile: WorkloadProfile;
  readonly batchSizes?: readonly number[];
  /** Fixed CPU clock (the default power mode's CPU clock by default: the maximum in MAXN). */
  readonly cpuHz?: number;
  /** Sweep every CPU table frequency too. */
  readonly cpu?: 'all';
  readonly rateRps?: number;
  /** Tail quantile of the tail-latency column (0.99 by default). */
  readonly quantile?: number;
  /** Relative measurement noise per row (0 by default: the exact landscape). */
  readonly noise?: number;
  readonly seed?: number;
  /** Called every few hundred rows with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** One configuration of the grid; keys are the CSV columns. */
export interface LandscapeRow {
  readonly device: string;
  readonly model: string;
  readonly cpu_hz: number;
  readonly gpu_min_hz: number;
  readonly gpu_max_hz: number;
  readonly emc_hz: number;
  readonly batch: number;
  readonly latency_p50_ms: number;
  /** Request latency at the landscape's `quantile` (p99 unless asked otherwise). */
  readonly latency_p99_ms: number;
  readonly energy_per_query_j: number;
  readonly power_w: number;
  readonly throughput_qps: number;
}

export interface Landscape {
  readonly device: string;
  readonly model: string;
  readonly quantile: number;
  readonly rateRps?: number;
  readonly noise: number;
  readonly rows: readonly LandscapeRow[];
}

export const LANDSCAPE_COLUMNS = [
  'device',
  'model',
  'cpu_hz',
  'gpu_min_hz',
  'gpu_max_hz',
  'emc_hz',
  'batch',
  'latency_p50_ms',
  'latency_p99_ms',
  'energy_per_query_j',
  'power_w',
  'throughput_qps',
] as const;

/** Number of configurations a landscape will have. */
export function landscapeSize(board: BoardSpec, batchSizes: readonly number[], cpuCount: number): number {
  const g = board.gpu.freqsHz.length;
  return cpuCount * batchSizes.length * board.emc.freqsHz.length * ((g * (g + 1)) / 2);
}

/**
 * Every configuration of the grid (GPU min ≤ GPU max × EMC × batch, CPU fixed or swept) with its
 * latency, energy per query, power and throughput.
 */
export function computeLandscape(o: LandscapeOptions): Landscape {
  const board = resolveBoard(o.board);
  const batches = o.batchSizes ?? DEFAULT_BATCH_SIZES;
  if (batches.length === 0 || batches.some((b) => !Number.isInteger(b) || b < 1))
    throw badInput(`batch sizes must be positive integers, got ${batches.join(',')}`);
  const cpuTable = board.cpu.freqsHz;
  if (o.cpu === 'all' && o.cpuHz !== undefined) throw badInput('give either a fixed CPU clock or cpu: all, not both');
  if (o.cpuHz !== undefined && !cpuTable.includes(o.cpuHz))
    throw badInput(`cpu clock ${o.cpuHz} Hz is not in sim:${board.name}'s table`, `CPU table (Hz): ${cpuTable.join(', ')}`);
  const bootCpu = board.modes.find((m) => m.name === board.defaultMode)!.cpuHz;
  const cpus = o.cpu === 'all' ? cpuTable : [o.cpuHz ?? bootCpu];
  const q = o.quantile ?? 0.99;
  const noise = o.noise ?? 0;
  if (!(noise >= 0 && noise < 1)) throw badInput(`noise must be between 0 and 1, got ${noise}`);
  const seed = o.seed ?? 1;
  const g = board.gpu.freqsHz;
  const device = `sim:${board.name}`;
  const total = landscapeSize(board, batches, cpus.length);
  const rows: LandscapeRow[] = [];
  for (const cpuHz of cpus)
    for (const batch of batches)
      for (const emcHz of board.emc.freqsHz)
        for (let i = 0; i < g.length; i++)
          for (let j = i; j < g.length; j++) {
            const config = { cpuHz, gpuMinHz: g[i]!, gpuMaxHz: g[j]!, emcHz, batch };
            const e = evaluateConfig(board, o.profile, config, { rateRps: o.rateRps, quantile: q });
            let p50 = e.latencyP50Ms;
            let tail = e.latencyTailMs;
            let thr = e.throughputQps;
            let power = e.powerW;
            if (noise > 0) {
              const w = noisyWindow(e, noise, mulberry32(hash32(seed, configKey(config))), o.rateRps);
              p50 = w.p50;
              tail = w.tail;
              thr = w.thr;
              power = w.power;
            }
            if (!(power > 0 && thr > 0)) throw new PolyThrottleError('INTERNAL', `twin produced no power or throughput at ${configKey(config)}`);
            rows.push({
              device,
              model: o.profile.model,
              cpu_hz: cpuHz,
              gpu_min_hz: g[i]!,
              gpu_max_hz: g[j]!,
              emc_hz: emcHz,
              batch,
              latency_p50_ms: p50,
              latency_p99_ms: tail,
              energy_per_query_j: power / thr,
              power_w: power,
              throughput_qps: thr,
            });
            if (o.onProgress && rows.length % 500 === 0) o.onProgress(rows.length, total);
          }
  o.onProgress?.(rows.length, total);
  return { device, model: o.profile.model, quantile: q, ...(o.rateRps !== undefined ? { rateRps: o.rateRps } : {}), noise, rows };
}

/**
 * The landscape's lowest energy per query, and beside it the default at that row's batch size and CPU
 * clock: every other clock at its maximum (what the saving is measured against).
 */
export function landscapeOptimum(
  board: string | BoardSpec,
  profile: WorkloadProfile,
  l: Landscape,
): { readonly best: LandscapeRow; readonly allMax: Evaluation } {
  const spec = resolveBoard(board);
  if (l.rows.length === 0) throw badInput('the landscape has no rows');
  const best = l.rows.reduce((a, r) => (r.energy_per_query_j < a.energy_per_query_j ? r : a));
  // every GPU and memory clock at its maximum, at the optimum's CPU clock and batch size
  const maxClocks = maxClocksConfig({ gpuHz: spec.gpu.freqsHz, emcHz: spec.emc.freqsHz, batch: [best.batch] }, best.batch);
  const allMax = evaluateConfig(
    spec,
    profile,
    { ...maxClocks, cpuHz: best.cpu_hz },
    {
      ...(l.rateRps !== undefined ? { rateRps: l.rateRps } : {}),
      quantile: l.quantile,
    },
  );
  return { best, allMax };
}

/** Name of the tail-latency column for a quantile: latency_p99_ms, latency_p95_ms, latency_p99.9_ms… */
export function tailColumn(q: number): string {
  return `latency_p${Number((q * 100).toFixed(3))}_ms`;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString());
const csvCell = (v: string | number) => {
  if (typeof v === 'number') return fmt(v);
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
};

/** The landscape as CSV text (header + one line per row). */
export function landscapeCsv(l: Landscape): string {
  const header = LANDSCAPE_COLUMNS.map((c) => (c === 'latency_p99_ms' ? tailColumn(l.quantile) : c));
  const lines = [header.join(',')];
  for (const r of l.rows) lines.push(LANDSCAPE_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

export function writeLandscapeCsv(path: string, l: Landscape): void {
  try {
    writeFileSync(path, landscapeCsv(l));
  } catch (e) {
    throw badInput(`cannot write ${path}: ${(e as Error).message}`, undefined, e);
  }
}

/**
 * Reading a landscape CSV (the `landscape` command's columns: device, model, cpu_hz, gpu_min_hz,
 * gpu_max_hz, emc_hz, batch, latency_p50_ms, latency_p<q>_ms, energy_per_query_j, power_w,
 * throughput_qps) into rows a replay device can serve. Blank clock cells mean the knob is absent.
 */
import { csvLines, splitCsvLine } from '../../core/csv.ts';
import { readFileSync } from 'node:fs';
import { configKey } from '../../core/config.ts';
import { badInput } from '../../core/errors.ts';
import type { LandscapeRow } from '../sim/landscape.ts';

/** A landscape row as a replay reads it: the CSV's columns, where a clock column may be absent (the board's boot value). */
export type ReplayRow = Omit<LandscapeRow, 'device' | 'model' | 'cpu_hz' | 'gpu_min_hz' | 'gpu_max_hz' | 'emc_hz'> &
  Partial<Pick<LandscapeRow, 'cpu_hz' | 'gpu_min_hz' | 'gpu_max_hz' | 'emc_hz'>>;

export interface ReplayLandscape {
  readonly path: string;
  /** The device column of the first row (e.g. sim:tx2, or a real board's id). */
  readonly device: string;
  readonly model: string;
  readonly tailQuantile: number;
  readonly rows: readonly ReplayRow[];
}

const REQUIRED = ['model', 'batch', 'latency_p50_ms', 'energy_per_query_j', 'power_w', 'throughput_qps'] as const;
const CLOCKS = ['cpu_hz', 'gpu_min_hz', 'gpu_max_hz', 'emc_hz'] as const;

export function parseReplayLandscape(text: string, path: string, model?: string): ReplayLandscape {
  const lines = csvLines(text);
  if (lines.length === 0) throw badInput(`${path} is empty`, 'make one with `polythrottle landscape --out grid.csv`');
  const header = splitCsvLine(lines[0]!).map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  for (const c of REQUIRED) if (col(c) < 0) throw badInput(`${path} has no column "${c}"`, 'expected the columns `polythrottle landscape` writes');
  const tailIdx = header.findIndex((h) => /^latency_p[\d.]+_ms$/.test(h) && h !== 'latency_p50_ms');
  if (tailIdx < 0) throw badInput(`${path} has no tail-latency column (latency_p99_ms or another latency_p<q>_ms)`);
  const tailQuantile = Number(/^latency_p([\d.]+)_ms$/.exec(header[tailIdx]!)![1]) / 100;
  const rows: ReplayRow[] = [];
  const seen = new Set<string>();
  let device = '';
  let firstModel = '';
  for (let ln = 1; ln < lines.length; ln++) {
    const c = splitCsvLine(lines[ln]!);
    const at = (i: number) => (c[i] ?? '').trim();
    const rowModel = at(col('model'));
    if (model !== undefined && rowModel !== model) continue;
    if (firstModel === '') firstModel = rowModel;
    else if (rowModel !== firstModel) throw badInput(`${path} holds several models (${firstModel}, ${rowModel})`, 'choose one with --model');
    if (device === '' && col('device') >= 0) device = at(col('device'));
    const num = (i: number, name: string, optional: boolean): number | undefined => {
      const s = i < 0 ? '' : at(i);
      if (s === '' && optional) return undefined;
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw badInput(`${path} line ${ln + 1}: ${name} is "${s}", not a number`);
      return v;
    };
    const batch = num(col('batch'), 'batch', false)!;
    if (!Number.isInteger(batch) || batch < 1) throw badInput(`${path} line ${ln + 1}: batch must be a positive integer, got ${batch}`);
    const clocks: Partial<Record<(typeof CLOCKS)[number], number>> = {};
    for (const k of CLOCKS) {
      const v = num(col(k), k, true);
      if (v !== undefined) clocks[k] = v;
    }
    const row: ReplayRow = {
      ...clocks,
      batch,
      latency_p50_ms: num(col('latency_p50_ms'), 'latency_p50_ms', false)!,
      latency_p99_ms: num(tailIdx, header[tailIdx]!, false)!,
      energy_per_query_j: num(col('energy_per_query_j'), 'energy_per_query_j', false)!,
      power_w: num(col('power_w'), 'power_w', false)!,
      throughput_qps: num(col('throughput_qps'), 'throughput_qps', false)!,
    };
    if (!(row.energy_per_query_j > 0 && row.latency_p99_ms > 0 && row.throughput_qps > 0 && row.power_w > 0))
      throw badInput(`${path} line ${ln + 1}: latency, energy, power and throughput must be positive`);
    const key = configKey(replayConfig(row));
    if (seen.has(key)) throw badInput(`${path} line ${ln + 1}: configuration ${key} appears twice`);
    seen.add(key);
    rows.push(row);
  }
  if (rows.length === 0) throw badInput(model === undefined ? `${path} has a header but no rows` : `${path} has no rows for model "${model}"`);
  return { path, device: device || 'landscape', model: firstModel, tailQuantile, rows };
}

/** Read and parse a landscape CSV (only the rows of `model` when given). */
export function readLandscapeCsv(path: string, model?: string): ReplayLandscape {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw badInput(`cannot read landscape file ${path}: ${(e as Error).message}`, 'make one with `polythrottle landscape --out grid.csv`', e);
  }
  return parseReplayLandscape(text, path, model);
}

/** The configuration a row describes. */
export function replayConfig(r: ReplayRow) {
  return { cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: r.batch };
}

import { csvLines, splitCsvLine } from '../core/csv.ts';
import { readFile } from 'node:fs/promises';
import { readDeviceSpec } from '../device/device-spec.ts';
import { badInput } from '../core/errors.ts';
import { LANDSCAPE_COLUMNS } from '../device/sim/landscape.ts';

/**
 * One configuration of a device twin's exhaustive grid, as `polythrottle landscape` exports it.
 * Frequencies in Hz; absent knobs (a device without that clock) are undefined.
 */
export interface LandscapeRow {
  readonly device: string;
  readonly model: string;
  readonly cpuHz: number | undefined;
  readonly gpuMinHz: number | undefined;
  readonly gpuMaxHz: number | undefined;
  readonly emcHz: number | undefined;
  readonly batch: number;
  readonly latencyP50Ms: number;
  /** Request latency at `tailQuantile` (column latency_p99_ms, or latency_p95_ms… for another quantile). */
  readonly latencyTailMs: number;
  readonly tailQuantile: number;
  readonly energyPerQueryJ: number;
  readonly powerW: number;
  readonly throughputQps: number;
}

/** The CSV columns `landscapeCsv` writes besides the tail-latency one, which is latency_p<q>_ms (latency_p99_ms by default). */
type FixedColumn = Exclude<(typeof LANDSCAPE_COLUMNS)[number], 'latency_p99_ms'>;
const COLUMNS = LANDSCAPE_COLUMNS.filter((c): c is FixedColumn => c !== 'latency_p99_ms');
type Column = FixedColumn | 'tail';

/** Parse a landscape CSV (header line + one configuration per line); `what` names the source in errors. */
export function parseLandscapeCsv(text: string, what = 'landscape CSV'): LandscapeRow[] {
  const lines = csvLines(text);
  const header = lines[0] === undefined ? undefined : splitCsvLine(lines[0]).map((h) => h.trim());
  if (!header) throw badInput(`${what} is empty`);
  const at = new Map<Column, number>();
  for (const c of COLUMNS) {
    const i = header.indexOf(c);
    if (i < 0) throw badInput(`${what} has no column "${c}"`, `expected columns: ${LANDSCAPE_COLUMNS.join(',')}`);
    at.set(c, i);
  }
  const tailIdx = header.findIndex((h) => /^latency_p[\d.]+_ms$/.test(h) && h !== 'latency_p50_ms');
  if (tailIdx < 0) throw badInput(`${what} has no tail-latency column (latency_p99_ms or another latency_p<q>_ms)`);
  at.set('tail', tailIdx);
  const tailQuantile = Number(/^latency_p([\d.]+)_ms$/.exec(header[tailIdx]!)![1]) / 100;
  const rows: LandscapeRow[] = [];
  for (let ln = 1; ln < lines.length; ln++) {
    const cells = splitCsvLine(lines[ln]!);
    const cell = (c: Column) => (cells[at.get(c)!] ?? '').trim();
    const num = (c: Column, optional: boolean): number | undefined => {
      const s = cell(c);
      if (s === '' && optional) return undefined;
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw badInput(`${what} line ${ln + 1}: ${c === 'tail' ? header[tailIdx] : c} is "${s}", not a number`);
      return v;
    };
    const batch = num('batch', false)!;
    if (!Number.isInteger(batch) || batch < 1) throw badInput(`${what} line ${ln + 1}: batch must be a positive integer, got ${batch}`);
    rows.push({
      device: cell('device'),
      model: cell('model'),
      cpuHz: num('cpu_hz', true),
      gpuMinHz: num('gpu_min_hz', true),
      gpuMaxHz: num('gpu_max_hz', true),
      emcHz: num('emc_hz', true),
      batch,
      latencyP50Ms: num('latency_p50_ms', false)!,
      latencyTailMs: num('tail', false)!,
      tailQuantile,
      energyPerQueryJ: num('energy_per_query_j', false)!,
      powerW: num('power_w', false)!,
      throughputQps: num('throughput_qps', false)!,
    });
  }
  if (rows.length === 0) throw badInput(`${what} has a header but no rows`);
  return rows;
}

export async function readLandscapeCsv(path: string): Promise<LandscapeRow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw badInput(`cannot read landscape file ${path}: ${(e as Error).message}`, 'make one with `polythrottle landscape --out grid.csv`', e);
  }
  return parseLandscapeCsv(text, path);
}

/**
 * The rows of one model (and of one device when the CSV holds several). A CSV without the model is an
 * error rather than a silently wrong chart.
 */
export function landscapeFor(rows: readonly LandscapeRow[], model: string, deviceId?: string): LandscapeRow[] {
  const sameModel = rows.filter((r) => r.model === model);
  if (sameModel.length === 0) {
    const models = [...new Set(rows.map((r) => r.model))].join(', ');
    throw badInput(`the landscape has no rows for model "${model}" (it has: ${models})`);
  }
  const devices = new Set(sameModel.map((r) => r.device));
  if (devices.size <= 1 || deviceId === undefined) return sameModel;
  const asked = readDeviceSpec(deviceId);
  const sameDevice = sameModel.filter((r) => r.device === deviceId || (asked?.kind === 'sim' && asked.board === r.device));
  if (sameDevice.length === 0) throw badInput(`the landscape holds several devices (${[...devices].join(', ')}) and none is "${deviceId}"`);
  return sameDevice;
}

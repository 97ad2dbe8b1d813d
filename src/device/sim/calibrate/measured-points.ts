/**
 * Measured points a calibration fits: configuration, latency (p50) and board power, read from a
 * `tune --json` run, a measured `landscape` CSV, or a plain CSV of configuration + latency + power.
 * Every defect is a one-line BAD_INPUT naming the file and the row.
 */
import { splitCsvLine } from '../../../core/csv.ts';
import { readFileSync } from 'node:fs';
import type { Config } from '../../../core/config.ts';
import { badInput } from '../../../core/errors.ts';

export interface MeasuredPoint {
  readonly config: Config;
  /** Median request latency, ms (p50 of a run's trial, a landscape's latency_p50_ms, a CSV's latency). */
  readonly latencyMs: number;
  /** Mean board input power, W. */
  readonly powerW: number;
}

export type PointsFormat = 'run' | 'landscape' | 'csv';

export interface MeasuredPoints {
  readonly format: PointsFormat;
  readonly points: readonly MeasuredPoint[];
  /** The model the points name (a run's model, the CSV's model column), when they name one. */
  readonly model?: string;
  /** Precision a run recorded. */
  readonly dtype?: 'fp32' | 'fp16';
  /** The device the points name (`sim:orin-agx`, `jetson`…), when they name one. */
  readonly device?: string;
  /** The runtime a run recorded. */
  readonly runtime?: string;
  /** A run's arrival rate. */
  readonly rateRps?: number;
}

const positiveNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Points from a parsed `tune --json` run: every valid trial. */
export function pointsFromRun(run: unknown, what: string): MeasuredPoints {
  const r = run as {
    model?: unknown;
    modelSpec?: { dtype?: unknown };
    device?: { id?: unknown };
    runtime?: unknown;
    rateRps?: unknown;
    trials?: unknown;
  };
  if (typeof r !== 'object' || r === null || !Array.isArray(r.trials) || typeof r.model !== 'string')
    throw badInput(`${what} is not a tuning run (no model or trials)`, 'give the JSON that `polythrottle tune --json` prints');
  const points: MeasuredPoint[] = [];
  r.trials.forEach((t: { config?: Config; measurement?: { valid?: boolean; latencyP50Ms?: unknown; powerW?: unknown } }, i: number) => {
    const m = t.measurement;
    if (!t.config || !m || m.valid === false) return;
    if (!positiveNumber(m.latencyP50Ms) || !positiveNumber(m.powerW))
      throw badInput(`${what}: trial ${i} has a non-positive latency or power (${String(m.latencyP50Ms)} ms, ${String(m.powerW)} W)`);
    points.push({ config: t.config, latencyMs: m.latencyP50Ms, powerW: m.powerW });
  });
  const dtype = r.modelSpec?.dtype;
  return {
    format: 'run',
    points,
    model: r.model,
    ...(dtype === 'fp16' || dtype === 'fp32' ? { dtype } : {}),
    ...(typeof r.device?.id === 'string' ? { device: r.device.id } : {}),
    ...(typeof r.runtime === 'string' ? { runtime: r.runtime } : {}),
    ...(positiveNumber(r.rateRps) ? { rateRps: r.rateRps } : {}),
  };
}

const LATENCY_COLUMNS = ['latency_p50_ms', 'latency_ms', 'latency'];
const POWER_COLUMNS = ['power_w', 'power'];
const CLOCK_COLUMNS = { cpuHz: 'cpu_hz', gpuMinHz: 'gpu_min_hz', gpuMaxHz: 'gpu_max_hz', emcHz: 'emc_hz' } as const;

/**
 * Points from CSV text: a measured `landscape` CSV (its columns) or a plain CSV with a header naming
 * batch, latency_ms (or latency_p50_ms), power_w and any of cpu_hz, gpu_min_hz, gpu_max_hz, emc_hz
 * (Hz; an absent clock is the board's boot value), optionally model and device.
 */
export function pointsFromCsv(text: string, what: string): MeasuredPoints {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw badInput(`${what} is empty`);
  const header = splitCsvLine(lines[0]!).map((h) => h.trim().toLowerCase());
  const col = (names: readonly string[]) => names.map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1;
  const latency = col(LATENCY_COLUMNS);
  const power = col(POWER_COLUMNS);
  const batch = header.indexOf('batch');
  if (batch < 0 || latency < 0 || power < 0)
    throw badInput(
      `${what}: the header needs batch, a latency column (${LATENCY_COLUMNS.join(' | ')}) and a power column (${POWER_COLUMNS.join(' | ')}); got ${header.join(',')}`,
    );
  const format: PointsFormat = header.includes('energy_per_query_j') && header.includes('device') ? 'landscape' : 'csv';
  const modelCol = header.indexOf('model');
  const deviceCol = header.indexOf('device');
  const models = new Set<string>();
  const devices = new Set<string>();
  const points: MeasuredPoint[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = splitCsvLine(lines[r]!).map((c) => c.trim());
    if (cells.length !== header.length) throw badInput(`${what}: row ${r} has ${cells.length} cells, the header ${header.length}`);
    const num = (i: number, name: string, integer = false): number => {
      const v = Number(cells[i]);
      if (cells[i] === '' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
        throw badInput(`${what}: row ${r}: ${name} must be a positive ${integer ? 'integer' : 'number'}, got "${cells[i]}"`);
      return v;
    };
    const config: { -readonly [K in keyof Config]: Config[K] } = { batch: num(batch, 'batch', true) };
    for (const [knob, name] of Object.entries(CLOCK_COLUMNS) as [keyof typeof CLOCK_COLUMNS, string][]) {
      const i = header.indexOf(name);
      if (i >= 0 && cells[i] !== '') config[knob] = num(i, name);
    }
    points.push({ config, latencyMs: num(latency, header[latency]!), powerW: num(power, header[power]!) });
    if (modelCol >= 0 && cells[modelCol]) models.add(cells[modelCol]!);
    if (deviceCol >= 0 && cells[deviceCol]) devices.add(cells[deviceCol]!);
  }
  if (models.size > 1) throw badInput(`${what} mixes models (${[...models].join(', ')}): calibrate one model at a time`);
  if (devices.size > 1) throw badInput(`${what} mixes devices (${[...devices].join(', ')}): calibrate one board at a time`);
  return {
    format,
    points,
    ...(models.size === 1 ? { model: [...models][0]! } : {}),
    ...(devices.size === 1 ? { device: [...devices][0]! } : {}),
  };
}

/** Read measured points from a file: JSON is a `tune --json` run, anything else CSV. */
export function readMeasuredPoints(path: string): MeasuredPoints {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw badInput(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, e);
  }
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw badInput(`${path} is not valid JSON: ${(e as Error).message}`, undefined, e);
    }
    return pointsFromRun(value, path);
  }
  return pointsFromCsv(text, path);
}

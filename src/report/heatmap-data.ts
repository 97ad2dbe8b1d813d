import type { Config } from '../core/config.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import type { LandscapeRow } from './landscape.ts';

/** One energy observation at a configuration: a landscape row or a measured trial. */
export interface EnergyPoint {
  readonly config: Config;
  readonly energyJ: number;
  readonly latencyMs: number;
}

/** One cell of a two-knob heatmap: the lowest energy over every other knob at that (x, y). */
export interface HeatCell {
  readonly xHz: number;
  readonly yHz: number;
  readonly energyJ: number;
  /** Some configuration in the cell met the SLO. */
  readonly feasible: boolean;
  /** How many configurations the cell summarises. */
  readonly count: number;
}

export type HeatAxis = 'gpuMaxHz' | 'gpuMinHz' | 'emcHz';

/**
 * Project points onto two knobs: each cell keeps the lowest energy per query over the knobs not
 * shown (the best the device can do at that pair), and whether any configuration in it met the SLO.
 * Points lacking either knob are skipped.
 */
export function heatCells(points: readonly EnergyPoint[], x: HeatAxis, y: HeatAxis, sloMs: number): HeatCell[] {
  const cells = new Map<string, { xHz: number; yHz: number; energyJ: number; feasible: boolean; count: number }>();
  for (const p of points) {
    const xv = p.config[x];
    const yv = p.config[y];
    if (xv === undefined || yv === undefined || !Number.isFinite(p.energyJ)) continue;
    const key = `${xv}|${yv}`;
    const c = cells.get(key);
    const ok = p.latencyMs <= sloMs;
    if (!c) cells.set(key, { xHz: xv, yHz: yv, energyJ: p.energyJ, feasible: ok, count: 1 });
    else {
      c.energyJ = Math.min(c.energyJ, p.energyJ);
      c.feasible ||= ok;
      c.count++;
    }
  }
  return [...cells.values()];
}

export const landscapePoints = (rows: readonly LandscapeRow[]): EnergyPoint[] =>
  rows.map((r) => ({
    config: { cpuHz: r.cpuHz, gpuMinHz: r.gpuMinHz, gpuMaxHz: r.gpuMaxHz, emcHz: r.emcHz, batch: r.batch },
    energyJ: r.energyPerQueryJ,
    latencyMs: r.latencyTailMs,
  }));

export const trialPoints = (run: TuningRun): EnergyPoint[] =>
  run.trials
    .filter((t) => t.measurement.valid)
    .map((t) => ({ config: t.config, energyJ: t.measurement.energyPerQueryJ, latencyMs: t.measurement.latencyTailMs }));

/** The batch size the twin's heatmaps show: 1 as in the paper when there is data at 1, else the smallest there is. */
export function heatmapBatch(points: readonly EnergyPoint[]): number | null {
  if (points.length === 0) return null;
  if (points.some((p) => p.config.batch === 1)) return 1;
  return Math.min(...points.map((p) => p.config.batch));
}

/**
 * The batch size measured-only heatmaps show: the one with the most measured points (a run
 * concentrates where it found the optimum), ties to the preferred batch (the recommendation's), then the smaller.
 */
export function busiestBatch(points: readonly EnergyPoint[], preferred?: number): number | null {
  const counts = new Map<number, number>();
  for (const p of points) counts.set(p.config.batch, (counts.get(p.config.batch) ?? 0) + 1);
  let best: [number, number] | null = null;
  for (const [b, n] of [...counts].sort((a, c) => a[0] - c[0])) if (best === null || n > best[1] || (n === best[1] && b === preferred)) best = [b, n];
  return best?.[0] ?? null;
}

/** The lowest-energy point that met the SLO, else the lowest-energy point. */
export function bestPoint(points: readonly EnergyPoint[], sloMs: number): EnergyPoint | null {
  const by = (xs: readonly EnergyPoint[]) => xs.reduce<EnergyPoint | null>((b, p) => (b === null || p.energyJ < b.energyJ ? p : b), null);
  return by(points.filter((p) => p.latencyMs <= sloMs)) ?? by(points);
}

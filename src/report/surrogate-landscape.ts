import type { Config } from '../core/config.ts';
import type { StoredSurrogates, TuningRun } from '../core/tuning-run.ts';
import { gpFromState } from '../optimize/gp.ts';
import { enumerateGrid, gridPoint, type SearchSpace } from '../optimize/search-space.ts';
import type { EnergyPoint } from './heatmap-data.ts';

/** Largest grid the report predicts on (TX2 with the CPU swept is ~60 000 points). */
const MAX_GRID = 200_000;

export type SurrogateLandscape = { readonly points: EnergyPoint[]; readonly size: number } | { readonly points: null; readonly why: string };

/**
 * Predict energy per query and tail latency on every configuration of the run's search space from
 * its stored surrogates (GPs of ln energy and ln latency): each is the posterior median, exp(mean).
 * Knobs held fixed during the search (the CPU clock) take their fixed value.
 */
export function surrogateLandscape(run: TuningRun): SurrogateLandscape {
  const s: StoredSurrogates | undefined = run.surrogates;
  if (!s) return { points: null, why: 'the run stores no surrogates' };
  if (s.dims.length === 0 || s.objective.dims !== s.dims.length || s.constraint.dims !== s.dims.length)
    return { points: null, why: 'the stored surrogates do not match their search space' };
  const iMin = s.dims.findIndex((d) => d.name === 'gpuMinHz');
  const iMax = s.dims.findIndex((d) => d.name === 'gpuMaxHz');
  const fixedMin = s.fixed.gpuMinHz;
  const fixedMax = s.fixed.gpuMaxHz;
  const value = (p: readonly number[], i: number) => s.dims[i]!.values[p[i]!]!;
  const space: SearchSpace = {
    dims: s.dims,
    isValid: (p) =>
      (iMin < 0 || iMax < 0 || value(p, iMin) <= value(p, iMax)) &&
      (fixedMin === undefined || iMax < 0 || value(p, iMax) >= fixedMin) &&
      (fixedMax === undefined || iMin < 0 || value(p, iMin) <= fixedMax),
  };
  let grid: ReturnType<typeof enumerateGrid>;
  try {
    grid = enumerateGrid(space, MAX_GRID);
  } catch (e) {
    return { points: null, why: `the stored search space is invalid: ${(e as Error).message}` };
  }
  if (!grid) return { points: null, why: `the search space has more than ${MAX_GRID} configurations` };
  const energy = gpFromState(s.objective).predict(grid.x, grid.size);
  const latency = gpFromState(s.constraint).predict(grid.x, grid.size);
  const points: EnergyPoint[] = [];
  for (let i = 0; i < grid.size; i++) {
    const p = gridPoint(grid, i);
    const c: Record<string, number | undefined> = { ...s.fixed };
    s.dims.forEach((d, k) => {
      c[d.name] = d.values[p[k]!];
    });
    const config: Config = {
      cpuHz: c.cpuHz,
      gpuMinHz: c.gpuMinHz,
      gpuMaxHz: c.gpuMaxHz,
      emcHz: c.emcHz,
      batch: c.batch ?? run.recommendation?.config.batch ?? 1,
    };
    points.push({ config, energyJ: Math.exp(energy.mean[i]!), latencyMs: Math.exp(latency.mean[i]!) });
  }
  return { points, size: grid.size };
}

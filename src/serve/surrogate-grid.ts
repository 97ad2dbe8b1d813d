/**
 * A tuning run's stored surrogates (GPs of ln energy per query and ln tail latency over its search
 * space) as the server uses them to re-select a configuration while it serves: predictions over the
 * whole valid grid, and at any configuration (snapped to the nearest table values).
 */
import type { Config, KnobName } from '../core/config.ts';
import type { StoredSurrogates } from '../core/tuning-run.ts';
import { gpFromState } from '../optimize/gp.ts';
import { createEncoder, enumerateGrid, type SearchSpace } from '../optimize/search-space.ts';

export interface SurrogateGrid {
  readonly size: number;
  readonly d: number;
  /** Encoded points, size × d. */
  readonly x: Float64Array;
  readonly configs: readonly Config[];
  /** Posterior mean and sd of ln(energy per query / J) and ln(tail latency / ms). */
  readonly lnE: Float64Array;
  readonly lnL: Float64Array;
  readonly sdE: Float64Array;
  readonly sdL: Float64Array;
}

export interface SurrogateModel {
  readonly surrogates: StoredSurrogates;
  readonly grid: SurrogateGrid;
  /** Encoded point of a configuration (each knob snapped to its nearest table value), or null when a searched knob is absent. */
  encode(c: Config): Float64Array | null;
  /** ln energy per query and ln tail latency predicted at a configuration. */
  predict(c: Config): { lnE: number; lnL: number } | null;
}

function spaceOf(s: StoredSurrogates): SearchSpace {
  const iMin = s.dims.findIndex((d) => d.name === 'gpuMinHz');
  const iMax = s.dims.findIndex((d) => d.name === 'gpuMaxHz');
  const fixedMin = s.fixed.gpuMinHz;
  const fixedMax = s.fixed.gpuMaxHz;
  return {
    dims: s.dims.map((d) => ({ name: d.name, values: d.values, scale: d.scale })),
    isValid: (p) => {
      const v = (i: number) => s.dims[i]!.values[p[i]!]!;
      if (iMin >= 0 && iMax >= 0 && v(iMin) > v(iMax)) return false;
      if (fixedMin !== undefined && iMax >= 0 && v(iMax) < fixedMin) return false;
      if (fixedMax !== undefined && iMin >= 0 && v(iMin) > fixedMax) return false;
      return true;
    },
  };
}

const nearest = (values: readonly number[], v: number, log: boolean): number => {
  let best = 0;
  let bd = Number.POSITIVE_INFINITY;
  values.forEach((x, i) => {
    const d = log ? Math.abs(Math.log(x) - Math.log(v)) : Math.abs(x - v);
    if (d < bd) {
      bd = d;
      best = i;
    }
  });
  return best;
};

/** The surrogates over their grid (null when the grid is too large to enumerate or the stored GPs do not match its dimensions). */
export function surrogateModel(s: StoredSurrogates, limit = 100_000): SurrogateModel | null {
  const space = spaceOf(s);
  if (space.dims.length !== s.objective.dims) return null;
  const g = enumerateGrid(space, limit);
  if (!g) return null;
  const objective = gpFromState(s.objective);
  const constraint = gpFromState(s.constraint);
  const o = objective.predict(g.x, g.size);
  const c = constraint.predict(g.x, g.size);
  const configs: Config[] = [];
  for (let i = 0; i < g.size; i++) {
    const cfg: Record<string, number> = { ...s.fixed };
    s.dims.forEach((d, k) => {
      cfg[d.name] = d.values[g.indices[i * g.d + k]!]!;
    });
    configs.push({ batch: 1, ...cfg } as Config);
  }
  const enc = createEncoder(space);
  const encode = (cfg: Config): Float64Array | null => {
    const idx: number[] = [];
    for (const d of s.dims) {
      const v = cfg[d.name as KnobName];
      if (v === undefined) return null;
      idx.push(nearest(d.values, v, d.scale === 'log'));
    }
    return enc(idx);
  };
  return {
    surrogates: s,
    grid: {
      size: g.size,
      d: g.d,
      x: g.x,
      configs,
      lnE: o.mean,
      lnL: c.mean,
      sdE: o.variance.map(Math.sqrt),
      sdL: c.variance.map(Math.sqrt),
    },
    encode,
    predict(cfg) {
      const x = encode(cfg);
      if (!x) return null;
      return { lnE: objective.predict(x, 1).mean[0]!, lnL: constraint.predict(x, 1).mean[0]! };
    },
  };
}

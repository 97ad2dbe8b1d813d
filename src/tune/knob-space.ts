/**
 * The PolyThrottle search space over device knobs: CPU, GPU min, GPU max and EMC frequencies as
 * ordinal positions in the device's tables, batch size on a log scale, GPU min ≤ GPU max.
 * A knob the device lacks, or one held fixed, is not a dimension.
 */
import type { Config, KnobDomains, KnobName } from '../core/config.ts';
import type { Dimension, SearchSpace } from '../optimize/search-space.ts';

export interface KnobSpace extends SearchSpace {
  readonly knobs: readonly KnobName[];
  toConfig(point: readonly number[]): Config;
  /** The point of a configuration, or null when a value is not on the space (or differs from a held knob). */
  toPoint(c: Config): number[] | null;
}

export interface KnobSpaceOptions {
  readonly domains: KnobDomains;
  /** Knobs held at a value instead of searched (e.g. the CPU clock chosen in the first phase). */
  readonly fixed?: Partial<Record<Exclude<KnobName, 'batch'>, number>>;
  /** Configurations the device can measure, when not every combination (e.g. a replayed landscape); absent = all. */
  readonly offered?: (c: Config) => boolean;
}

export function createKnobSpace({ domains, fixed = {}, offered }: KnobSpaceOptions): KnobSpace {
  const dims: Dimension[] = [];
  const knobs: KnobName[] = [];
  const add = (knob: KnobName, values: readonly number[] | undefined, scale: Dimension['scale']) => {
    if (!values || values.length === 0 || fixed[knob as Exclude<KnobName, 'batch'>] !== undefined) return;
    const sorted = [...new Set(values)].sort((a, b) => a - b);
    dims.push({ name: knob, values: sorted, scale });
    knobs.push(knob);
  };
  add('cpuHz', domains.cpuHz, 'ordinal');
  add('gpuMinHz', domains.gpuHz, 'ordinal');
  add('gpuMaxHz', domains.gpuHz, 'ordinal');
  add('emcHz', domains.emcHz, 'ordinal');
  add('batch', domains.batch, 'log');
  if (!knobs.includes('batch') && domains.batch.length === 0) throw new Error('no batch sizes to search');
  const iMin = knobs.indexOf('gpuMinHz');
  const iMax = knobs.indexOf('gpuMaxHz');
  const isValid = iMin >= 0 && iMax >= 0 ? (p: readonly number[]) => p[iMin]! <= p[iMax]! : undefined;
  // a fixed GPU bound constrains the other one
  const fixedMin = fixed.gpuMinHz;
  const fixedMax = fixed.gpuMaxHz;
  const gpuCheck = (p: readonly number[]): boolean => {
    if (isValid && !isValid(p)) return false;
    if (fixedMin !== undefined && iMax >= 0 && dims[iMax]!.values[p[iMax]!]! < fixedMin) return false;
    if (fixedMax !== undefined && iMin >= 0 && dims[iMin]!.values[p[iMin]!]! > fixedMax) return false;
    return true;
  };
  const space: KnobSpace = {
    dims,
    knobs,
    isValid: offered ? (p) => gpuCheck(p) && offered(space.toConfig(p)) : isValid || fixedMin !== undefined || fixedMax !== undefined ? gpuCheck : undefined,
    toConfig(point) {
      const v = (k: KnobName): number | undefined => {
        const i = knobs.indexOf(k);
        if (i >= 0) return dims[i]!.values[point[i]!];
        return k === 'batch' ? undefined : fixed[k];
      };
      return {
        cpuHz: v('cpuHz'),
        gpuMinHz: v('gpuMinHz'),
        gpuMaxHz: v('gpuMaxHz'),
        emcHz: v('emcHz'),
        batch: v('batch') ?? domains.batch[0] ?? 1,
      };
    },
    toPoint(c) {
      // a configuration at another value of a held knob is not on this space
      for (const [k, v] of Object.entries(fixed)) {
        const have = c[k as keyof Config];
        if (v !== undefined && have !== undefined && have !== v) return null;
      }
      const out: number[] = [];
      for (let i = 0; i < knobs.length; i++) {
        const val = c[knobs[i]!];
        const j = val === undefined ? -1 : dims[i]!.values.indexOf(val);
        if (j < 0) return null;
        out.push(j);
      }
      return out;
    },
  };
  return space;
}

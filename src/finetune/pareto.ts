import type { Config } from '../core/config.ts';
import type { TuningRun } from '../core/tuning-run.ts';

export interface ParetoPoint {
  readonly config: Config;
  readonly energyPerQueryJ: number;
  readonly latencyTailMs: number;
}

/**
 * The energy/tail-latency Pareto front: points no other point beats on both (lower energy and lower
 * latency), sorted by latency ascending (energy descending).
 */
export function paretoFront<P extends ParetoPoint>(points: readonly P[]): P[] {
  const sorted = [...points].filter((p) => Number.isFinite(p.energyPerQueryJ) && Number.isFinite(p.latencyTailMs)).sort((a, b) => a.latencyTailMs - b.latencyTailMs || a.energyPerQueryJ - b.energyPerQueryJ);
  const out: P[] = [];
  let bestE = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    if (p.energyPerQueryJ < bestE) {
      out.push(p);
      bestE = p.energyPerQueryJ;
    }
  }
  return out;
}

/** The measured Pareto set of a tuning run (valid trials only): the configurations fine-tuning may switch between. */
export function paretoFromRun(run: TuningRun): ParetoPoint[] {
  return paretoFront(
    run.trials
      .filter((t) => t.measurement.valid)
      .map((t) => ({ config: t.config, energyPerQueryJ: t.measurement.energyPerQueryJ, latencyTailMs: t.measurement.latencyTailMs })),
  );
}

/** At most `n` points spread evenly along the front (keeping both ends). */
export function thinFront<P>(front: readonly P[], n: number): P[] {
  if (front.length <= n) return [...front];
  const out: P[] = [];
  for (let i = 0; i < n; i++) out.push(front[Math.round((i * (front.length - 1)) / (n - 1))]!);
  return [...new Set(out)];
}

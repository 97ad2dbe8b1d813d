import { paretoFront as energyLatencyFront } from '../core/pareto.ts';
import type { ParetoPoint as TunedParetoPoint, TuningRun } from '../core/tuning-run.ts';

/** A configuration with its measured energy per query and tail latency (the tuner's Pareto point, less what fine-tuning does not use). */
export type ParetoPoint = Pick<TunedParetoPoint, 'config' | 'energyPerQueryJ' | 'latencyTailMs'>;

/**
 * The energy/tail-latency Pareto front of the points with finite figures: points no other point beats
 * on both (lower energy and lower latency), sorted by latency ascending (energy descending).
 */
export function paretoFront<P extends ParetoPoint>(points: readonly P[]): P[] {
  const finite = points.filter((p) => Number.isFinite(p.energyPerQueryJ) && Number.isFinite(p.latencyTailMs));
  return energyLatencyFront(finite, (p) => p.energyPerQueryJ, (p) => p.latencyTailMs);
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

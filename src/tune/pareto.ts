import { paretoFront } from '../core/pareto.ts';
import type { ParetoPoint, TrialRecord } from '../core/tuning-run.ts';

/** Valid trials no other valid trial beats on both energy per query and tail latency, by latency. */
export function paretoSet(trials: readonly TrialRecord[]): ParetoPoint[] {
  const pts = trials
    .filter((t) => t.measurement.valid)
    .map((t) => ({
      config: t.config,
      energyPerQueryJ: t.measurement.energyPerQueryJ,
      latencyTailMs: t.measurement.latencyTailMs,
      latencyP50Ms: t.measurement.latencyP50Ms,
      trial: t.index,
    }));
  return paretoFront(pts, (p) => p.energyPerQueryJ, (p) => p.latencyTailMs);
}

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
    }))
    .sort((a, b) => a.latencyTailMs - b.latencyTailMs || a.energyPerQueryJ - b.energyPerQueryJ);
  const out: ParetoPoint[] = [];
  let bestE = Number.POSITIVE_INFINITY;
  for (const p of pts) {
    if (p.energyPerQueryJ < bestE) {
      out.push(p);
      bestE = p.energyPerQueryJ;
    }
  }
  return out;
}

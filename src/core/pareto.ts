import type { ParetoPoint, TrialRecord } from './tuning-run.ts';

/**
 * The energy–latency Pareto front: points no other point beats on both lower energy and lower
 * latency, sorted by latency ascending so energy strictly falls along it. Of points with equal
 * latency the cheapest is kept; of exact ties the first.
 */
export function paretoFront<T>(points: readonly T[], energy: (p: T) => number, latency: (p: T) => number): T[] {
  const sorted = [...points].sort((a, b) => latency(a) - latency(b) || energy(a) - energy(b));
  const front: T[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    const e = energy(p);
    if (e < best) {
      front.push(p);
      best = e;
    }
  }
  return front;
}

/** The Pareto front of each group (e.g. each batch size), groups in order of first appearance. */
export function paretoFrontBy<T, K>(points: readonly T[], energy: (p: T) => number, latency: (p: T) => number, key: (p: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const p of points) {
    const k = key(p);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return new Map([...groups].map(([k, g]) => [k, paretoFront(g, energy, latency)]));
}

/** A run's measured Pareto set: the front of its valid trials in energy per query and tail latency. */
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
  return paretoFront(
    pts,
    (p) => p.energyPerQueryJ,
    (p) => p.latencyTailMs,
  );
}

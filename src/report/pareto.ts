import { paretoFront } from '../core/pareto.ts';

/** A point in the energy–latency plane. */
export interface EnergyLatency {
  readonly latencyMs: number;
  readonly energyJ: number;
}

/**
 * The Pareto frontier (no other point is both faster and cheaper), sorted by latency ascending,
 * so energy strictly falls along it. Ties keep the first point.
 */
export function paretoFrontier<T extends EnergyLatency>(points: readonly T[]): T[] {
  return paretoFront(points, (p) => p.energyJ, (p) => p.latencyMs);
}

/** The Pareto frontier of each group (e.g. each batch size). */
export function paretoFrontierBy<T extends EnergyLatency, K>(points: readonly T[], key: (p: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const p of points) {
    const k = key(p);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return new Map([...groups].map(([k, g]) => [k, paretoFrontier(g)]));
}

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

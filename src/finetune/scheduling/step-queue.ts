import { nearestRankQuantile } from '../../numerics/stats.ts';
import { poissonArrivals } from '../../numerics/random.ts';
import { partMayStart } from './step-guard.ts';

/** The batcher's longest wait for a batch to fill: D = max(0, 0.9·L − 2·S) (the server's policy). */
export function batchFillDelayMs(sloMs: number, serviceMs: number): number {
  return Math.max(0, sloMs * 0.9 - 2 * serviceMs);
}

export interface StepQueueInput {
  readonly rateRps: number;
  /** Inference batch size and its service time, ms. */
  readonly batch: number;
  readonly serviceMs: number;
  /** Duration of one part of a fine-tuning step (its upper bound), ms. */
  readonly partMs: number;
  readonly sloMs: number;
  /** Quantile of request latency to report (with its sampling margin already applied). */
  readonly quantile: number;
  /** Requests simulated (default 3000). */
  readonly requests?: number;
  readonly seed?: number;
}

export interface StepQueueOutcome {
  /** Request latency at the quantile with parts interleaved, ms. */
  readonly tailMs: number;
  /** Share of the device's time spent on fine-tuning parts. */
  readonly finetuneShare: number;
  /** Parts run per second. */
  readonly partsPerS: number;
}

const cache = new Map<string, StepQueueOutcome>();

/**
 * What one part's length does to the requests, for any served/fine-tuned pair: a virtual-time run
 * of the batcher at the arrival rate (Poisson), with a part of `partMs` started whenever the device
 * would otherwise idle and `partMayStart` allows it. Requests that arrive during a part queue behind
 * it and behind the backlog it leaves, so the tail includes queueing behind a step, not only the
 * mean slowdown. Deterministic for given inputs (cached).
 */
export function stepQueueTail(i: StepQueueInput): StepQueueOutcome {
  const n = i.requests ?? 3000;
  const seed = i.seed ?? 0x5eed;
  const key = `${i.rateRps}|${i.batch}|${i.serviceMs.toFixed(3)}|${i.partMs.toFixed(3)}|${i.sloMs}|${i.quantile}|${n}|${seed}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!(i.rateRps > 0)) {
    const may = partMayStart({ sloMs: i.sloMs, coRunUpperMs: i.partMs + i.serviceMs, oldestWaitMs: 0 });
    return { tailMs: i.serviceMs, finetuneShare: may ? 1 : 0, partsPerS: may ? 1000 / i.partMs : 0 };
  }
  // Parts shorter than a tenth of a millisecond are simulated as that long (conservative, and it
  // keeps the number of simulated parts bounded).
  const partMs = Math.max(i.partMs, 0.1);
  const arrivals = poissonArrivals(i.rateRps, (n / i.rateRps) * 1000, seed);
  const delay = batchFillDelayMs(i.sloMs, i.serviceMs);
  const lat: number[] = [];
  let t = 0;
  let head = 0; // first request not yet served
  let next = 0; // first request not yet arrived (arrival > t)
  let partTime = 0;
  let parts = 0;
  const end = arrivals.length > 0 ? arrivals[arrivals.length - 1]! : 0;
  while (head < arrivals.length) {
    while (next < arrivals.length && arrivals[next]! <= t) next++;
    const queued = next - head;
    if (queued >= i.batch || (queued > 0 && t >= arrivals[head]! + delay - 1e-9)) {
      const k = Math.min(i.batch, queued);
      t += i.serviceMs;
      for (let r = head; r < head + k; r++) lat.push(t - arrivals[r]!);
      head += k;
      continue;
    }
    const oldestWaitMs = queued > 0 ? t - arrivals[head]! : 0;
    if (t < end && partMayStart({ sloMs: i.sloMs, coRunUpperMs: partMs + i.serviceMs, oldestWaitMs })) {
      t += partMs;
      partTime += partMs;
      parts++;
      continue;
    }
    // Idle until the next arrival or the batch's deadline.
    const wake = Math.min(next < arrivals.length ? arrivals[next]! : Number.POSITIVE_INFINITY, queued > 0 ? arrivals[head]! + delay : Number.POSITIVE_INFINITY);
    t = Math.max(t, wake);
  }
  lat.sort((a, b) => a - b);
  const span = Math.max(t, 1e-9);
  const out = { tailMs: nearestRankQuantile(lat, i.quantile), finetuneShare: partTime / span, partsPerS: (parts * 1000) / span };
  if (cache.size > 50_000) cache.clear();
  cache.set(key, out);
  return out;
}

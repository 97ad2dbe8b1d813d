/**
 * How late the event loop runs here: the 90th percentile of timer lateness over the last period.
 * The server's own scheduling delay (a busy loop, a starved CPU) adds to every request's latency, so
 * the batcher subtracts it from the SLO budget: near zero on a quiet machine, large on a saturated one.
 *
 * With `explainedMs` (the host work the server measures and accounts per request: parsing and
 * encoding), a probe timer measures each lateness and takes off the accounted work that ran in the
 * meantime, so only the unexplained part remains (another process, GC): accounting the same parse
 * both per request and as lag would count it twice and starve batching.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { quantileSorted } from '../numerics/stats.ts';

export interface LoopLagOptions {
  /** Probe period, ms (10). */
  readonly resolutionMs?: number;
  /** How often the reported value is renewed, ms (1000; 250 with `explainedMs`). */
  readonly periodMs?: number;
  /** Accounted host work since the start, ms (monotonic). */
  readonly explainedMs?: () => number;
}

export class LoopLag {
  readonly #resolutionMs: number;
  readonly #hist: IntervalHistogram | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #explained: (() => number) | undefined;
  /** Unexplained lateness samples: [when, ms]. */
  readonly #samples: [number, number][] = [];
  readonly #windowMs: number;
  #probe: NodeJS.Timeout | undefined;
  #lagMs = 0;
  #closed = false;

  constructor(opts: LoopLagOptions = {}) {
    this.#resolutionMs = opts.resolutionMs ?? 10;
    this.#explained = opts.explainedMs;
    this.#windowMs = 2 * (opts.periodMs ?? 250);
    if (this.#explained) this.#schedule(this.#explained());
    else {
      this.#hist = monitorEventLoopDelay({ resolution: this.#resolutionMs });
      this.#hist.enable();
    }
    this.#timer = setInterval(() => this.#roll(), opts.periodMs ?? (this.#explained ? 250 : 1000));
    this.#timer.unref();
  }

  #schedule(busyAtStart: number): void {
    if (this.#closed) return;
    const t0 = performance.now();
    this.#probe = setTimeout(() => {
      const late = performance.now() - t0 - this.#resolutionMs;
      const busy = this.#explained!();
      this.#samples.push([performance.now(), Math.max(0, late - (busy - busyAtStart))]);
      if (this.#samples.length > 1000) this.#samples.shift();
      this.#schedule(busy);
    }, this.#resolutionMs);
    this.#probe.unref();
  }

  #roll(): void {
    if (this.#hist) {
      if (this.#hist.count > 0) this.#lagMs = Math.max(0, this.#hist.percentile(90) / 1e6 - this.#resolutionMs);
      this.#hist.reset();
      return;
    }
    // the last two periods' samples: one stall does not linger, and a period with no probe back
    // (the loop blocked throughout) keeps the last value
    const since = performance.now() - this.#windowMs;
    while (this.#samples.length > 0 && this.#samples[0]![0] < since) this.#samples.shift();
    if (this.#samples.length > 0) {
      const sorted = this.#samples.map((x) => x[1]).sort((a, b) => a - b);
      this.#lagMs = quantileSorted(sorted, 0.9);
    }
  }

  /** p90 event-loop lateness over the last period (unexplained by accounted host work, when given), ms. */
  get ms(): number {
    return this.#lagMs;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#probe) clearTimeout(this.#probe);
    this.#hist?.disable();
  }
}

/**
 * How late the event loop runs here: the 90th percentile of timer lateness over the last second.
 * The server's own scheduling delay (a busy loop, a starved CPU) adds to every request's latency, so
 * the batcher subtracts it from the SLO budget: near zero on a quiet machine, large on a saturated one.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export class LoopLag {
  readonly #resolutionMs: number;
  readonly #hist: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #lagMs = 0;

  constructor(opts: { resolutionMs?: number; periodMs?: number } = {}) {
    this.#resolutionMs = opts.resolutionMs ?? 10;
    this.#hist = monitorEventLoopDelay({ resolution: this.#resolutionMs });
    this.#hist.enable();
    this.#timer = setInterval(() => this.#roll(), opts.periodMs ?? 1000);
    this.#timer.unref();
  }

  #roll(): void {
    if (this.#hist.count > 0) this.#lagMs = Math.max(0, this.#hist.percentile(90) / 1e6 - this.#resolutionMs);
    this.#hist.reset();
  }

  /** p90 event-loop lateness over the last period, ms. */
  get ms(): number {
    return this.#lagMs;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#hist.disable();
  }
}

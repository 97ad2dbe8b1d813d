/**
 * Host-side cost of a request, measured online: the event-loop time spent turning its body into
 * tensors (JSON text or the binary tensor extension) and its answer into JSON. On a Jetson the CPU
 * is the weak part: a 600 KB JSON image costs more CPU than its batch costs GPU, and all of it runs
 * on the server's one event loop, one request after another.
 *
 * Parsing is kept per model and body encoding as a cost per byte (the high quantile of recent
 * samples), so a request's cost is known from its Content-Length before its body is read; the
 * answer's encoding is kept per model (outputs do not depend on the request's size). Every measured
 * millisecond also counts towards `busyMs`, the event-loop time the server can explain; the
 * loop-lag probe takes it off what it reports as unexplained lateness.
 */
import { quantileSorted } from '../numerics/stats.ts';

export type BodyKind = 'json' | 'binary';

export interface HostCostOptions {
  /** Recent samples kept per model and body kind (64). */
  readonly window?: number;
  /** Quantile of the window used as the estimate (0.9). */
  readonly quantile?: number;
  /** Bodies smaller than this count as this many bytes (a request's fixed cost), bytes (4096). */
  readonly minBytes?: number;
}

const push = (w: number[], v: number, max: number) => {
  w.push(v);
  if (w.length > max) w.shift();
};
const q = (w: readonly number[], p: number) =>
  quantileSorted(
    [...w].sort((a, b) => a - b),
    p,
  );

export class HostCostEstimator {
  readonly #window: number;
  readonly #q: number;
  readonly #minBytes: number;
  readonly #parsePerByte = new Map<string, number[]>();
  readonly #encode = new Map<string, number[]>();
  readonly #recentMs: number[] = [];
  #busyMs = 0;

  constructor(opts: HostCostOptions = {}) {
    this.#window = opts.window ?? 64;
    this.#q = opts.quantile ?? 0.9;
    this.#minBytes = opts.minBytes ?? 4096;
  }

  /** One request's parse (body to tensors, checks included) took `ms` for `bytes` of body. */
  recordParse(model: string, kind: BodyKind, bytes: number, ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) return;
    const key = `${model}|${kind}`;
    let w = this.#parsePerByte.get(key);
    if (!w) {
      w = [];
      this.#parsePerByte.set(key, w);
    }
    push(w, ms / Math.max(this.#minBytes, bytes), this.#window);
    push(this.#recentMs, ms, this.#window);
    this.#spent(ms);
  }

  /**
   * Other event-loop work the server did itself and knows the length of (a plugin's decision, e.g.
   * fine-tuning admission): explained lateness, not lag that will go on delaying requests.
   */
  recordWork(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.#spent(ms);
  }

  /** One answer's encoding took `ms`. */
  recordEncode(model: string, ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) return;
    let w = this.#encode.get(model);
    if (!w) {
      w = [];
      this.#encode.set(model, w);
    }
    push(w, ms, this.#window);
    this.#spent(ms);
  }

  #spent(ms: number): void {
    this.#busyMs += ms;
  }

  /** Estimated parse time of a body of `bytes` bytes, ms; 0 before any measurement of that kind. */
  parseMs(model: string, kind: BodyKind, bytes: number): number {
    const w = this.#parsePerByte.get(`${model}|${kind}`);
    return w && w.length > 0 ? q(w, this.#q) * Math.max(this.#minBytes, bytes) : 0;
  }

  /** Estimated encoding time of one answer, ms (0 before any measurement). */
  encodeMs(model: string): number {
    const w = this.#encode.get(model);
    return w && w.length > 0 ? q(w, this.#q) : 0;
  }

  /** Parse samples kept for a model and body kind. */
  samples(model: string, kind: BodyKind): number {
    return this.#parsePerByte.get(`${model}|${kind}`)?.length ?? 0;
  }

  /** Event-loop time spent on measured host work since the start, ms (monotonic). */
  get busyMs(): number {
    return this.#busyMs;
  }

  /**
   * A long single piece of host work, ms: the high quantile of the recent parses (any model) — how
   * late a timer can fire behind one. A quantile, not the maximum: one stall must not hold batching
   * off for long.
   */
  get longestMs(): number {
    return this.#recentMs.length > 0 ? q(this.#recentMs, this.#q) : 0;
  }
}

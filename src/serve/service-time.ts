/**
 * Measured batch service time per model and batch size.
 *
 * A baseline curve per model, measured at start (the warm-up at batch 1 and at the batch limit; or
 * the profile's single measurement), gives the shape S₀(b): linear between measured sizes, flat
 * below the smallest, extended by the last slope above the largest (proportional with one point).
 * Every batch served records its ratio to the curve, so a slowdown seen at any batch size (a
 * loaded host, a hotter board) scales the estimate at every size:
 *
 *     S(b) = S₀(b) · q(recent ratios)     (q: the SLO's quantile, 0.99 by default)
 *
 * Without a baseline, each size's own window is used: its high quantile; for a size never measured,
 * the nearest larger measured size, else the largest smaller one scaled up in proportion.
 */
import { quantileSorted } from '../numerics/stats.ts';

export interface ServiceTimeOptions {
  /** Recent samples kept per model (ratios) and per (model, size). */
  readonly window?: number;
  /** Quantile of the window used as the estimate (0.99: the usual SLO quantile). */
  readonly quantile?: number;
}

const quantile = (values: readonly number[], q: number): number =>
  quantileSorted(
    [...values].sort((a, b) => a - b),
    q,
  );

type Point = { readonly batch: number; readonly ms: number };

/** The baseline curve at `b` from points sorted by batch. */
export function baselineAt(points: readonly Point[], b: number): number {
  const first = points[0]!;
  if (points.length === 1) return b <= first.batch ? first.ms : (first.ms * b) / first.batch;
  if (b <= first.batch) return first.ms;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const c = points[i]!;
    if (b <= c.batch) return a.ms + ((c.ms - a.ms) * (b - a.batch)) / (c.batch - a.batch);
  }
  const a = points[points.length - 2]!;
  const c = points[points.length - 1]!;
  const slope = Math.max(0, (c.ms - a.ms) / (c.batch - a.batch));
  return c.ms + slope * (b - c.batch);
}

export class ServiceTimeEstimator {
  readonly #window: number;
  readonly #q: number;
  readonly #samples = new Map<string, Map<number, number[]>>();
  readonly #baseline = new Map<string, Point[]>();
  readonly #ratios = new Map<string, number[]>();

  constructor(opts: ServiceTimeOptions = {}) {
    this.#window = opts.window ?? 32;
    this.#q = opts.quantile ?? 0.99;
  }

  /** One measured point known before serving (the tuned profile's service time at its batch). */
  setPrior(model: string, batch: number, ms: number): void {
    if (Number.isFinite(ms) && ms > 0 && !this.#baseline.has(model)) this.#baseline.set(model, [{ batch, ms }]);
  }

  /** The baseline curve from measured points (the warm-up); replaces a prior. */
  setBaseline(model: string, points: readonly Point[]): void {
    const ok = points.filter((p) => Number.isFinite(p.ms) && p.ms > 0 && p.batch >= 1).sort((a, b) => a.batch - b.batch);
    if (ok.length === 0) return;
    this.#baseline.set(model, ok);
    this.#ratios.delete(model);
  }

  /**
   * The configuration changed by a known factor on service time (a new clock setting): the estimate
   * in force (baseline × the measured slowdown) times the factor becomes the new baseline, and the
   * ratios measured under the old configuration are forgotten.
   */
  rescale(model: string, factor: number): void {
    const base = this.#baseline.get(model);
    if (!base || !(Number.isFinite(factor) && factor > 0)) return;
    // the slowdown measured so far (a drifted board) carries over: only the configuration changed
    const r = this.#ratios.get(model);
    const measured = r && r.length > 0 ? quantile(r, this.#q) : 1;
    this.#baseline.set(
      model,
      base.map((p) => ({ batch: p.batch, ms: p.ms * measured * factor })),
    );
    this.#ratios.delete(model);
    this.#samples.delete(model);
  }

  record(model: string, batch: number, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const push = (w: number[], v: number) => {
      w.push(v);
      if (w.length > this.#window) w.shift();
    };
    let bySize = this.#samples.get(model);
    if (!bySize) {
      bySize = new Map();
      this.#samples.set(model, bySize);
    }
    let w = bySize.get(batch);
    if (!w) {
      w = [];
      bySize.set(batch, w);
    }
    push(w, ms);
    const base = this.#baseline.get(model);
    if (base) {
      let r = this.#ratios.get(model);
      if (!r) {
        r = [];
        this.#ratios.set(model, r);
      }
      push(r, ms / baselineAt(base, batch));
    }
  }

  /** Number of batches measured for a model. */
  count(model: string): number {
    let n = 0;
    for (const w of this.#samples.get(model)?.values() ?? []) n += w.length;
    return n;
  }

  /** Estimated service time of a batch of `batch` rows, ms; undefined when nothing is known. */
  estimate(model: string, batch: number): number | undefined {
    const base = this.#baseline.get(model);
    if (base) {
      const r = this.#ratios.get(model);
      return baselineAt(base, batch) * (r && r.length > 0 ? quantile(r, this.#q) : 1);
    }
    const bySize = this.#samples.get(model);
    if (!bySize || bySize.size === 0) return undefined;
    const sizes = [...bySize.keys()].sort((a, b) => a - b);
    const at = (s: number) => quantile(bySize.get(s)!, this.#q);
    const larger = sizes.find((s) => s >= batch);
    if (larger !== undefined) return at(larger);
    const below = sizes[sizes.length - 1]!;
    return (at(below) * batch) / below;
  }
}

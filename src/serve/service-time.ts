/**
 * Measured batch service time per model and batch size, from a window of recent batches. The
 * estimate for a batch size is a high quantile of its own window; for a size never measured it is
 * the nearest larger measured size (service time does not fall with more rows), else the largest
 * smaller size scaled up in proportion (pessimistic: it ignores the fixed per-batch cost).
 */
export interface ServiceTimeOptions {
  /** Samples kept per (model, batch size). */
  readonly window?: number;
  /** Quantile of the window used as the estimate. */
  readonly quantile?: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export class ServiceTimeEstimator {
  readonly #window: number;
  readonly #q: number;
  readonly #samples = new Map<string, Map<number, number[]>>();
  readonly #prior = new Map<string, { batch: number; ms: number }>();

  constructor(opts: ServiceTimeOptions = {}) {
    this.#window = opts.window ?? 32;
    this.#q = opts.quantile ?? 0.9;
  }

  /** A measured value known before serving (the tuned profile's service time), used until batches run. */
  setPrior(model: string, batch: number, ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.#prior.set(model, { batch, ms });
  }

  record(model: string, batch: number, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
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
    w.push(ms);
    if (w.length > this.#window) w.shift();
  }

  /** Number of batches measured for a model. */
  count(model: string): number {
    let n = 0;
    for (const w of this.#samples.get(model)?.values() ?? []) n += w.length;
    return n;
  }

  /** Estimated service time of a batch of `batch` rows, ms; undefined when nothing is known. */
  estimate(model: string, batch: number): number | undefined {
    const bySize = this.#samples.get(model);
    if (bySize && bySize.size > 0) {
      const sizes = [...bySize.keys()].sort((a, b) => a - b);
      const at = (s: number) => quantile([...bySize.get(s)!].sort((a, b) => a - b), this.#q);
      const larger = sizes.find((s) => s >= batch);
      if (larger !== undefined) return at(larger);
      const below = sizes[sizes.length - 1]!;
      return (at(below) * batch) / below;
    }
    const p = this.#prior.get(model);
    if (!p) return undefined;
    return batch <= p.batch ? p.ms : (p.ms * batch) / p.batch;
  }
}

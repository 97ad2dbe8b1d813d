/**
 * Energy of the board while serving, from its total power sensor: a sampler polls the sensor,
 * integrates the board's energy with the trapezoid rule, and attributes the energy of a time
 * window (one batch) by integrating the samples that cover it. A failed read invalidates the
 * windows it falls in (their energy is unknown, never zero).
 */
import type { PowerSource } from '../core/device.ts';

export interface EnergyMeter {
  /** Energy over [t0, t1] (ms on the meter's clock), J; undefined when the samples cannot cover it. */
  energyBetween(t0: number, t1: number): Promise<number | undefined>;
  /** Latest board power, W. */
  powerW(): number | undefined;
  /** Board energy integrated since start, J. */
  totalJ(): number;
  close(): Promise<void>;
}

interface Sample {
  readonly t: number;
  /** Watts; NaN for a failed read. */
  readonly w: number;
}

export interface PowerSamplerOptions {
  readonly intervalMs?: number;
  /** How long samples are kept, ms. */
  readonly keepMs?: number;
  readonly now?: () => number;
}

/** Trapezoid integral of piecewise-linear power over [t0, t1], J; undefined if not covered or a read failed. */
export function integrateWindow(samples: readonly Sample[], t0: number, t1: number): number | undefined {
  if (t1 < t0) return undefined;
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || first.t > t0 || last.t < t1) return undefined;
  let lo = 0;
  while (lo + 1 < samples.length && samples[lo + 1]!.t <= t0) lo++;
  let j = 0;
  const at = (a: Sample, b: Sample, t: number) => (b.t === a.t ? a.w : a.w + ((b.w - a.w) * (t - a.t)) / (b.t - a.t));
  for (let i = lo; i + 1 < samples.length && samples[i]!.t < t1; i++) {
    const a = samples[i]!;
    const b = samples[i + 1]!;
    if (Number.isNaN(a.w) || Number.isNaN(b.w)) return undefined;
    const s = Math.max(a.t, t0);
    const e = Math.min(b.t, t1);
    if (e <= s) continue;
    j += ((at(a, b, s) + at(a, b, e)) / 2) * ((e - s) / 1000);
  }
  if (t1 === t0) return 0;
  return j;
}

/**
 * Polls power sources and sums them: the board's total sensor, or every rail when the board has
 * none (as the measurement layer does). Each is 'power' in W, or an 'energy-counter' in J that
 * wraps at wrapJ.
 */
export class PowerSampler implements EnergyMeter {
  readonly #sources: readonly PowerSource[];
  readonly #lastCounter: ({ t: number; j: number } | null)[];
  readonly #intervalMs: number;
  readonly #keepMs: number;
  readonly #now: () => number;
  readonly #samples: Sample[] = [];
  readonly #waiters: { t: number; wake: () => void }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #reading = false;
  #total = 0;

  constructor(sources: PowerSource | readonly PowerSource[], opts: PowerSamplerOptions = {}) {
    this.#sources = Array.isArray(sources) ? sources : [sources as PowerSource];
    if (this.#sources.length === 0) throw new Error('PowerSampler needs at least one power source');
    this.#lastCounter = this.#sources.map(() => null);
    this.#intervalMs = opts.intervalMs ?? 20;
    this.#keepMs = opts.keepMs ?? 30_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  get sources(): readonly PowerSource[] {
    return this.#sources;
  }

  /** Take the first sample and start polling. */
  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  async #readOne(i: number): Promise<number> {
    const source = this.#sources[i]!;
    const v = await source.read();
    if (!Number.isFinite(v)) throw new Error(`power source ${source.name} returned ${v}`);
    if (source.kind === 'power') return v;
    const t = this.#now();
    const prev = this.#lastCounter[i]!;
    this.#lastCounter[i] = { t, j: v };
    if (!prev) return Number.NaN;
    let dj = v - prev.j;
    if (dj < 0 && source.wrapJ) dj += source.wrapJ;
    if (dj < 0 || t <= prev.t) return Number.NaN;
    return dj / ((t - prev.t) / 1000);
  }

  async #read(): Promise<number> {
    const w = await Promise.all(this.#sources.map((_, i) => this.#readOne(i)));
    return w.reduce((a, b) => a + b, 0);
  }

  /** Take one sample now (besides the periodic ones). */
  sample(): Promise<void> {
    return this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    let w: number;
    try {
      w = await this.#read();
    } catch {
      w = Number.NaN;
    }
    this.#reading = false;
    const t = this.#now();
    const prev = this.#samples[this.#samples.length - 1];
    if (prev && !Number.isNaN(prev.w) && !Number.isNaN(w)) this.#total += ((prev.w + w) / 2) * ((t - prev.t) / 1000);
    this.#samples.push({ t, w });
    while (this.#samples.length > 2 && this.#samples[0]!.t < t - this.#keepMs) this.#samples.shift();
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]!;
      if (t >= waiter.t) {
        this.#waiters.splice(i, 1);
        waiter.wake();
      }
    }
  }

  async energyBetween(t0: number, t1: number): Promise<number | undefined> {
    const last = this.#samples[this.#samples.length - 1];
    if (this.#timer && (!last || last.t < t1)) {
      await new Promise<void>((wake) => {
        const timeout = setTimeout(wake, this.#intervalMs * 4 + 100);
        this.#waiters.push({
          t: t1,
          wake: () => {
            clearTimeout(timeout);
            wake();
          },
        });
      });
    }
    return integrateWindow(this.#samples, t0, t1);
  }

  powerW(): number | undefined {
    for (let i = this.#samples.length - 1; i >= 0; i--) {
      const w = this.#samples[i]!.w;
      if (!Number.isNaN(w)) return w;
    }
    return undefined;
  }

  totalJ(): number {
    return this.#total;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const w of this.#waiters.splice(0)) w.wake();
  }
}

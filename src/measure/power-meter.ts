import type { PowerSource } from '../core/device.ts';

/** Energy over one measurement window. When `valid` is false the numbers are NaN, never zero. */
export interface EnergyWindow {
  readonly name: string;
  readonly valid: boolean;
  readonly reason?: string;
  readonly durationS: number;
  /** Board input energy (the sources with role 'total'; all sources when none has that role), J. */
  readonly energyJ: number;
  /** Energy per source (rails and totals) by name, J. */
  readonly railsJ: Readonly<Record<string, number>>;
  readonly meanPowerW: number;
  readonly railsW: Readonly<Record<string, number>>;
  /** Sample instants the energy was computed from, both ends included. */
  readonly samples: number;
}

export interface WindowHandle {
  readonly id: number;
  readonly name: string;
}

export interface PowerMeterOptions {
  /** Sampling period, ms (50 by default, as the paper polled on Orin). */
  readonly periodMs?: number;
  /**
   * How long samples stay available to `energyBetween` once no open window needs them, ms (0 by
   * default: only windows opened with `begin` can be measured).
   */
  readonly keepMs?: number;
  /** Clock in ms (tests inject one); performance.now() by default. */
  readonly now?: () => number;
}

export type Reading = { readonly ok: true; readonly v: number } | { readonly ok: false; readonly error: string };

export interface Tick {
  readonly t: number;
  readonly readings: readonly Reading[];
}

/** A span [t0, t1] on the meter's clock, ms. */
export interface Span {
  readonly t0: number;
  readonly t1: number;
}

/**
 * Samples a set of power sources and turns the samples into energy: over windows opened and
 * closed around a piece of work (Zeus-style begin/end, nestable and overlapping), and between any
 * two instants the kept samples cover (one served batch). 'power' sources are integrated with the
 * trapezoid rule; 'energy-counter' sources are differenced, handling wrap-around at `wrapJ`. A
 * failed or missing read among the samples a result needs makes it invalid: NaN or undefined,
 * never zero.
 */
export class PowerMeter {
  readonly periodMs: number;
  readonly keepMs: number;
  private readonly now: () => number;
  /** Indices of the sources that make up board power. */
  private readonly board: readonly number[];
  private ticks: Tick[] = [];
  /** Absolute sequence number of ticks[0]. */
  private base = 0;
  private readonly open = new Map<number, { name: string; start: number }>();
  private nextId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly waiters: { t: number; wake: () => void }[] = [];
  private boardJ = 0;
  private boardW: number | undefined;

  constructor(
    readonly sources: readonly PowerSource[],
    opts: PowerMeterOptions = {},
  ) {
    this.periodMs = opts.periodMs ?? 50;
    if (!(this.periodMs > 0)) throw new RangeError(`periodMs must be positive, got ${this.periodMs}`);
    this.keepMs = opts.keepMs ?? 0;
    if (!(this.keepMs >= 0)) throw new RangeError(`keepMs must be ≥ 0, got ${this.keepMs}`);
    this.now = opts.now ?? (() => performance.now());
    this.board = boardIndices(sources);
  }

  /** Start periodic sampling. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.running) return;
      void this.sample().finally(() => {
        if (this.running) {
          this.timer = setTimeout(loop, this.periodMs);
          this.timer.unref?.();
        }
      });
    };
    loop();
  }

  /** Stop periodic sampling (windows can still be opened and closed; their ends are sampled). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.wake();
    await this.chain.catch(() => undefined);
  }

  /** Take one sample of every source now; returns its sequence number. Samples never overlap. */
  sample(): Promise<number> {
    const p = this.chain.then(() => this.takeTick());
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async takeTick(): Promise<number> {
    const t0 = this.now();
    const settled = await Promise.allSettled(this.sources.map((s) => s.read()));
    const t1 = this.now();
    const readings: Reading[] = settled.map((r, i) => {
      if (r.status === 'rejected') return { ok: false, error: `${this.sources[i]!.name}: ${(r.reason as Error)?.message ?? String(r.reason)}` };
      if (!Number.isFinite(r.value)) return { ok: false, error: `${this.sources[i]!.name}: read ${r.value}` };
      return { ok: true, v: r.value };
    });
    const tick: Tick = { t: (t0 + t1) / 2, readings };
    this.account(this.ticks[this.ticks.length - 1], tick);
    this.ticks.push(tick);
    this.prune();
    this.wakeWaiters(tick.t);
    return this.base + this.ticks.length - 1;
  }

  /** Board power at the new tick and the board energy since the previous one. */
  private account(prev: Tick | undefined, tick: Tick): void {
    const w = boardPowerAt(this.sources, this.board, prev, tick);
    if (w !== undefined) this.boardW = w;
    if (!prev) return;
    const pair = integrate('total', this.sources, [prev, tick]);
    if (pair.valid) this.boardJ += pair.energyJ;
  }

  private wakeWaiters(t: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (t >= waiter.t) {
        this.waiters.splice(i, 1);
        waiter.wake();
      }
    }
  }

  /** Drop samples that no open window needs and that are older than `keepMs` (keep the latest). */
  private prune(): void {
    let keepFrom = this.base + this.ticks.length - 1;
    for (const w of this.open.values()) keepFrom = Math.min(keepFrom, w.start);
    const cutoff = this.ticks[this.ticks.length - 1]!.t - this.keepMs;
    // The last sample at or before the cutoff stays: a span that starts at the cutoff needs it.
    let expired = 0;
    while (expired + 1 < this.ticks.length && this.ticks[expired + 1]!.t <= cutoff) expired++;
    const drop = Math.min(keepFrom - this.base, expired);
    if (drop > 0) {
      this.ticks.splice(0, drop);
      this.base += drop;
    }
  }

  /** Open a window: samples every source now. */
  async begin(name = `window-${this.nextId}`): Promise<WindowHandle> {
    const id = this.nextId++;
    // Register before sampling so pruning keeps the opening sample.
    this.open.set(id, { name, start: Number.POSITIVE_INFINITY });
    const seq = await this.sample();
    this.open.set(id, { name, start: seq });
    return { id, name };
  }

  /** Close a window: samples every source now and returns its energy. */
  async end(handle: WindowHandle): Promise<EnergyWindow> {
    const w = this.open.get(handle.id);
    if (!w || !Number.isFinite(w.start)) throw new Error(`window ${handle.name} is not open`);
    const last = await this.sample();
    this.open.delete(handle.id);
    const ticks = this.ticks.slice(w.start - this.base, last - this.base + 1);
    const result = integrate(w.name, this.sources, ticks);
    this.prune();
    return result;
  }

  /**
   * Energy over [t0, t1] (ms on the meter's clock) from the kept samples, J; undefined when they
   * do not cover the span or a read among them failed. While sampling periodically, waits for the
   * first sample at or after t1 (a few periods at most).
   */
  async energyBetween(t0: number, t1: number): Promise<number | undefined> {
    if (!(t1 >= t0)) return undefined;
    const last = this.ticks[this.ticks.length - 1];
    if (this.running && (!last || last.t < t1)) await this.sampleAfter(t1);
    const covering = this.ticksCovering(t0, t1);
    if (!covering) return undefined;
    if (t1 === t0) return 0;
    const w = integrate('span', this.sources, covering, { t0, t1 });
    return w.valid ? w.energyJ : undefined;
  }

  private sampleAfter(t: number): Promise<void> {
    return new Promise<void>((wake) => {
      const timeout = setTimeout(wake, this.periodMs * 4 + 100);
      this.waiters.push({
        t,
        wake: () => {
          clearTimeout(timeout);
          wake();
        },
      });
    });
  }

  /** From the last sample at or before t0 to the first at or after t1; undefined when not covered. */
  private ticksCovering(t0: number, t1: number): Tick[] | undefined {
    let lo = -1;
    for (let i = 0; i < this.ticks.length && this.ticks[i]!.t <= t0; i++) lo = i;
    if (lo < 0) return undefined;
    let hi = lo;
    while (hi < this.ticks.length && this.ticks[hi]!.t < t1) hi++;
    if (hi >= this.ticks.length) return undefined;
    return this.ticks.slice(lo, hi + 1);
  }

  /** Latest known board power, W. */
  powerW(): number | undefined {
    return this.boardW;
  }

  /** Board energy over every pair of consecutive valid samples since the first, J. */
  totalJ(): number {
    return this.boardJ;
  }
}

/** The sources whose sum is board power: those with role 'total', else all of them. */
function boardIndices(sources: readonly PowerSource[]): number[] {
  const totals = sources.flatMap((s, i) => (s.role === 'total' ? [i] : []));
  return totals.length > 0 ? totals : sources.map((_, i) => i);
}

/** Board power at `tick`: power sources as read, energy counters over the interval since `prev`. */
function boardPowerAt(sources: readonly PowerSource[], board: readonly number[], prev: Tick | undefined, tick: Tick): number | undefined {
  if (board.length === 0) return undefined;
  let w = 0;
  for (const i of board) {
    const r = tick.readings[i];
    if (!r?.ok) return undefined;
    if (sources[i]!.kind === 'power') {
      w += r.v;
      continue;
    }
    const p = prev?.readings[i];
    if (!prev || !p?.ok || !(tick.t > prev.t)) return undefined;
    const d = counterDelta(sources[i]!, p.v, r.v);
    if (d === undefined) return undefined;
    w += d / ((tick.t - prev.t) / 1000);
  }
  return w;
}

/** Energy between two counter readings, J, across one wrap; undefined when it went backwards without a wrap range. */
function counterDelta(src: PowerSource, from: number, to: number): number | undefined {
  const d = to - from;
  if (d >= 0) return d;
  return src.wrapJ ? d + src.wrapJ : undefined;
}

function invalid(name: string, reason: string, durationS: number, samples: number): EnergyWindow {
  return { name, valid: false, reason, durationS, energyJ: Number.NaN, railsJ: {}, meanPowerW: Number.NaN, railsW: {}, samples };
}

/** The first failed or missing read among the ticks, as a reason; undefined when all are good. */
function failedRead(sources: readonly PowerSource[], ticks: readonly Tick[]): string | undefined {
  const t0 = ticks[0]!.t;
  for (const tick of ticks)
    for (let s = 0; s < sources.length; s++) {
      const r = tick.readings[s];
      if (r?.ok) continue;
      const why = r && !r.ok ? r.error : `${sources[s]!.name}: missing`;
      return `failed read at +${((tick.t - t0) / 1000).toFixed(3)} s: ${why}`;
    }
  return undefined;
}

/** A power source's energy over [s, e] within the sample interval [a, b], J (trapezoid of the linear interpolation). */
function powerPart(a: Tick, b: Tick, i: number, s: number, e: number): number {
  const va = (a.readings[i] as { v: number }).v;
  const vb = (b.readings[i] as { v: number }).v;
  const at = (t: number) => (b.t === a.t ? va : va + ((vb - va) * (t - a.t)) / (b.t - a.t));
  return ((at(s) + at(e)) / 2) * ((e - s) / 1000);
}

/**
 * Energy from consecutive samples: over the whole run of ticks, or over `span` inside it (the
 * ticks must bracket it; an energy counter's interval is shared in proportion to the overlap).
 */
export function integrate(name: string, sources: readonly PowerSource[], ticks: readonly Tick[], span?: Span): EnergyWindow {
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  const t0 = span?.t0 ?? first?.t ?? 0;
  const t1 = span?.t1 ?? last?.t ?? 0;
  const durationS = first && last ? (t1 - t0) / 1000 : 0;
  if (sources.length === 0) return invalid(name, 'no power sources', durationS, ticks.length);
  if (ticks.length < 2 || !(durationS > 0)) return invalid(name, 'window too short: fewer than two samples at distinct times', durationS, ticks.length);
  const failed = failedRead(sources, ticks);
  if (failed) return invalid(name, failed, durationS, ticks.length);
  const railsJ: Record<string, number> = {};
  for (let s = 0; s < sources.length; s++) {
    const src = sources[s]!;
    let e = 0;
    for (let k = 1; k < ticks.length; k++) {
      const a = ticks[k - 1]!;
      const b = ticks[k]!;
      const from = Math.max(a.t, t0);
      const to = Math.min(b.t, t1);
      // Zero-length intervals count toward the span they start in, so a counter's step is never lost.
      if (to < from || (to === from && (a.t < t0 || a.t >= t1))) continue;
      if (src.kind === 'power') {
        e += powerPart(a, b, s, from, to);
        continue;
      }
      const prev = (a.readings[s] as { v: number }).v;
      const cur = (b.readings[s] as { v: number }).v;
      const d = counterDelta(src, prev, cur);
      if (d === undefined)
        return invalid(name, `${src.name}: energy counter went backwards (${prev} → ${cur} J) and has no wrap range`, durationS, ticks.length);
      e += b.t === a.t ? d : (d * (to - from)) / (b.t - a.t);
    }
    railsJ[src.name] = (railsJ[src.name] ?? 0) + e;
  }
  const energyJ = boardIndices(sources).reduce((a, i) => a + railsJ[sources[i]!.name]!, 0);
  const railsW: Record<string, number> = {};
  for (const [k, v] of Object.entries(railsJ)) railsW[k] = v / durationS;
  return { name, valid: true, durationS, energyJ, railsJ, meanPowerW: energyJ / durationS, railsW, samples: ticks.length };
}

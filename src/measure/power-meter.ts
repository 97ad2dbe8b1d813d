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
  /** Sample instants inside the window, its two ends included. */
  readonly samples: number;
}

export interface WindowHandle {
  readonly id: number;
  readonly name: string;
}

export interface PowerMeterOptions {
  /** Sampling period, ms (50 by default, as the paper polled on Orin). */
  readonly periodMs?: number;
  /** Clock in ms (tests inject one); performance.now() by default. */
  readonly now?: () => number;
}

export type Reading = { readonly ok: true; readonly v: number } | { readonly ok: false; readonly error: string };

export interface Tick {
  readonly t: number;
  readonly readings: readonly Reading[];
}

/**
 * Samples a set of power sources and turns the samples into energy over windows (Zeus-style
 * begin/end, nestable and overlapping). 'power' sources are integrated with the trapezoid rule;
 * 'energy-counter' sources are differenced, handling wrap-around at `wrapJ`. A failed or missing
 * read inside a window invalidates the window with the reason.
 */
export class PowerMeter {
  readonly periodMs: number;
  private readonly now: () => number;
  private ticks: Tick[] = [];
  /** Absolute sequence number of ticks[0]. */
  private base = 0;
  private readonly open = new Map<number, { name: string; start: number }>();
  private nextId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    readonly sources: readonly PowerSource[],
    opts: PowerMeterOptions = {},
  ) {
    this.periodMs = opts.periodMs ?? 50;
    if (!(this.periodMs > 0)) throw new RangeError(`periodMs must be positive, got ${this.periodMs}`);
    this.now = opts.now ?? (() => performance.now());
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
    this.ticks.push({ t: (t0 + t1) / 2, readings });
    this.prune();
    return this.base + this.ticks.length - 1;
  }

  /** Drop samples no open window needs (keep the latest). */
  private prune(): void {
    let keepFrom = this.base + this.ticks.length - 1;
    for (const w of this.open.values()) keepFrom = Math.min(keepFrom, w.start);
    const drop = keepFrom - this.base;
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
}

function invalid(name: string, reason: string, durationS: number, samples: number): EnergyWindow {
  return { name, valid: false, reason, durationS, energyJ: Number.NaN, railsJ: {}, meanPowerW: Number.NaN, railsW: {}, samples };
}

/** Energy over consecutive samples (exported for tests and offline use). */
export function integrate(name: string, sources: readonly PowerSource[], ticks: readonly Tick[]): EnergyWindow {
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  const durationS = first && last ? (last.t - first.t) / 1000 : 0;
  if (sources.length === 0) return invalid(name, 'no power sources', durationS, ticks.length);
  if (ticks.length < 2 || !(durationS > 0)) return invalid(name, 'window too short: fewer than two samples at distinct times', durationS, ticks.length);
  const railsJ: Record<string, number> = {};
  for (let s = 0; s < sources.length; s++) {
    const src = sources[s]!;
    let e = 0;
    for (let k = 0; k < ticks.length; k++) {
      const r = ticks[k]!.readings[s];
      if (!r?.ok) {
        const at = ((ticks[k]!.t - first!.t) / 1000).toFixed(3);
        const why = r && !r.ok ? r.error : `${src.name}: missing`;
        return invalid(name, `failed read at +${at} s: ${why}`, durationS, ticks.length);
      }
      if (k === 0) continue;
      const prev = ticks[k - 1]!.readings[s] as { v: number };
      const dt = (ticks[k]!.t - ticks[k - 1]!.t) / 1000;
      if (src.kind === 'power') e += ((prev.v + r.v) / 2) * dt;
      else {
        let d = r.v - prev.v;
        if (d < 0) {
          if (!src.wrapJ) return invalid(name, `${src.name}: energy counter went backwards (${prev.v} → ${r.v} J) and has no wrap range`, durationS, ticks.length);
          d += src.wrapJ;
        }
        e += d;
      }
    }
    railsJ[src.name] = (railsJ[src.name] ?? 0) + e;
  }
  const totals = sources.filter((s) => s.role === 'total');
  const energyJ = (totals.length > 0 ? totals : sources).reduce((a, s) => a + railsJ[s.name]!, 0);
  const railsW: Record<string, number> = {};
  for (const [k, v] of Object.entries(railsJ)) railsW[k] = v / durationS;
  return { name, valid: true, durationS, energyJ, railsJ, meanPowerW: energyJ / durationS, railsW, samples: ticks.length };
}

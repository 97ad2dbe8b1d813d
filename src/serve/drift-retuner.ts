/**
 * Drift detection and re-tuning while serving. A board drifts (a hotter enclosure, throttling,
 * another process on the GPU): latency and energy leave what the configuration was chosen for.
 *
 * Detection: every batch of the served model gives ln(service time) and ln(energy per row), each
 * against its reference at that batch size (the first batch of that size after the configuration
 * was applied). A two-sided CUSUM per signal (cusum.ts), calibrated on the first batches after each
 * configuration change, alarms when either leaves its noise band — a sequential test, not a fixed
 * threshold.
 *
 * Re-tuning, on an alarm (with the tuning run's surrogates):
 *  1. re-select: the surrogates' predictions over the whole grid, corrected by the offset measured
 *     now at the current configuration (ln measured − ln predicted, per signal; the latency offset
 *     relative to the one measured at the start), give the lowest-energy configuration predicted
 *     to meet SLO × (1 − margin) at 90 % confidence;
 *  2. refresh, when that is not enough (nothing predicted feasible, the shift is over
 *     `refreshAboveShift`, or the re-selected configuration is off its corrected prediction): a
 *     few probe trials — the next-best predicted configurations served for a few batches each,
 *     started only in low-load moments and only when predicted to meet the SLO, aborted at once when
 *     a batch runs over the service time the SLO allows — give local offsets (a kernel-weighted
 *     correction in the surrogates' encoded space), and the selection is made again with them.
 * The probe budget: at most `configs` probes per drift episode, `batchesPerConfig` batches each,
 * and probe batches at most `maxShare` of all batches served (the first episode always may probe).
 * Every alarm and change is logged (the admin API's GET /v1/drift) and counted in /metrics.
 */
import { mean } from '../numerics/stats.ts';
import type { Config } from '../core/config.ts';
import type { FrequencyConfig } from '../core/device.ts';
import type { StoredSurrogates } from '../core/tuning-run.ts';
import { Cusum, type CusumOptions, type CusumView } from './cusum.ts';
import type { BatchEvent } from './dynamic-batcher.ts';
import type { ServingContext } from './serving-context.ts';
import { type SurrogateModel, surrogateModel } from './surrogate-grid.ts';

export type RetuneMode = 'retune' | 'detect';

export interface ProbeBudget {
  /** Probe configurations per drift episode (3). */
  readonly configs: number;
  /** Batches served at each probe (8). */
  readonly batchesPerConfig: number;
  /** Probe batches as a share of all batches served, at most (0.05). */
  readonly maxShare: number;
  /** A probe starts only when the device was busy less than this share of the last second (0.5) and nothing is queued. */
  readonly lowLoadUtilisation: number;
  /** Longest wait for a low-load moment, and longest probe, ms (5000). */
  readonly timeoutMs: number;
}

export const DEFAULT_PROBE_BUDGET: ProbeBudget = { configs: 3, batchesPerConfig: 8, maxShare: 0.05, lowLoadUtilisation: 0.5, timeoutMs: 5000 };

export interface DriftRetunerOptions {
  readonly ctx: ServingContext;
  /** The model whose batches are watched (the profile's). */
  readonly model: string;
  readonly surrogates?: StoredSurrogates;
  /** The latency a selected configuration must be predicted to meet: SLO × (1 − the run's margin), ms. */
  readonly limitMs: number;
  /** 'retune' (default) or 'detect' (log and count alarms, keep the configuration). */
  readonly mode?: RetuneMode;
  readonly cusum?: CusumOptions;
  readonly probe?: Partial<ProbeBudget>;
  /** A shift (|ln ratio|) above which re-selection alone is not trusted and probes refresh the surrogates (0.03). */
  readonly refreshAboveShift?: number;
  /** Wall clock, ms (performance.now). */
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

export type DriftAction = 'calibrated' | 'alarm' | 'reselect' | 'keep' | 'probe' | 'probe-aborted' | 'refresh' | 'no-surrogates';

export interface DriftLogEntry {
  readonly at: string;
  /** ms on the retuner's clock. */
  readonly t: number;
  readonly action: DriftAction;
  readonly detail: string;
  readonly signal?: 'service' | 'energy';
  readonly direction?: 'up' | 'down';
  /** ln(measured / reference) of the last batches, per signal. */
  readonly shift?: { readonly service: number; readonly energy: number };
  readonly from?: Config;
  readonly to?: Config;
  /** Corrected predictions for the configuration chosen. */
  readonly predicted?: { readonly energyPerQueryJ: number; readonly latencyTailMs: number };
}

interface Obs {
  readonly b: number;
  readonly lnSvc: number;
  /** ln energy per row; NaN when the batch's energy is not known. */
  readonly lnE: number;
  readonly at: number;
}

interface Offset {
  readonly x: Float64Array;
  readonly offE: number;
  readonly offL: number;
}

const sameConfig = (a: Config, b: Config) =>
  (['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch'] as const).every((k) => a[k] === undefined || b[k] === undefined || a[k] === b[k]);
const clocksOf = (c: Config): FrequencyConfig => ({
  ...(c.cpuHz !== undefined ? { cpuHz: c.cpuHz } : {}),
  ...(c.gpuMinHz !== undefined ? { gpuMinHz: c.gpuMinHz } : {}),
  ...(c.gpuMaxHz !== undefined ? { gpuMaxHz: c.gpuMaxHz } : {}),
  ...(c.emcHz !== undefined ? { emcHz: c.emcHz } : {}),
});
const describe = (c: Config) =>
  `batch ${c.batch}, GPU ${c.gpuMinHz !== undefined ? `${(c.gpuMinHz / 1e6).toFixed(0)}–` : ''}${((c.gpuMaxHz ?? 0) / 1e6).toFixed(0)} MHz, EMC ${((c.emcHz ?? 0) / 1e6).toFixed(0)} MHz${c.cpuHz !== undefined ? `, CPU ${(c.cpuHz / 1e6).toFixed(0)} MHz` : ''}`;

/** Batches taken after an alarm to measure the board as it is now. */
const AFTER_ALARM_BATCHES = 4;

/** A probed configuration must be predicted to meet this share of the latency limit. */
const PROBE_HEADROOM = 0.8;

/** Least distance between probed configurations in the surrogates' encoded space ([0, 1] per knob). */
const PROBE_SPACING = 0.15;

/** z for 90 % one-sided confidence. */
const Z90 = 1.2816;

export class DriftRetuner {
  readonly model: string;
  readonly mode: RetuneMode;
  readonly budget: ProbeBudget;
  readonly #ctx: ServingContext;
  readonly #sur: SurrogateModel | null;
  readonly #limitMs: number;
  readonly #refreshAbove: number;
  readonly #now: () => number;
  readonly #logLine: (line: string) => void;
  readonly #cusumOpts: CusumOptions;
  readonly #svc: Cusum;
  readonly #energy: Cusum;
  readonly #refSvc = new Map<number, number>();
  readonly #refE = new Map<number, number>();
  readonly #recent: { x: number; y: number }[] = [];
  readonly #log: DriftLogEntry[] = [];
  /** Batches at the configuration in force (since it was applied). */
  #obs: Obs[] = [];
  #config: Config | undefined;
  /** ln service − ln predicted tail at the start: service time's offset from tail latency (κ). */
  #kappa: number | undefined;
  #state: 'calibrating' | 'watching' | 'retuning' | 'probing' = 'calibrating';
  #batches = 0;
  #probeBatches = 0;
  #episodes = 0;
  #busy: { at: number; ms: number }[] = [];
  /** Where batches go while the re-tuner collects them itself (after an alarm, during a probe). */
  #sink: { readonly fn: (o: Obs) => void; readonly probe: boolean } | null = null;
  #driftSince: number | undefined;
  #closed = false;

  constructor(opts: DriftRetunerOptions) {
    this.model = opts.model;
    this.mode = opts.mode ?? 'retune';
    this.budget = { ...DEFAULT_PROBE_BUDGET, ...opts.probe };
    this.#ctx = opts.ctx;
    this.#sur = opts.surrogates ? surrogateModel(opts.surrogates) : null;
    this.#limitMs = opts.limitMs;
    this.#refreshAbove = opts.refreshAboveShift ?? 0.03;
    this.#now = opts.now ?? (() => performance.now());
    this.#logLine = opts.log ?? (() => {});
    this.#cusumOpts = opts.cusum ?? {};
    this.#svc = new Cusum(this.#cusumOpts);
    this.#energy = new Cusum(this.#cusumOpts);
  }

  /** Feed one batch event (the server subscribes this to the batcher). */
  onBatch(e: BatchEvent): void {
    if (this.#closed || e.model !== this.model || e.failed || e.size < 1) return;
    const svcMs = e.backendMs > 0 ? e.backendMs : e.serviceMs;
    if (!(svcMs > 0)) return;
    const now = this.#now();
    this.#batches++;
    this.#busy.push({ at: now, ms: svcMs });
    while (this.#busy.length > 0 && this.#busy[0]!.at < now - 1000) this.#busy.shift();
    const o: Obs = { b: e.size, lnSvc: Math.log(svcMs), lnE: e.energyJ !== undefined && e.energyJ > 0 ? Math.log(e.energyJ / e.size) : Number.NaN, at: now };
    if (this.#sink) {
      if (this.#sink.probe) {
        this.#probeBatches++;
        this.#ctx.metrics.probeBatches.inc({ model: this.model });
      }
      this.#sink.fn(o);
      return;
    }
    if (this.#state === 'retuning') return;
    this.#obs.push(o);
    if (this.#obs.length > 256) this.#obs.shift();
    // references per batch size: the first batch of that size at this configuration
    if (!this.#refSvc.has(o.b)) this.#refSvc.set(o.b, o.lnSvc);
    if (!Number.isNaN(o.lnE) && !this.#refE.has(o.b)) this.#refE.set(o.b, o.lnE);
    const xs = o.lnSvc - this.#refSvc.get(o.b)!;
    const xe = Number.isNaN(o.lnE) ? Number.NaN : o.lnE - this.#refE.get(o.b)!;
    this.#recent.push({ x: xs, y: xe });
    if (this.#recent.length > 8) this.#recent.shift();
    const wasCalibrated = this.#svc.calibrated;
    const a = this.#svc.add(xs);
    const b = Number.isNaN(xe) ? null : this.#energy.add(xe);
    this.#publish();
    if (!wasCalibrated && this.#svc.calibrated) this.#onCalibrated();
    const alarm = a ? { signal: 'service' as const, direction: a } : b ? { signal: 'energy' as const, direction: b } : null;
    if (alarm && this.#state === 'watching') void this.#onAlarm(alarm.signal, alarm.direction);
  }

  #publish(): void {
    const m = this.#ctx.metrics;
    const s = this.#svc.view;
    const e = this.#energy.view;
    m.driftStatistic.set({ model: this.model, signal: 'service', direction: 'up' }, s.up);
    m.driftStatistic.set({ model: this.model, signal: 'service', direction: 'down' }, s.down);
    m.driftStatistic.set({ model: this.model, signal: 'energy', direction: 'up' }, e.up);
    m.driftStatistic.set({ model: this.model, signal: 'energy', direction: 'down' }, e.down);
    const sh = this.#shift();
    if (Number.isFinite(sh.service)) m.driftLogRatio.set({ model: this.model, signal: 'service' }, sh.service);
    if (Number.isFinite(sh.energy)) m.driftLogRatio.set({ model: this.model, signal: 'energy' }, sh.energy);
  }

  /** ln(measured / reference) over the last few batches. */
  #shift(): { service: number; energy: number } {
    const ys = this.#recent.map((r) => r.y).filter((y) => !Number.isNaN(y));
    return { service: mean(this.#recent.map((r) => r.x)), energy: mean(ys) };
  }

  #record(entry: Omit<DriftLogEntry, 'at' | 't'>): void {
    const full: DriftLogEntry = { at: new Date().toISOString(), t: this.#now(), ...entry };
    this.#log.push(full);
    if (this.#log.length > 500) this.#log.shift();
    if (entry.action !== 'calibrated' && entry.action !== 'alarm') this.#ctx.metrics.retuneActions.inc({ model: this.model, action: entry.action });
    this.#logLine(`drift: ${entry.action}: ${entry.detail}`);
  }

  async #currentConfig(): Promise<Config> {
    return { ...(await this.#ctx.currentConfig()), batch: this.#ctx.batcher.maxBatch(this.model) ?? 1 };
  }

  /** Offsets of the observations against the surrogates at a configuration: energy, service (ln). */
  #offsets(cfg: Config, obs: readonly Obs[]): { offE: number; offSvc: number } | null {
    if (!this.#sur) return null;
    const e: number[] = [];
    const s: number[] = [];
    for (const o of obs) {
      const p = this.#sur.predict({ ...cfg, batch: o.b });
      if (!p) return null;
      if (!Number.isNaN(o.lnE)) e.push(o.lnE - p.lnE);
      s.push(o.lnSvc - p.lnL);
    }
    return { offE: mean(e), offSvc: mean(s) };
  }

  #onCalibrated(): void {
    if (this.#state !== 'calibrating') return;
    this.#state = 'watching';
    void this.#currentConfig().then((cfg) => {
      this.#config = cfg;
      const off = this.#offsets(cfg, this.#obs);
      if (off && this.#kappa === undefined) this.#kappa = off.offSvc;
      this.#record({
        action: 'calibrated',
        detail: `noise band set at ${describe(cfg)} from ${this.#obs.length} batches (σ service ${(this.#svc.view.sigma * 100).toFixed(1)} %, energy ${(this.#energy.view.sigma * 100).toFixed(1)} %)${off ? `; measured vs the surrogates: energy ${((Math.exp(off.offE) - 1) * 100).toFixed(1)} %` : ''}`,
        to: cfg,
      });
    });
  }

  async #onAlarm(signal: 'service' | 'energy', direction: 'up' | 'down'): Promise<void> {
    this.#state = 'retuning';
    this.#driftSince ??= this.#now();
    // the shift since the change point of the alarming test; the other signal over the same batches
    const recent = this.#shift();
    const shift = {
      service: signal === 'service' ? this.#svc.shift : recent.service,
      energy: signal === 'energy' ? this.#energy.shift : recent.energy,
    };
    this.#ctx.metrics.driftAlarms.inc({ model: this.model, signal, direction });
    this.#record({
      action: 'alarm',
      signal,
      direction,
      shift,
      detail: `${signal} ${direction}: service ${pctOf(shift.service)}, energy per row ${pctOf(shift.energy)} against the reference at this configuration`,
    });
    try {
      if (this.mode === 'detect') {
        this.#restart();
        return;
      }
      await this.#retune(shift);
    } catch (e) {
      this.#logLine(`drift: re-tuning failed: ${(e as Error).message}`);
      this.#restart();
    }
  }

  /** Calibrate again at the configuration in force. */
  #restart(): void {
    this.#svc.reset();
    this.#energy.reset();
    this.#refSvc.clear();
    this.#refE.clear();
    this.#recent.length = 0;
    this.#obs = [];
    this.#state = 'calibrating';
  }

  /**
   * The surrogates' prediction at grid point i corrected by the measured offsets: a kernel-weighted
   * mean of the offsets of the measured points (length scale 0.3 in the encoded space), so one
   * measured point shifts the whole grid and probes correct it locally.
   */
  #corrected(i: number, points: readonly Offset[]): { lnE: number; lnL: number } {
    const g = this.#sur!.grid;
    let w = 0;
    let oe = 0;
    let ol = 0;
    for (const p of points) {
      let d2 = 0;
      for (let k = 0; k < g.d; k++) d2 += (g.x[i * g.d + k]! - p.x[k]!) ** 2;
      const wi = Math.exp(-d2 / (2 * 0.3 ** 2)) + 1e-9;
      w += wi;
      oe += wi * p.offE;
      ol += wi * p.offL;
    }
    return { lnE: g.lnE[i]! + oe / w, lnL: g.lnL[i]! + ol / w };
  }

  /** The lowest corrected energy among points predicted to meet the limit at 90 % confidence (skipping `exclude`). */
  #select(points: readonly Offset[], limitMs: number, exclude: (c: Config) => boolean = () => false): { i: number; lnE: number; lnL: number } | null {
    const g = this.#sur!.grid;
    const logLimit = Math.log(limitMs);
    let best: { i: number; lnE: number; lnL: number } | null = null;
    for (let i = 0; i < g.size; i++) {
      if (exclude(g.configs[i]!)) continue;
      const p = this.#corrected(i, points);
      if (p.lnL + Z90 * g.sdL[i]! > logLimit) continue;
      if (!best || p.lnE < best.lnE) best = { i, ...p };
    }
    return best;
  }

  /** Until nothing of the model is queued (at most the probe timeout): requests admitted under one plan are served under it. */
  async #queueEmpty(): Promise<void> {
    const end = this.#now() + this.budget.timeoutMs;
    while (!this.#closed && this.#ctx.batcher.queuedRows(this.model) > 0 && this.#now() < end) await new Promise((r) => setTimeout(r, 2).unref());
  }

  async #apply(to: Config, lnLto: number, lnLfrom: number): Promise<void> {
    // a new batch size or clocks under a full queue would serve what was admitted for the old ones
    await this.#queueEmpty();
    await this.#ctx.applyConfig(clocksOf(to), to.batch);
    // the service-time estimate follows the predicted change at once, pessimistically (the prediction
    // for a configuration not yet measured may be off); the first batches there correct it
    this.#ctx.batcher.serviceTimes.rescale(this.model, Math.exp(lnLto - lnLfrom) / PROBE_HEADROOM);
    this.#config = to;
  }

  async #retune(shift: { service: number; energy: number }): Promise<void> {
    const from = await this.#currentConfig();
    this.#episodes++;
    if (!this.#sur) {
      this.#record({ action: 'no-surrogates', detail: 'no tuning-run surrogates to re-select from: keeping the configuration and calibrating again', shift });
      this.#restart();
      return;
    }
    // the board as it is now: the batches since the change point, and a few more taken after the alarm
    const since = this.#obs.slice(-Math.max(1, this.#svc.sinceChange, this.#energy.sinceChange));
    const after = await this.#collect(AFTER_ALARM_BATCHES, false, () => false);
    const off = this.#offsets(from, [...since, ...after]);
    const x0 = this.#sur.encode(from);
    if (!off || !x0) {
      this.#record({ action: 'keep', detail: `the configuration in force (${describe(from)}) is outside the surrogates' space`, shift });
      this.#restart();
      return;
    }
    const kappa = this.#kappa ?? off.offSvc;
    const points: Offset[] = [{ x: x0, offE: off.offE, offL: off.offSvc - kappa }];
    const pick = this.#select(points, this.#limitMs);
    const pFrom = this.#sur.predict(from)!;
    const lnLfrom = pFrom.lnL + off.offSvc - kappa;
    let current = from;
    let currentLnL = lnLfrom;
    let moved = false;
    if (pick && !sameConfig(this.#sur.grid.configs[pick.i]!, from)) {
      const to = this.#sur.grid.configs[pick.i]!;
      await this.#apply(to, pick.lnL, lnLfrom);
      moved = true;
      current = to;
      currentLnL = pick.lnL;
      this.#record({
        action: 'reselect',
        detail: `${describe(from)} → ${describe(to)} (surrogates corrected by the offset measured now)`,
        shift,
        from,
        to,
        predicted: { energyPerQueryJ: Math.exp(pick.lnE), latencyTailMs: Math.exp(pick.lnL) },
      });
    } else if (pick) {
      this.#record({ action: 'keep', detail: `re-selection keeps ${describe(from)}`, shift, from, to: from });
    }
    const needRefresh = !pick || moved || Math.abs(shift.energy) > this.#refreshAbove || Math.abs(shift.service) > this.#refreshAbove;
    if (needRefresh && this.#probeAllowed()) {
      const chosen = await this.#refresh(points, current, currentLnL, shift);
      if (chosen) current = chosen;
    }
    this.#restart();
  }

  #probeAllowed(): boolean {
    const b = this.budget;
    if (b.configs < 1 || b.batchesPerConfig < 1) return false;
    return this.#episodes <= 1 || this.#probeBatches + b.batchesPerConfig <= b.maxShare * this.#batches;
  }

  #utilisation(): number {
    const now = this.#now();
    return this.#busy.filter((x) => x.at >= now - 1000).reduce((s, x) => s + x.ms, 0) / 1000;
  }

  async #lowLoad(): Promise<boolean> {
    const end = this.#now() + this.budget.timeoutMs;
    while (!this.#closed && this.#now() < end) {
      if (this.#ctx.batcher.queuedRows(this.model) === 0 && this.#utilisation() < this.budget.lowLoadUtilisation) return true;
      await new Promise((r) => setTimeout(r, 20).unref());
    }
    return false;
  }

  /** The next `n` batches (fewer when `stop` says so, or at the timeout), kept from the drift test. */
  #collect(n: number, probe: boolean, stop: (o: Obs) => boolean): Promise<Obs[]> {
    const got: Obs[] = [];
    return new Promise<Obs[]>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#sink = null;
        resolve(got);
      };
      const timer = setTimeout(finish, this.budget.timeoutMs);
      timer.unref();
      this.#sink = {
        probe,
        fn: (o) => {
          got.push(o);
          if (stop(o) || got.length >= n) finish();
        },
      };
    });
  }

  /** Probe trials, then the selection again with the local offsets they measured. */
  async #refresh(points: Offset[], current: Config, currentLnL: number, shift: { service: number; energy: number }): Promise<Config | null> {
    const sur = this.#sur!;
    const kappa = this.#kappa ?? 0;
    const probed: Config[] = [current];
    // the service time the SLO allows one batch: its tail must fit twice in the limit (batching-policy.ts)
    const svcCap = this.#limitMs / 2;
    for (let n = 0; n < this.budget.configs && this.#probeAllowed(); n++) {
      // the next candidate: best corrected prediction among configurations not yet measured
      const g = sur.grid;
      // not one already measured, nor one next to it: each probe should teach the correction something new
      const near = (c: Config) => {
        const x = sur.encode(c);
        return probed.some((p) => {
          const y = sur.encode(p);
          if (!x || !y) return sameConfig(p, c);
          let d2 = 0;
          for (let k = 0; k < x.length; k++) d2 += (x[k]! - y[k]!) ** 2;
          return d2 < PROBE_SPACING ** 2;
        });
      };
      // a probe serves real traffic: it must be predicted to meet the SLO with room to spare
      const cand = this.#select(points, this.#limitMs * PROBE_HEADROOM, near);
      if (!cand) break;
      const cfg = g.configs[cand.i]!;
      probed.push(cfg);
      if (!(await this.#lowLoad())) {
        this.#record({ action: 'probe-aborted', detail: `no low-load moment within ${this.budget.timeoutMs} ms for ${describe(cfg)}`, shift });
        break;
      }
      let overCap = false;
      const done = this.#collect(this.budget.batchesPerConfig, true, (o) => {
        if (Math.exp(o.lnSvc) > svcCap) overCap = true;
        return overCap;
      });
      await this.#apply(cfg, cand.lnL, currentLnL);
      const obs = await done;
      const off = this.#offsets(cfg, obs);
      const x = sur.encode(cfg);
      if (off && x && obs.length > 0 && Number.isFinite(off.offE)) points.push({ x, offE: off.offE, offL: off.offSvc - kappa });
      this.#record({
        action: overCap ? 'probe-aborted' : 'probe',
        detail: `${describe(cfg)}: ${obs.length} batches${off ? `, energy ${pctOf(off.offE)} and service ${pctOf(off.offSvc - kappa)} against the surrogates` : ''}${overCap ? `; a batch ran over the ${svcCap.toFixed(1)} ms the SLO allows` : ''}`,
        shift,
        to: cfg,
      });
      current = cfg;
      currentLnL = cand.lnL;
      if (overCap) break;
    }
    const pick = this.#select(points, this.#limitMs);
    const to = pick ? sur.grid.configs[pick.i]! : probed[0]!;
    const lnLto = pick ? pick.lnL : currentLnL;
    if (!sameConfig(to, current)) await this.#apply(to, lnLto, currentLnL);
    this.#record({
      action: 'refresh',
      detail: `after ${probed.length - 1} probe(s): ${describe(to)}`,
      shift,
      from: probed[0],
      to,
      ...(pick ? { predicted: { energyPerQueryJ: Math.exp(pick.lnE), latencyTailMs: Math.exp(pick.lnL) } } : {}),
    });
    return to;
  }

  /** What the admin API shows. */
  view(): {
    model: string;
    mode: RetuneMode;
    state: string;
    surrogates: boolean;
    config: Config | undefined;
    limitMs: number;
    cusum: { service: CusumView; energy: CusumView };
    probeBudget: ProbeBudget & { batchesSpent: number; batchesServed: number };
    log: readonly DriftLogEntry[];
  } {
    return {
      model: this.model,
      mode: this.mode,
      state: this.#state,
      surrogates: this.#sur !== null,
      config: this.#config,
      limitMs: this.#limitMs,
      cusum: { service: this.#svc.view, energy: this.#energy.view },
      probeBudget: { ...this.budget, batchesSpent: this.#probeBatches, batchesServed: this.#batches },
      log: [...this.#log],
    };
  }

  /** Entries of the log so far. */
  get log(): readonly DriftLogEntry[] {
    return this.#log;
  }

  close(): void {
    this.#closed = true;
    this.#sink = null;
  }
}

const pctOf = (lnRatio: number) => (Number.isFinite(lnRatio) ? `${lnRatio >= 0 ? '+' : ''}${((Math.exp(lnRatio) - 1) * 100).toFixed(1)} %` : 'n/a');

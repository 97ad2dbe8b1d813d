/**
 * The tuning driver of a fleet run: keeps `parallel` trials in the store's queue for agents to
 * lease, each suggested by constrained BO given the ones still in flight (pending points), and
 * reads the measured trials back, normalised by the per-board offset model. It never measures
 * anything itself, and every step is one call (`fill`, `collect`), so the same driver runs against
 * real agents in real time or simulated ones in virtual time.
 */
import type { Config } from '../core/config.ts';
import { configKey } from '../core/config.ts';
import { latencyLimitMs, type Slo } from '../core/slo.ts';
import { ConstrainedBo } from '../optimize/constrained-bo.ts';
import type { Observation } from '../optimize/optimizer.ts';
import { createEncoder } from '../optimize/search-space.ts';
import { type PendingStrategy, suggestWithPending } from '../optimize/pending-points.ts';
import type { FleetTrialRecord, Store, TrialTask } from '../store/store.ts';
import type { KnobSpace } from '../tune/knob-space.ts';
import { type BoardOffset, estimateBoardOffsets, normalised, worstLatencyOffset } from './board-offsets.ts';

/** The pending-point strategy fleet runs use unless told otherwise (chosen by bench/fleet.bench.ts). */
export const DEFAULT_PENDING_STRATEGY: PendingStrategy = 'pessimistic-believer';

export interface ParallelTunerOptions {
  readonly store: Store;
  readonly runId: string;
  readonly space: KnobSpace;
  readonly slo: Slo;
  /** The recommendation must measure at most SLO × (1 − margin). */
  readonly margin: number;
  /** Search trials (the boards' reference trials come on top). */
  readonly budget: number;
  readonly seed: number;
  /** Search trials in flight at once. */
  readonly parallel: number;
  /** What every trial measures besides its configuration. */
  readonly task: Omit<TrialTask, 'config'>;
  readonly strategy?: PendingStrategy;
  /** Per-board offset model (default on); off = every board is taken for the same board. */
  readonly boardOffsets?: boolean;
  /** Windows of each board's reference trial (default the search trials'). */
  readonly referenceRepeats?: number;
  /** Quasi-random points before the model takes over (default the optimiser's: dimensions + 2). */
  readonly initialPoints?: number;
  /**
   * Confirmation rounds after the search (default DEFAULT_CONFIRM_ROUNDS; 0 = none): the best
   * configuration is measured again by `parallel` boards at once, and it is recommended only when
   * its tail latency meets the limit on the slowest board (see holdsOnSlowestBoard); otherwise the next best
   * is confirmed, up to this many rounds.
   */
  readonly confirmRounds?: number;
  /** Margin under the SLO every board's own measurements must keep (default `margin`). */
  readonly boardMargin?: number;
}

/** Confirmation rounds a fleet run may spend on its recommendation (chosen by bench/fleet.bench.ts). */
export const DEFAULT_CONFIRM_ROUNDS = 3;

/** The state of the recommendation's confirmation. */
export interface FleetConfirmation {
  readonly rounds: number;
  /** Configurations that missed the limit on some board, in the order they were tried. */
  readonly rejected: readonly Config[];
  readonly confirmed: Config | null;
}

/** The best configuration measured so far, as the fleet's mean board. */
export interface FleetIncumbent {
  readonly config: Config;
  /** ln energy per query and ln tail latency, normalised, averaged over its trials. */
  readonly energy: number;
  readonly latency: number;
  readonly trials: number;
  /** Boards that measured it. */
  readonly boards: number;
  /** Its confirmation round came back within the limit on the slowest board. */
  readonly confirmed: boolean;
}

const isSearch = (t: FleetTrialRecord) => t.source !== 'baseline' && t.source !== 'confirm';

const noiseVar = (cv: number, repeats = 3) => (Number.isFinite(cv) && cv > 0 ? (cv * cv) / Math.max(1, repeats) : 0);

export class ParallelTuner {
  private readonly trials: FleetTrialRecord[] = [];
  private readonly pending = new Map<number, readonly number[]>();
  private postedCount = 0;
  private nextIndex = 0;
  private stopped = false;
  private readonly confirming = new Set<number>();
  private candidate: Config | null = null;
  private readonly rejected = new Map<string, Config>();
  private confirmedKey: string | null = null;
  private confirmRoundsDone = 0;
  private confirmationOver = false;
  readonly strategy: PendingStrategy;

  constructor(private readonly o: ParallelTunerOptions) {
    this.strategy = o.strategy ?? DEFAULT_PENDING_STRATEGY;
  }

  /** Search trials measured. */
  get searchDone(): number {
    return this.trials.filter(isSearch).length;
  }

  /** Search trials posted so far. */
  get posted(): number {
    return this.postedCount;
  }

  /** Search trials posted and not measured yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The budget is measured, or the optimiser has nothing more to suggest and nothing is in flight. */
  get searchFinished(): boolean {
    return this.searchDone >= this.o.budget || (this.stopped && this.pending.size === 0);
  }

  /** The search is over and so is the recommendation's confirmation. */
  get finished(): boolean {
    return this.searchFinished && (this.confirmRounds === 0 || this.confirmationOver);
  }

  private get confirmRounds(): number {
    return this.o.confirmRounds ?? DEFAULT_CONFIRM_ROUNDS;
  }

  get confirmation(): FleetConfirmation {
    return {
      rounds: this.confirmRoundsDone,
      rejected: [...this.rejected.values()],
      confirmed: this.confirmedKey === null ? null : (this.trials.find((t) => configKey(t.config) === this.confirmedKey)?.config ?? null),
    };
  }

  /**
   * Whether `config` holds the latency limit on the slowest board: its tail latency, averaged over
   * every trial of it normalised to the mean board, plus the slowest board's latency offset. The
   * offsets come from the boards' medians at configurations several boards measured (the
   * confirmation round is one), which a window measures far more precisely than its tail; the tail
   * is the median over all the boards' trials (the mean below three), so one noisy p99 window
   * neither rejects nor passes it.
   */
  holdsOnSlowestBoard(config: Config, offsets = this.offsets()): boolean {
    const limit = Math.log(latencyLimitMs(this.o.slo, this.o.boardMargin ?? this.o.margin));
    const key = configKey(config);
    const tails: number[] = [];
    for (const t of this.trials) {
      if (configKey(t.config) !== key) continue;
      if (!t.measurement.valid || !(t.measurement.latencyTailMs > 0)) return false;
      tails.push(normalised(t, offsets).latency);
    }
    if (tails.length === 0) return false;
    // the median once three trials measured it: a window with a few stalled batches reads a p99 far
    // above the configuration's (60 % above, against 1-3 % of board-to-board spread)
    const sorted = tails.sort((a, b) => a - b);
    const h = sorted.length >> 1;
    const centre = sorted.length < 3 ? sorted.reduce((s, x) => s + x, 0) / sorted.length : sorted.length % 2 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
    return centre + worstLatencyOffset(offsets) <= limit;
  }

  /** After the search: judge the confirmation that came back, post the next one; returns trials posted. */
  private async confirm(now?: number): Promise<number> {
    if (this.confirmationOver || this.confirming.size > 0) return 0;
    if (this.candidate) {
      if (this.holdsOnSlowestBoard(this.candidate)) {
        this.confirmedKey = configKey(this.candidate);
        this.confirmationOver = true;
        return 0;
      }
      this.rejected.set(configKey(this.candidate), this.candidate);
      this.candidate = null;
    }
    const next = this.confirmRoundsDone < this.confirmRounds ? this.incumbent() : null;
    if (!next) {
      this.confirmationOver = true;
      return 0;
    }
    this.candidate = next.config;
    this.confirmRoundsDone++;
    const task: TrialTask = { ...this.o.task, config: next.config };
    const ids = await this.o.store.postTrials(
      this.o.runId,
      Array.from({ length: Math.max(1, this.o.parallel) }, () => ({ source: 'confirm' as const, task })),
      now,
    );
    for (const id of ids) this.confirming.add(id);
    return ids.length;
  }

  get stopReason(): 'budget' | 'converged' {
    return this.searchDone >= this.o.budget ? 'budget' : 'converged';
  }

  /** Every measured trial of the run so far (references included), in index order. */
  get measured(): readonly FleetTrialRecord[] {
    return this.trials;
  }

  offsets(): Map<string, BoardOffset> {
    return this.o.boardOffsets === false ? new Map() : estimateBoardOffsets(this.trials, this.o.task.trial.repeats, this.o.referenceRepeats);
  }

  /** ln of the latency limit the normalised latency must meet (the slowest board's offset taken off). */
  threshold(offsets = this.offsets()): number {
    return Math.log(latencyLimitMs(this.o.slo, this.o.margin)) - worstLatencyOffset(offsets);
  }

  /** The trials as the optimiser sees them: normalised, in the search space (others left out). */
  observations(offsets = this.offsets()): Observation[] {
    const out: Observation[] = [];
    const repeats = this.o.task.trial.repeats;
    for (const t of this.trials) {
      const point = this.o.space.toPoint(t.config);
      if (!point) continue;
      const m = t.measurement;
      if (!m.valid || !(m.energyPerQueryJ > 0) || !(m.latencyTailMs > 0)) {
        out.push({ point, valid: false });
        continue;
      }
      const n = normalised(t, offsets);
      out.push({
        point,
        valid: true,
        objective: n.energy,
        constraint: n.latency,
        objectiveNoiseVar: noiseVar(m.noise.energyCv, repeats),
        constraintNoiseVar: noiseVar(m.noise.latencyTailCv, repeats),
      });
    }
    return out;
  }

  /** Post suggestions until `parallel` search trials are in flight (or the budget is posted); returns how many were posted. */
  async fill(now?: number): Promise<number> {
    if (this.searchFinished) return this.confirmRounds > 0 ? this.confirm(now) : 0;
    let n = 0;
    const offsets = this.offsets();
    const observed = this.observations(offsets);
    const threshold = this.threshold(offsets);
    while (!this.stopped && this.pending.size < this.o.parallel && this.postedCount < this.o.budget) {
      const s = suggestWithPending({
        create: () =>
          new ConstrainedBo({
            space: this.o.space,
            threshold,
            seed: this.o.seed,
            ...(this.o.initialPoints === undefined ? {} : { initialPoints: this.o.initialPoints }),
          }),
        createModel: () => new ConstrainedBo({ space: this.o.space, threshold, seed: this.o.seed, initialPoints: 0 }),
        space: this.o.space,
        observed,
        pending: [...this.pending.values()],
        strategy: this.strategy,
      });
      if (!s) {
        // converged or exhausted given what is in flight: wait for it, then ask again
        if (this.pending.size === 0) this.stopped = true;
        break;
      }
      const task: TrialTask = { ...this.o.task, config: this.o.space.toConfig(s.point) };
      const [id] = await this.o.store.postTrials(
        this.o.runId,
        [
          {
            source: s.source === 'bo' ? 'bo' : 'initial',
            task,
            ...(s.acquisition === undefined ? {} : { acquisition: s.acquisition }),
            suggestMs: s.suggestMs,
          },
        ],
        now,
      );
      this.pending.set(id!, s.point);
      this.postedCount++;
      n++;
    }
    // the search may have just run out of suggestions: the confirmation starts at once
    if (this.searchFinished && this.confirmRounds > 0) n += await this.confirm(now);
    return n;
  }

  /** Read the trials measured since the last call; returns them. */
  async collect(): Promise<FleetTrialRecord[]> {
    const fresh = await this.o.store.fleetTrials(this.o.runId, this.nextIndex);
    for (const t of fresh) {
      this.trials.push(t);
      this.nextIndex = t.index + 1;
      this.pending.delete(t.queueId);
      this.confirming.delete(t.queueId);
    }
    // a point observed lifts a 'converged' stop: the model may want more now
    if (fresh.some(isSearch) && this.confirmRoundsDone === 0 && this.stopped && this.pending.size === 0 && this.postedCount < this.o.budget)
      this.stopped = false;
    return fresh;
  }

  /**
   * The recommendation: the confirmed configuration once there is one; before that, among
   * configurations measured whose latency (normalised, averaged over repeated measurements) meets
   * the limit on the slowest board by the offset model, and that no confirmation rejected, the lowest energy by the
   * objective surrogate's posterior mean (denoised: one lucky window or a board's misestimated
   * offset does not win), by the measured mean before a model exists; null when none qualifies.
   */
  incumbent(): FleetIncumbent | null {
    const offsets = this.offsets();
    const limit = this.threshold(offsets);
    const model = this.objectiveModel(offsets, limit);
    const by = new Map<string, { config: Config; e: number[]; l: number[]; boards: Set<string> }>();
    for (const t of this.trials) {
      if (!t.measurement.valid || !(t.measurement.energyPerQueryJ > 0)) continue;
      const n = normalised(t, offsets);
      const k = configKey(t.config);
      const g = by.get(k) ?? { config: t.config, e: [], l: [], boards: new Set<string>() };
      g.e.push(n.energy);
      g.l.push(n.latency);
      g.boards.add(t.boardId);
      by.set(k, g);
    }
    let best: (FleetIncumbent & { readonly rank: number }) | null = null;
    for (const [k, g] of by) {
      const energy = g.e.reduce((s, x) => s + x, 0) / g.e.length;
      const latency = g.l.reduce((s, x) => s + x, 0) / g.l.length;
      const confirmed = k === this.confirmedKey;
      if (this.confirmedKey !== null && !confirmed) continue;
      if (!confirmed && (latency > limit || this.rejected.has(k))) continue;
      const point = model ? this.o.space.toPoint(g.config) : null;
      const rank = model && point ? model(point) : energy;
      if (!best || rank < best.rank) best = { config: g.config, energy, latency, trials: g.e.length, boards: g.boards.size, confirmed, rank };
    }
    if (!best) return null;
    const { rank: _, ...inc } = best;
    return inc;
  }

  /** The objective surrogate's posterior mean fitted on the trials so far, or null before it exists. */
  private objectiveModel(offsets: Map<string, BoardOffset>, threshold: number): ((point: readonly number[]) => number) | null {
    const bo = new ConstrainedBo({ space: this.o.space, threshold, seed: this.o.seed, initialPoints: 0 });
    for (const x of this.observations(offsets)) bo.observe(x);
    bo.suggest();
    const gp = bo.state.objective;
    if (!gp) return null;
    const encode = createEncoder(this.o.space);
    return (point) => gp.predict(encode(point), 1).mean[0]!;
  }
}

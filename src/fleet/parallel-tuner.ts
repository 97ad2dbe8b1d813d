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
}

/** The best configuration measured so far, as the fleet's mean board. */
export interface FleetIncumbent {
  readonly config: Config;
  /** ln energy per query and ln tail latency, normalised, averaged over its trials. */
  readonly energy: number;
  readonly latency: number;
  readonly trials: number;
}

const noiseVar = (cv: number, repeats = 3) => (Number.isFinite(cv) && cv > 0 ? (cv * cv) / Math.max(1, repeats) : 0);

export class ParallelTuner {
  private readonly trials: FleetTrialRecord[] = [];
  private readonly pending = new Map<number, readonly number[]>();
  private postedCount = 0;
  private nextIndex = 0;
  private stopped = false;
  readonly strategy: PendingStrategy;

  constructor(private readonly o: ParallelTunerOptions) {
    this.strategy = o.strategy ?? DEFAULT_PENDING_STRATEGY;
  }

  /** Search trials measured. */
  get searchDone(): number {
    return this.trials.filter((t) => t.source !== 'baseline').length;
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
  get finished(): boolean {
    return this.searchDone >= this.o.budget || (this.stopped && this.pending.size === 0);
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
    return n;
  }

  /** Read the trials measured since the last call; returns them. */
  async collect(): Promise<FleetTrialRecord[]> {
    const fresh = await this.o.store.fleetTrials(this.o.runId, this.nextIndex);
    for (const t of fresh) {
      this.trials.push(t);
      this.nextIndex = t.index + 1;
      this.pending.delete(t.queueId);
    }
    // a point observed lifts a 'converged' stop: the model may want more now
    if (fresh.length > 0 && this.stopped && this.pending.size === 0 && this.postedCount < this.o.budget) this.stopped = false;
    return fresh;
  }

  /**
   * The recommendation: among configurations measured whose latency (normalised, averaged over
   * repeated measurements) meets the limit on the slowest board, the lowest energy by the objective
   * surrogate's posterior mean (denoised: one lucky window or a board's misestimated offset does not
   * win), by the measured mean before a model exists; null when none meets the limit.
   */
  incumbent(): FleetIncumbent | null {
    const offsets = this.offsets();
    const limit = this.threshold(offsets);
    const model = this.objectiveModel(offsets, limit);
    const by = new Map<string, { config: Config; e: number[]; l: number[] }>();
    for (const t of this.trials) {
      if (!t.measurement.valid || !(t.measurement.energyPerQueryJ > 0)) continue;
      const n = normalised(t, offsets);
      const k = configKey(t.config);
      const g = by.get(k) ?? { config: t.config, e: [], l: [] };
      g.e.push(n.energy);
      g.l.push(n.latency);
      by.set(k, g);
    }
    let best: (FleetIncumbent & { readonly rank: number }) | null = null;
    for (const g of by.values()) {
      const energy = g.e.reduce((s, x) => s + x, 0) / g.e.length;
      const latency = g.l.reduce((s, x) => s + x, 0) / g.l.length;
      if (latency > limit) continue;
      const point = model ? this.o.space.toPoint(g.config) : null;
      const rank = model && point ? model(point) : energy;
      if (!best || rank < best.rank) best = { config: g.config, energy, latency, trials: g.e.length, rank };
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

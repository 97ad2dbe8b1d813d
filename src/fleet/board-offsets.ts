/**
 * Boards of one type differ by a few percent (silicon, power-rail tolerance, thermal paste). The
 * fleet model: on board b, ln E_b(x) = f(x) + a_b and ln L_b(x) = g(x) + c_b, one shared landscape
 * f, g plus a per-board offset. Every board measures the run's reference configuration once; its
 * raw offsets are its reference's logs (energy per query, median latency) minus the mean over the boards, shrunk towards 0 by how much
 * of their spread the measurement noise explains (empirical Bayes: offset = raw × τ² / (τ² + v_b),
 * v_b the variance of the board's reference mean from its windows' spread, τ² the boards' spread
 * beyond that noise). Unshrunk, the noisiest board sets the fleet's latency limit: the maximum of
 * several noisy offsets is biased high. The optimiser sees every trial
 * normalised to the fleet's mean board, and a configuration is feasible when it meets the SLO on the
 * slowest board measured (normalised latency + the largest latency offset).
 */
import { mean } from '../numerics/stats.ts';
import type { FleetTrialRecord } from '../store/store.ts';

export interface BoardOffset {
  readonly boardId: string;
  /** ln of the board's energy per query over the fleet mean's at the same configuration. */
  readonly energy: number;
  /** ln of its latency over the fleet mean's (from the median; applied to every quantile). */
  readonly latency: number;
  /** Trials the board measured in this run. */
  readonly trials: number;
  /** False while its reference trial has not come back (its offsets are then 0). */
  readonly referenced: boolean;
}

/** Trials every board measures at a shared configuration: the reference round, and the recommendation's confirmation. */
const isReference = (t: FleetTrialRecord) => t.source === 'baseline' || t.source === 'confirm';
const usable = (t: FleetTrialRecord) => t.measurement.valid && t.measurement.energyPerQueryJ > 0 && t.measurement.latencyTailMs > 0;

/**
 * Offsets of every board that measured a trial of the run. `repeats`: measurement windows per search
 * trial, `referenceRepeats` per reference trial (default the same); a reference of one window has no
 * spread of its own, so its noise is the median spread of the run's other trials. Reference and
 * confirmation trials are grouped by configuration; a configuration two or more boards measured
 * gives each of them its deviation from that configuration's mean over the boards.
 */
export function estimateBoardOffsets(trials: readonly FleetTrialRecord[], repeats = 3, referenceRepeats = repeats): Map<string, BoardOffset> {
  const cvs = trials.filter((t) => usable(t) && t.measurement.noise.energyCv > 0).map((t) => t.measurement.noise);
  const median = (v: number[]) => (v.length === 0 ? 0 : [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!);
  const pooled = { energyCv: median(cvs.map((c) => c.energyCv)), latencyTailCv: median(cvs.map((c) => c.latencyTailCv)) };
  const groups = new Map<string, Map<string, { e: number[]; l: number[]; v: number[] }>>();
  const counts = new Map<string, number>();
  for (const t of trials) {
    counts.set(t.boardId, (counts.get(t.boardId) ?? 0) + 1);
    if (!isReference(t) || !usable(t)) continue;
    const windows = t.source === 'baseline' ? referenceRepeats : repeats;
    const own = t.measurement.noise;
    const cv = windows > 1 && own.energyCv > 0 ? own : pooled;
    const g = groups.get(JSON.stringify(t.config)) ?? new Map<string, { e: number[]; l: number[]; v: number[] }>();
    const r = g.get(t.boardId) ?? { e: [], l: [], v: [] };
    r.e.push(Math.log(t.measurement.energyPerQueryJ));
    // the median, not the tail: a board's speed shifts every quantile alike, and a window measures
    // the median far more precisely than its tail (a few stalled batches move a p99 by 10 %)
    r.l.push(Math.log(t.measurement.latencyP50Ms));
    r.v.push(Number.isFinite(cv.energyCv) ? cv.energyCv ** 2 / windows : 0);
    g.set(t.boardId, r);
    groups.set(JSON.stringify(t.config), g);
  }
  const devs = new Map<string, { e: number[]; l: number[]; v: number[] }>();
  for (const g of groups.values()) {
    if (g.size < 2) continue;
    const boards = [...g.entries()].map(([id, r]) => ({ id, e: mean(r.e), l: mean(r.l), v: mean(r.v) / r.e.length }));
    const me = mean(boards.map((b) => b.e));
    const ml = mean(boards.map((b) => b.l));
    for (const b of boards) {
      const d = devs.get(b.id) ?? { e: [], l: [], v: [] };
      d.e.push(b.e - me);
      d.l.push(b.l - ml);
      d.v.push(b.v);
      devs.set(b.id, d);
    }
  }
  const perBoard = [...devs.entries()].map(([id, r]) => ({ id, e: mean(r.e), l: mean(r.l), v: mean(r.v) / r.e.length }));
  const energy = shrunk(perBoard.map((b) => ({ raw: b.e, v: b.v })));
  const latency = shrunk(perBoard.map((b) => ({ raw: b.l, v: b.v })));
  const out = new Map<string, BoardOffset>();
  for (const [boardId, n] of counts) {
    const i = perBoard.findIndex((x) => x.id === boardId);
    out.set(boardId, { boardId, energy: i >= 0 ? energy[i]! : 0, latency: i >= 0 ? latency[i]! : 0, trials: n, referenced: i >= 0 });
  }
  return out;
}

/** Deviations from the mean, shrunk by the share of their spread that is not measurement noise. */
function shrunk(boards: readonly { readonly raw: number; readonly v: number }[]): number[] {
  if (boards.length < 2) return boards.map(() => 0);
  const m = mean(boards.map((b) => b.raw));
  const dev = boards.map((b) => b.raw - m);
  const spread = dev.reduce((s, d) => s + d * d, 0) / (boards.length - 1);
  const tau2 = Math.max(0, spread - mean(boards.map((b) => b.v)));
  return dev.map((d, i) => (tau2 === 0 ? 0 : (d * tau2) / (tau2 + boards[i]!.v)));
}

/** The largest latency offset (the slowest board), 0 with none. */
export function worstLatencyOffset(offsets: ReadonlyMap<string, BoardOffset>): number {
  let w = 0;
  for (const o of offsets.values()) if (o.referenced) w = Math.max(w, o.latency);
  return w;
}

/** ln energy and ln tail latency of a trial as the fleet's mean board would have measured it. */
export function normalised(t: FleetTrialRecord, offsets: ReadonlyMap<string, BoardOffset> | null): { readonly energy: number; readonly latency: number } {
  const o = offsets?.get(t.boardId);
  return { energy: Math.log(t.measurement.energyPerQueryJ) - (o?.energy ?? 0), latency: Math.log(t.measurement.latencyTailMs) - (o?.latency ?? 0) };
}

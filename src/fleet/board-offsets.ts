/**
 * Boards of one type differ by a few percent (silicon, power-rail tolerance, thermal paste). The
 * fleet model: on board b, ln E_b(x) = f(x) + a_b and ln L_b(x) = g(x) + c_b, one shared landscape
 * f, g plus a per-board offset. Every board measures the run's reference configuration once; its
 * offsets are its reference's logs minus the mean over the boards. The optimiser sees every trial
 * normalised to the fleet's mean board, and a configuration is feasible when it meets the SLO on the
 * slowest board measured (normalised latency + the largest latency offset).
 */
import type { FleetTrialRecord } from '../store/store.ts';

export interface BoardOffset {
  readonly boardId: string;
  /** ln of the board's energy per query over the fleet mean's at the same configuration. */
  readonly energy: number;
  /** ln of its tail latency over the fleet mean's. */
  readonly latency: number;
  /** Trials the board measured in this run. */
  readonly trials: number;
  /** False while its reference trial has not come back (its offsets are then 0). */
  readonly referenced: boolean;
}

const isReference = (t: FleetTrialRecord) => t.source === 'baseline';
const usable = (t: FleetTrialRecord) => t.measurement.valid && t.measurement.energyPerQueryJ > 0 && t.measurement.latencyTailMs > 0;
const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/** Offsets of every board that measured a trial of the run. */
export function estimateBoardOffsets(trials: readonly FleetTrialRecord[]): Map<string, BoardOffset> {
  const refs = new Map<string, { e: number[]; l: number[] }>();
  const counts = new Map<string, number>();
  for (const t of trials) {
    counts.set(t.boardId, (counts.get(t.boardId) ?? 0) + 1);
    if (!isReference(t) || !usable(t)) continue;
    const r = refs.get(t.boardId) ?? { e: [], l: [] };
    r.e.push(Math.log(t.measurement.energyPerQueryJ));
    r.l.push(Math.log(t.measurement.latencyTailMs));
    refs.set(t.boardId, r);
  }
  const perBoard = [...refs.entries()].map(([id, r]) => ({ id, e: mean(r.e), l: mean(r.l) }));
  const me = perBoard.length > 0 ? mean(perBoard.map((b) => b.e)) : 0;
  const ml = perBoard.length > 0 ? mean(perBoard.map((b) => b.l)) : 0;
  const out = new Map<string, BoardOffset>();
  for (const [boardId, n] of counts) {
    const b = perBoard.find((x) => x.id === boardId);
    out.set(boardId, { boardId, energy: b ? b.e - me : 0, latency: b ? b.l - ml : 0, trials: n, referenced: b !== undefined });
  }
  return out;
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

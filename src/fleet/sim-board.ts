/**
 * Simulated fleet boards: the device twin of one board type, each board id with its own small,
 * fixed deviation (energy per query and latency scaled by a few percent, drawn from the id), so N
 * agents on one machine behave like N boards of one type rather than N copies of one board.
 */
import type { Config } from '../core/config.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import { createSimTrialRunner, SETTLE_S } from '../device/sim/trial-runner.ts';
import { profileForSpec } from '../model/model-spec.ts';
import { boxMuller, hash32, mulberry32 } from '../numerics/random.ts';

/** Relative standard deviations of the board-to-board spread (energy 3 %, latency 1.5 %). */
export const BOARD_SPREAD = { energy: 0.03, latency: 0.015 } as const;

export interface BoardDeviation {
  /** × energy per query (and power). */
  readonly energy: number;
  /** × every latency. */
  readonly latency: number;
}

/** The fixed deviation of a simulated board, from its id. */
export function boardDeviation(boardId: string, spread: { readonly energy: number; readonly latency: number } = BOARD_SPREAD): BoardDeviation {
  const u = mulberry32(hash32(0x5eed, boardId));
  const [z1, z2] = boxMuller(u(), u());
  return { energy: Math.exp(spread.energy * z1), latency: Math.exp(spread.latency * z2) };
}

/** A measurement as the deviating board reads it. */
export function deviate(m: TrialMeasurement, d: BoardDeviation): TrialMeasurement {
  return {
    ...m,
    energyPerQueryJ: m.energyPerQueryJ * d.energy,
    powerW: m.powerW * d.energy,
    railsW: Object.fromEntries(Object.entries(m.railsW).map(([k, v]) => [k, v * d.energy])),
    latencyP50Ms: m.latencyP50Ms * d.latency,
    latencyTailMs: m.latencyTailMs * d.latency,
    serviceMs: m.serviceMs * d.latency,
  };
}

export interface SimBoardOptions {
  /** Board type of the twin (e.g. orin-agx). */
  readonly board: string;
  readonly boardId: string;
  /** Twin measurement noise (default the twin's). */
  readonly noise?: number;
  readonly spread?: { readonly energy: number; readonly latency: number };
}

/** The twin runner of one simulated board for one model; virtual seconds a trial would take beside it. */
export function simBoardRunner(o: SimBoardOptions, model: ModelSpec): TrialRunner {
  const inner = createSimTrialRunner({
    board: o.board,
    profile: profileForSpec(model),
    seed: hash32(7, o.boardId),
    ...(o.noise === undefined ? {} : { noise: o.noise }),
  });
  const d = boardDeviation(o.boardId, o.spread);
  return {
    describe: () => inner.describe(),
    close: () => inner.close(),
    async measure(c: Config, t?: TrialOptions) {
      return deviate(await inner.measure(c, t), d);
    },
  };
}

/** Virtual seconds a twin trial stands for: settling plus its measurement windows. */
export const simTrialSeconds = (m: TrialMeasurement): number => SETTLE_S + m.windowS;

/**
 * Another process on the board's GPU: from a given time on it takes a share of the GPU, so this
 * workload's kernels get that much less of it. Modelled as the twin with its GPU efficiency scaled
 * by (1 − share) (perturbation.ts), which slows every kernel and keeps the GPU busy (and drawing
 * power) longer per batch; a step change is a list of (time, share) points.
 */
import type { BoardSpec } from './board-spec.ts';
import { NOMINAL, perturbBoard } from './perturbation.ts';

export interface BackgroundLoadStep {
  /** From this time on the clock, ms. */
  readonly atMs: number;
  /** Share of the GPU the other process takes, in [0, 1). */
  readonly gpuShare: number;
}

/** The board as this workload sees it with `gpuShare` of its GPU taken by another process. */
export function boardUnderBackgroundLoad(board: BoardSpec, gpuShare: number): BoardSpec {
  if (!(gpuShare >= 0 && gpuShare < 1)) throw new Error(`background GPU share must be in [0, 1), got ${gpuShare}`);
  if (gpuShare === 0) return board;
  return perturbBoard(board, { ...NOMINAL, name: `background-gpu-${Math.round(gpuShare * 100)}%`, gpuEfficiency: 1 - gpuShare });
}

export class BackgroundLoad {
  readonly #board: BoardSpec;
  readonly #steps: BackgroundLoadStep[];
  readonly #now: () => number;

  constructor(board: BoardSpec, steps: readonly BackgroundLoadStep[] = [], opts: { now?: () => number } = {}) {
    this.#board = board;
    for (const s of steps) boardUnderBackgroundLoad(board, s.gpuShare);
    this.#steps = [...steps].sort((a, b) => a.atMs - b.atMs);
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Add a step: from `atMs` on (now by default), the other process takes `gpuShare`. */
  step(gpuShare: number, atMs = this.#now()): void {
    boardUnderBackgroundLoad(this.#board, gpuShare);
    this.#steps.push({ atMs, gpuShare });
    this.#steps.sort((a, b) => a.atMs - b.atMs);
  }

  /** The other process's GPU share at `atMs` (now by default). */
  shareAt(atMs = this.#now()): number {
    let share = 0;
    for (const s of this.#steps) if (s.atMs <= atMs) share = s.gpuShare;
    return share;
  }

  /** The board as the workload sees it at `atMs`. */
  boardAt(atMs = this.#now()): BoardSpec {
    return boardUnderBackgroundLoad(this.#board, this.shareAt(atMs));
  }
}

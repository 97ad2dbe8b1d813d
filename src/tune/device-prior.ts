/**
 * Which twin is the prior of a run: the board a flag names (a board name, a board-spec JSON file, or
 * a twin profile from `polythrottle calibrate`), else the simulated board itself (`sim:<board>`, as
 * --runtime / --twin-profile shaped it), else on a real board its calibrated twin (`--twin-profile`)
 * or the board in data/boards matching a detected Jetson (same SoC, closest name) with its
 * `--runtime`; none for other devices.
 */
import { readFileSync } from 'node:fs';
import type { DeviceDescription } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { DeviceSpec } from '../device/device-spec.ts';
import { applyTwinProfile, loadTwinProfile } from '../device/sim/calibrate/index.ts';
import { BOARDS, type BoardSpec, applyRuntime, loadBoard, parseBoardSpec } from '../device/sim/index.ts';
import { type ModelSourceOptions, modelProfile } from '../workload/model-source.ts';
import { type PriorPredictor, type TwinPriorOptions, twinPrior } from './twin-prior.ts';

export interface DevicePriorOptions extends TwinPriorOptions {
  readonly spec: DeviceSpec;
  readonly description: DeviceDescription;
  /** A zoo model or an .onnx file, as the run measures it. */
  readonly model: string;
  readonly modelOptions?: ModelSourceOptions;
  /** A board name (tx2, sim:tx2), a board-spec JSON file or a twin profile file (`calibrate --out`); absent = from the device. */
  readonly board?: string;
  /** The twin as the run's device already shaped it (`sim:<board>` with --runtime / --twin-profile). */
  readonly boardSpec?: BoardSpec;
  /** On a real board: the execution stack it runs (`--runtime`), applied to the board's twin. */
  readonly runtime?: string;
  /** On a real board: a calibrated twin profile of it (`--twin-profile`, from `polythrottle calibrate`). */
  readonly twinProfile?: string;
}

export interface DevicePrior {
  readonly predictor: PriorPredictor;
  /** The board's display name, for the run's log. */
  readonly board: string;
}

/** A twin profile written by `polythrottle calibrate`, as the calibrated board. */
function calibratedBoard(path: string): BoardSpec {
  const tp = loadTwinProfile(path);
  return applyTwinProfile(loadBoard(tp.board), tp);
}

/** A board-spec JSON file, a twin profile file (`calibrate --out`), or a board of data/boards by name. */
export function boardFromText(text: string): BoardSpec {
  if (!text.endsWith('.json')) return loadBoard(text);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(text, 'utf8'));
  } catch (e) {
    throw badInput(`cannot read board spec ${text}: ${(e as Error).message}`, undefined, e);
  }
  if (raw !== null && typeof raw === 'object' && 'coefficients' in raw) return calibratedBoard(text);
  return parseBoardSpec(raw, text);
}

/** The twin of a real board (the matching board of data/boards), shaped by its runtime or its calibration. */
function realBoardTwin(o: DevicePriorOptions): BoardSpec | undefined {
  if (o.twinProfile !== undefined) return calibratedBoard(o.twinProfile);
  const board = o.spec.kind === 'jetson' ? boardForDescription(o.description) : undefined;
  return board && o.runtime !== undefined ? applyRuntime(board, o.runtime) : board;
}

/** The board of data/boards a real Jetson matches: same SoC, and where several share it, the most name words in common. */
export function boardForDescription(d: DeviceDescription): BoardSpec | undefined {
  if (!d.soc) return undefined;
  const same = BOARDS.map((b) => loadBoard(b)).filter((b) => b.soc === d.soc);
  if (same.length <= 1) return same[0];
  const words = (s: string) =>
    new Set(
      s
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((w) => w.length > 1 && w !== 'nvidia' && w !== 'jetson' && w !== 'simulated'),
    );
  const have = words(d.name);
  const shared = (b: BoardSpec) => [...words(b.displayName)].filter((w) => have.has(w)).length;
  return [...same].sort((a, b) => shared(b) - shared(a))[0];
}

/** The run's prior, or null when no twin describes the device. */
export async function priorForDevice(o: DevicePriorOptions): Promise<DevicePrior | null> {
  const board = o.board !== undefined ? boardFromText(o.board) : o.spec.kind === 'sim' ? (o.boardSpec ?? loadBoard(o.spec.board)) : realBoardTwin(o);
  if (!board) return null;
  const profile = await modelProfile(o.model, o.modelOptions ?? {});
  return {
    predictor: twinPrior(board, profile, {
      ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
      ...(o.quantile === undefined ? {} : { quantile: o.quantile }),
    }),
    board: board.displayName,
  };
}

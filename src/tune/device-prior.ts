/**
 * Which twin is the prior of a run: the board a flag names (a board name, or a board-spec JSON file
 * such as a calibrated twin), else the simulated board itself (`sim:<board>`), else the board in
 * data/boards matching a detected Jetson (same SoC, closest name); none for other devices.
 */
import { readFileSync } from 'node:fs';
import type { DeviceDescription } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { DeviceSpec } from '../device/device-spec.ts';
import { BOARDS, type BoardSpec, loadBoard, parseBoardSpec } from '../device/sim/index.ts';
import { type ModelSourceOptions, modelProfile } from '../workload/model-source.ts';
import { type PriorPredictor, type TwinPriorOptions, twinPrior } from './twin-prior.ts';

export interface DevicePriorOptions extends TwinPriorOptions {
  readonly spec: DeviceSpec;
  readonly description: DeviceDescription;
  /** A zoo model or an .onnx file, as the run measures it. */
  readonly model: string;
  readonly modelOptions?: ModelSourceOptions;
  /** A board name (tx2, sim:tx2) or a board-spec JSON file (e.g. a calibrated twin); absent = from the device. */
  readonly board?: string;
}

export interface DevicePrior {
  readonly predictor: PriorPredictor;
  /** The board's display name, for the run's log. */
  readonly board: string;
}

/** A board-spec JSON file, or a board of data/boards by name. */
export function boardFromText(text: string): BoardSpec {
  if (!text.endsWith('.json')) return loadBoard(text);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(text, 'utf8'));
  } catch (e) {
    throw badInput(`cannot read board spec ${text}: ${(e as Error).message}`, undefined, e);
  }
  return parseBoardSpec(raw, text);
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
  const board =
    o.board !== undefined
      ? boardFromText(o.board)
      : o.spec.kind === 'sim'
        ? loadBoard(o.spec.board)
        : o.spec.kind === 'jetson'
          ? boardForDescription(o.description)
          : undefined;
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

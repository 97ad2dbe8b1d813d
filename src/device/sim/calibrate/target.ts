/**
 * What a calibration is of: the board, model, runtime and precision the measured points and the
 * caller's choices name together. Disagreements are one-line errors.
 */
import { badInput } from '../../../core/errors.ts';
import type { DType } from '../../../core/workload-profile.ts';
import { type BoardName, BOARDS, isBoardName } from '../board-names.ts';
import { DEFAULT_RUNTIME, isRuntimeName, RUNTIMES, type RuntimeName } from '../runtime-names.ts';
import { runtimePrecision } from '../runtime-profile.ts';
import type { MeasuredPoints } from './measured-points.ts';

export interface CalibrationTarget {
  readonly board: BoardName;
  readonly model: string;
  readonly runtime: RuntimeName;
  readonly dtype: DType;
  readonly rateRps?: number;
}

export interface TargetChoices {
  /** The twin board (`--device sim:<board>`). */
  readonly board?: BoardName;
  readonly model?: string;
  readonly runtime?: string;
  readonly dtype?: DType;
  readonly rateRps?: number;
}

/** Resolve board, model, runtime, precision and rate from the points and the choices. */
export function calibrationTarget(pts: MeasuredPoints, c: TargetChoices, what: string): CalibrationTarget {
  const fromPoints = pts.device?.startsWith('sim:') ? pts.device.slice(4) : undefined;
  if (fromPoints !== undefined && !isBoardName(fromPoints)) throw badInput(`${what} is from ${pts.device}, which is not a simulated board`);
  if (c.board !== undefined && fromPoints !== undefined && c.board !== fromPoints)
    throw badInput(`${what} was measured on sim:${fromPoints}, not sim:${c.board}`);
  const board = c.board ?? fromPoints;
  if (board === undefined)
    throw badInput(
      `${what} does not say which board it was measured on${pts.device ? ` (${pts.device})` : ''}`,
      `name the twin of that board: --device ${BOARDS.map((b) => `sim:${b}`).join(' | ')}`,
    );
  if (c.model !== undefined && pts.model !== undefined && c.model !== pts.model) throw badInput(`${what} is of model ${pts.model}, not ${c.model} (--model)`);
  const model = c.model ?? pts.model;
  if (model === undefined) throw badInput(`${what} does not name its model`, 'give --model <name|file.onnx>');
  if (c.runtime !== undefined && pts.runtime !== undefined && c.runtime !== pts.runtime)
    throw badInput(`${what} was measured with runtime ${pts.runtime}, not ${c.runtime} (--runtime)`);
  const runtime = c.runtime ?? pts.runtime ?? DEFAULT_RUNTIME;
  if (!isRuntimeName(runtime)) throw badInput(`unknown runtime '${runtime}'`, `known runtimes: ${RUNTIMES.join(', ')}`);
  if (c.dtype !== undefined && pts.dtype !== undefined && c.dtype !== pts.dtype)
    throw badInput(`${what} was measured in ${pts.dtype}, not ${c.dtype} (--dtype)`);
  const dtype = c.dtype ?? pts.dtype ?? runtimePrecision(runtime);
  const rateRps = c.rateRps ?? pts.rateRps;
  return { board, model, runtime, dtype, ...(rateRps === undefined ? {} : { rateRps }) };
}

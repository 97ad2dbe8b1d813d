/**
 * The device spec: the text that names a device (`--device`, library options, snapshot files, a
 * simulated device's id). Every place that reads one parses it here.
 */
import { badInput } from '../core/errors.ts';
import { BOARDS, type BoardName, isBoardName } from './sim/board-names.ts';

/** A parsed device spec. */
export type DeviceSpec =
  | { readonly kind: 'auto' }
  | { readonly kind: 'jetson' }
  | { readonly kind: 'nvidia' }
  | { readonly kind: 'linux-cpu' }
  | { readonly kind: 'sim'; readonly board: BoardName }
  /** A landscape CSV replayed as a device (measurements only: it has no clocks to set). */
  | { readonly kind: 'landscape'; readonly path: string };

/** The kinds of real hardware a spec can name (besides `auto` and `sim:<board>`). */
export const HARDWARE_SPECS = ['jetson', 'nvidia', 'linux-cpu'] as const;

/** The spec of each simulated board: `sim:orin-agx`, … */
export const SIM_SPECS: readonly string[] = BOARDS.map((b) => `sim:${b}`);

/** Every valid spec, in words, for help texts and errors. */
export const DEVICE_SPEC_CHOICES = `auto, ${HARDWARE_SPECS.join(', ')} or sim:<board> (${SIM_SPECS.join(', ')})`;

const unknownBoard = (text: string) => badInput(`unknown simulated board '${text}'`, `known boards: ${SIM_SPECS.join(', ')}`);

/**
 * Text → DeviceSpec: `auto`, `jetson`, `nvidia`, `linux-cpu`, `sim:<board>` or `landscape:<grid.csv>`. Throws BAD_INPUT
 * naming the text and listing the valid values.
 */
export function parseDeviceSpec(text: string): DeviceSpec {
  const s = text.trim();
  if (s === 'auto') return { kind: 'auto' };
  if ((HARDWARE_SPECS as readonly string[]).includes(s)) return { kind: s as (typeof HARDWARE_SPECS)[number] };
  const colon = s.indexOf(':');
  if (colon >= 0 && s.slice(0, colon) === 'sim') {
    const board = s.slice(colon + 1);
    if (board === '') throw badInput('sim: needs a board, e.g. sim:orin-agx', `known boards: ${SIM_SPECS.join(', ')}`);
    if (!isBoardName(board)) throw unknownBoard(text);
    return { kind: 'sim', board };
  }
  if (colon >= 0 && s.slice(0, colon) === 'landscape') {
    const path = s.slice(colon + 1);
    if (path === '') throw badInput('landscape: needs a CSV file, e.g. landscape:grid.csv', 'make one with `polythrottle landscape --out grid.csv`');
    return { kind: 'landscape', path };
  }
  throw badInput(`unknown device "${text}"`, `use ${DEVICE_SPEC_CHOICES}`);
}

/** The spec if the text is a valid one, else undefined (for texts that may name other things, e.g. stored device ids). */
export function readDeviceSpec(text: string): DeviceSpec | undefined {
  try {
    return parseDeviceSpec(text);
  } catch {
    return undefined;
  }
}

/** DeviceSpec → its text (the inverse of parseDeviceSpec). */
export function formatDeviceSpec(spec: DeviceSpec): string {
  return spec.kind === 'sim' ? `sim:${spec.board}` : spec.kind === 'landscape' ? `landscape:${spec.path}` : spec.kind;
}

/** A simulated board given by name (`tx2`) or by spec (`sim:tx2`). */
export function simBoardName(text: string): BoardName {
  if (isBoardName(text)) return text;
  if (!text.includes(':')) throw unknownBoard(text);
  const spec = parseDeviceSpec(text);
  if (spec.kind !== 'sim') throw unknownBoard(text);
  return spec.board;
}

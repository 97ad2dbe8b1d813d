/**
 * The parsers of flag values, for every command. Each factory takes the flag's name and returns a
 * commander argument parser (`.option('--budget <n>', '…', positiveInt('--budget'))`) that can also
 * be called directly on a text. Bad input is a BAD_INPUT error (exit code 2) that quotes the flag and
 * the text.
 */
import { badInput, isPolyThrottleError } from '../../core/errors.ts';
import { parseLatencyMs, parseQuantile } from '../../core/slo.ts';
import { readDurationMs, readFrequencyHz } from '../../core/units.ts';
import { type DeviceSpec, parseDeviceSpec, simBoardName } from '../../device/device-spec.ts';
import type { BoardName } from '../../device/sim/board-names.ts';

/** A flag's text in, its value out. */
export type FlagParser<T> = (text: string) => T;

const bad = (flag: string, what: string, text: string) => badInput(`${flag} must be ${what}, got "${text}"`);

/** A number written in decimal (or exponent) notation; blank text is not zero. */
function readNumber(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** A whole number ≥ `min` (default: any). */
export const integer =
  (flag: string, min?: number): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isInteger(n) || (min !== undefined && n < min)) throw bad(flag, min === undefined ? 'an integer' : `an integer ≥ ${min}`, text);
    return n;
  };

/** 1, 2, 3, … */
export const positiveInt =
  (flag: string): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isInteger(n) || n < 1) throw bad(flag, 'a positive integer', text);
    return n;
  };

/** 0, 1, 2, … */
export const nonNegativeInt =
  (flag: string): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isInteger(n) || n < 0) throw bad(flag, 'an integer ≥ 0', text);
    return n;
  };

/** A finite number > 0. */
export const positiveNumber =
  (flag: string): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isFinite(n) || n <= 0) throw bad(flag, 'a positive number', text);
    return n;
  };

/** A finite number ≥ 0. */
export const nonNegativeNumber =
  (flag: string): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isFinite(n) || n < 0) throw bad(flag, 'zero or more', text);
    return n;
  };

/** A number in [lo, hi) (or [lo, hi] with `{ hiInclusive: true }`). */
export const numberInRange =
  (flag: string, lo: number, hi: number, o: { hiInclusive?: boolean } = {}): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    const inside = n >= lo && (o.hiInclusive ? n <= hi : n < hi);
    if (!inside) throw bad(flag, `in [${lo}, ${hi}${o.hiInclusive ? ']' : ')'}`, text);
    return n;
  };

/** A plain number (no unit), e.g. "0.05" or "50". */
const isBareNumber = (text: string): boolean => /^\s*[0-9]*\.?[0-9]+(?:e[-+]?\d+)?\s*$/i.test(text);

/** The same duration in its two likely units, for the hint: 0.05 → "0.05s or 50ms", 50 → "50ms or 0.05s". */
function unitHint(text: string): string {
  const n = Number(text);
  const short = (x: number) => String(Number(x.toPrecision(6)));
  return n < 10 ? `${short(n)}s or ${short(n * 1000)}ms` : `${short(n)}ms or ${short(n / 1000)}s`;
}

/**
 * Durations and latencies carry their unit: a bare number (other than 0) is refused, since
 * `--slo 0.05` could mean seconds or milliseconds. Flags whose name holds the unit (`--cpu-hz`) take
 * bare numbers.
 */
function requireUnit(flag: string, text: string): void {
  if (isBareNumber(text) && Number(text) !== 0) throw badInput(`${flag} needs a unit: give ${unitHint(text)}, got "${text}"`);
}

/** A duration → ms: 250ms, 0.7s, 500us; 0 alone. */
export const durationMs =
  (flag: string): FlagParser<number> =>
  (text) => {
    requireUnit(flag, text);
    const ms = readDurationMs(text);
    if (ms === undefined || !Number.isFinite(ms)) throw bad(flag, 'a duration like 250ms or 0.7s', text);
    return ms;
  };

/** A duration → seconds (250ms → 0.25), for the flags whose values the code keeps in seconds. */
export const durationS =
  (flag: string): FlagParser<number> =>
  (text) =>
    durationMs(flag)(text) / 1000;

/** A duration > 0 → ms. */
export const positiveDurationMs =
  (flag: string): FlagParser<number> =>
  (text) => {
    const ms = durationMs(flag)(text);
    if (!(ms > 0)) throw bad(flag, 'a positive duration like 250ms or 0.7s', text);
    return ms;
  };

/** A duration > 0 → seconds. */
export const positiveDurationS =
  (flag: string): FlagParser<number> =>
  (text) =>
    positiveDurationMs(flag)(text) / 1000;

/** A frequency → whole Hz: 2201600000, 2201.6MHz, 2.2016GHz, 652800kHz. */
export const frequencyHz =
  (flag: string): FlagParser<number> =>
  (text) => {
    const hz = readFrequencyHz(text);
    if (hz === undefined) throw bad(flag, 'a frequency like 2201600000, 2201.6MHz or 2.2GHz', text);
    return hz;
  };

/** Re-throws a BAD_INPUT error of a core parser with the flag in front of its message. */
function withFlag<T>(flag: string, parse: FlagParser<T>): FlagParser<T> {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      if (isPolyThrottleError(e) && e.code === 'BAD_INPUT') throw badInput(`${flag}: ${e.message}`, e.hint, e);
      throw e;
    }
  };
}

/** An SLO latency → ms (core/slo.ts): 50ms, 0.05s, 250us; a bare number is refused (see requireUnit). */
export const latencyMs = (flag: string): FlagParser<number> => {
  const parse = withFlag(flag, parseLatencyMs);
  return (text) => {
    requireUnit(flag, text);
    return parse(text);
  };
};

/** An SLO quantile (core/slo.ts): 0.99, p99, 99%. */
export const quantile = (flag: string): FlagParser<number> => withFlag(flag, parseQuantile);

/** A device spec (device/device-spec.ts): auto, jetson, nvidia, linux-cpu, sim:<board>. */
export const deviceSpec = (flag: string): FlagParser<DeviceSpec> => withFlag(flag, parseDeviceSpec);

/** A simulated board, by name (tx2) or spec (sim:tx2). */
export const simBoard = (flag: string): FlagParser<BoardName> => withFlag(flag, simBoardName);

/** One of a fixed set of words. */
export const oneOf =
  <T extends string>(flag: string, choices: readonly T[]): FlagParser<T> =>
  (text) => {
    if (!(choices as readonly string[]).includes(text)) throw bad(flag, `one of ${choices.join(', ')}`, text);
    return text as T;
  };

/** Positive integers separated by commas → sorted, without repeats: 16,1,4 → [1, 4, 16]. */
export const positiveIntList =
  (flag: string): FlagParser<number[]> =>
  (text) => {
    const parts = text.split(',').map((s) => s.trim());
    const out = parts.map(readNumber);
    if (out.some((n) => !Number.isInteger(n) || n < 1)) throw bad(flag, 'positive integers separated by commas (e.g. 1,2,4,8,16)', text);
    return [...new Set(out)].sort((a, b) => a - b);
  };

/** `name=size` pairs, repeatable or comma-separated (commander passes the value so far as `previous`): the kind of `--dim`. */
export const namedSize =
  (flag: string) =>
  (text: string, previous: Readonly<Record<string, number>> = {}): Record<string, number> => {
    const out = { ...previous };
    for (const part of text.split(',')) {
      const m = /^([^=]+)=(\d+)$/.exec(part.trim());
      if (!m || Number(m[2]) < 1) throw bad(flag, 'name=size (e.g. sequence=128)', text);
      out[m[1]!.trim()] = Number(m[2]);
    }
    return out;
  };

/** Collects every value of a repeatable flag. */
export const collect = (text: string, previous: readonly string[] = []): string[] => [...previous, text];

const BYTES_PER_UNIT: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** A size in bytes: 8MiB, 500kB, 1048576. */
export const byteSize =
  (flag: string): FlagParser<number> =>
  (text) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
    const v = m ? Math.round(Number(m[1]) * BYTES_PER_UNIT[(m[2] ?? 'b').toLowerCase()]!) : Number.NaN;
    if (!(v > 0)) throw bad(flag, 'a size like 8MiB or 500kB', text);
    return v;
  };

/** A TCP port: 0 (any free port) to 65535. */
export const port =
  (flag: string): FlagParser<number> =>
  (text) => {
    const n = readNumber(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(flag, 'a port number from 0 to 65535', text);
    return n;
  };

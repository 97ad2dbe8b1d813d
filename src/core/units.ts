/** Reading quantities written with units on the command line and in config files. */

const HZ_PER_UNIT: Readonly<Record<string, number>> = { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 };
const MS_PER_UNIT: Readonly<Record<string, number>> = { s: 1000, ms: 1, us: 1e-3, µs: 1e-3 };

/**
 * Frequency text → whole Hz: "1300500000" (Hz), "1300.5MHz", "1.3005 GHz", "652800kHz".
 * Undefined when the text is not a non-negative number with an optional unit; callers word the error.
 */
export function readFrequencyHz(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?hz)?\s*$/i.exec(text);
  return m ? Math.round(Number(m[1]) * HZ_PER_UNIT[(m[2] ?? 'hz').toLowerCase()]!) : undefined;
}

/**
 * Duration text → ms: "50ms", "0.05s", "250us", "50" (ms).
 * Undefined when the text is not a non-negative number with an optional unit; callers word the error.
 */
export function readDurationMs(text: string): number | undefined {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(ms|s|us|µs)?\s*$/i.exec(text);
  return m ? Number(m[1]) * MS_PER_UNIT[(m[2] ?? 'ms').toLowerCase()]! : undefined;
}

import { badInput } from '../core/errors.ts';
import { readDurationMs } from '../core/units.ts';

/** Parse a latency like "50ms", "0.05s", "50" (ms) or "250us" into milliseconds. */
export function parseLatencyMs(text: string): number {
  const ms = readDurationMs(text);
  if (ms === undefined) throw badInput(`cannot read latency "${text}"`, 'write it like 50ms, 0.05s or 250us');
  if (!(ms > 0) || !Number.isFinite(ms)) throw badInput(`latency must be positive, got "${text}"`);
  return ms;
}

/** Parse a quantile like 0.99, "p99" or "99%". */
export function parseQuantile(text: string | number): number {
  const s = String(text).trim().toLowerCase();
  let q: number;
  if (s.startsWith('p')) q = Number(s.slice(1)) / 100;
  else if (s.endsWith('%')) q = Number(s.slice(0, -1)) / 100;
  else q = Number(s);
  if (!(q > 0 && q < 1)) throw badInput(`quantile must be between 0 and 1 (e.g. 0.99 or p99), got "${text}"`);
  return q;
}

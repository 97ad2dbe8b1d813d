/**
 * The latency SLO: its type, how it is read from text, and the safety margins each layer keeps
 * below it. Every layer takes its SLO from here.
 */
import { badInput } from './errors.ts';
import { readDurationMs } from './units.ts';

/** A latency objective on a quantile of request latency. */
export interface Slo {
  readonly latencyMs: number;
  /** Which quantile must meet it, in (0, 1): 0.99 = p99. */
  readonly quantile: number;
}

/** The longest latency an SLO may name (one hour): larger values overflow timers and mean no SLO. */
export const MAX_SLO_MS = 3_600_000;

/** The quantile when none is given: p99. */
export const DEFAULT_SLO_QUANTILE = 0.99;

/**
 * Relative margins kept below the SLO (0.02 = aim at 98 % of it):
 * - `recommendation`: a tuned configuration's measured tail must hold the SLO less this margin
 *   (the measurement noise of a pooled tail is a few %);
 * - `serving`: the server's request budget (queueing + service) is the SLO less this margin
 *   (event-loop lag and scheduling jitter).
 */
export const SLO_MARGINS = { recommendation: 0.02, serving: 0.1 } as const;

/** The latency a margin leaves: SLO × (1 − margin), ms. */
export function latencyLimitMs(slo: Slo, margin: number): number {
  return slo.latencyMs * (1 - margin);
}

/** Parse a latency like "50ms", "0.05s", "50" (ms) or "250us" into milliseconds. */
export function parseLatencyMs(text: string): number {
  const ms = readDurationMs(text);
  if (ms === undefined) throw badInput(`cannot read latency "${text}"`, 'write it like 50ms, 0.05s or 250us');
  if (!(ms > 0) || !Number.isFinite(ms)) throw badInput(`latency must be positive, got "${text}"`);
  if (ms > MAX_SLO_MS) throw badInput(`latency must be at most 1 hour, got "${text}"`);
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

/** An SLO from its texts ("50ms", "p99"); the quantile defaults to p99. */
export function parseSlo(latency: string, quantile?: string | number): Slo {
  return { latencyMs: parseLatencyMs(latency), quantile: quantile === undefined ? DEFAULT_SLO_QUANTILE : parseQuantile(quantile) };
}

/** Check an SLO given as numbers (library callers, stored runs, admin requests). */
export function checkSlo(slo: Slo): Slo {
  if (!(slo.latencyMs > 0) || !(slo.latencyMs <= MAX_SLO_MS)) throw badInput(`the SLO must be a positive latency of at most 1 hour, got ${slo.latencyMs} ms`);
  if (!(slo.quantile > 0 && slo.quantile < 1)) throw badInput(`the SLO quantile must be in (0, 1), got ${slo.quantile}`);
  return slo;
}

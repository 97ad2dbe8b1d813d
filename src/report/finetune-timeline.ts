import { z } from 'zod';
import { badInput } from '../core/errors.ts';
import { readJsonFile } from '../store/json-file.ts';

/** One sample of the server's record while fine-tuning shares the device (paper Fig. 14). */
export interface TimelinePoint {
  /** Seconds since the record started. */
  readonly t: number;
  /** The latency SLO in force at t, ms. */
  readonly sloMs: number;
  /**
   * Observed inference latency at t (the SLO's quantile, or the worst, over the sample's window), ms;
   * null when no request completed in that window (a quiet stretch at a low arrival rate).
   */
  readonly latencyMs: number | null;
  /** Whether a fine-tuning job was running at t. */
  readonly finetuneRunning: boolean;
}

/** A stretch of time during which fine-tuning ran. */
export interface FinetuneSpan {
  readonly start: number;
  readonly end: number;
}

const pointSchema = z.object({
  t: z.number().refine(Number.isFinite, 'must be a finite number'),
  sloMs: z.number().positive(),
  latencyMs: z.number().nonnegative().nullable(),
  finetuneRunning: z.boolean(),
});
const timelineSchema = z.array(pointSchema).min(2, 'needs at least two samples');

/** Validate a timeline (an array, or an object with a `timeline`/`samples` array) and sort it by time. */
export function parseTimeline(value: unknown, what: string): TimelinePoint[] {
  const arr =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? ((value as Record<string, unknown>).timeline ?? (value as Record<string, unknown>).samples)
      : value;
  const r = timelineSchema.safeParse(arr);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at [${issue.path.join('].')}` : '';
    throw badInput(
      `${what} is not a fine-tuning timeline${at}: ${issue?.message ?? 'invalid'}`,
      'expected a JSON array of { "t": s, "sloMs": ms, "latencyMs": ms or null (no request in the window), "finetuneRunning": bool }',
    );
  }
  return [...r.data].sort((a, b) => a.t - b.t);
}

export async function readTimelineFile(path: string): Promise<TimelinePoint[]> {
  return parseTimeline(await readJsonFile(path, 'timeline'), path);
}

/**
 * The stretches when fine-tuning ran. A sample marks the state from its time until the next
 * sample, so a span ends at the first sample that reports it stopped (or at the last sample).
 */
export function finetuneSpans(points: readonly TimelinePoint[]): FinetuneSpan[] {
  const spans: FinetuneSpan[] = [];
  let start: number | null = null;
  for (const p of points) {
    if (p.finetuneRunning && start === null) start = p.t;
    else if (!p.finetuneRunning && start !== null) {
      spans.push({ start, end: p.t });
      start = null;
    }
  }
  const last = points[points.length - 1];
  if (start !== null && last) spans.push({ start, end: last.t });
  return spans;
}

/** A sample in whose window at least one request completed. */
export type AnsweredPoint = TimelinePoint & { readonly latencyMs: number };

/** Samples with a latency (a window in which some request completed). */
export function answeredSamples(points: readonly TimelinePoint[]): AnsweredPoint[] {
  return points.filter((p): p is AnsweredPoint => p.latencyMs !== null);
}

/** Samples whose latency exceeded the SLO in force (a sample without requests misses nothing). */
export function sloViolations(points: readonly TimelinePoint[]): AnsweredPoint[] {
  return answeredSamples(points).filter((p) => p.latencyMs > p.sloMs);
}

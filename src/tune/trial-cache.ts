/**
 * Re-use of finished trials when an interrupted run resumes: measurements are looked up by
 * configuration (and who asked for them) in the order they were taken, each used at most once.
 */
import { configKey } from '../core/config.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import type { TrialRecord, TrialSource } from '../core/tuning-run.ts';

export class TrialCache {
  private readonly queues = new Map<string, TrialMeasurement[]>();
  private used = 0;

  constructor(previous: readonly TrialRecord[] = []) {
    for (const r of [...previous].sort((a, b) => a.index - b.index)) {
      const k = TrialCache.key(r.source, r.measurement.config ?? r.config);
      const q = this.queues.get(k) ?? [];
      q.push(r.measurement);
      this.queues.set(k, q);
    }
  }

  private static key(source: TrialSource, c: TrialRecord['config']): string {
    return `${source}|${configKey(c)}`;
  }

  /** The stored measurement for this request, removed from the cache, or undefined. */
  take(source: TrialSource, c: TrialRecord['config']): TrialMeasurement | undefined {
    const q = this.queues.get(TrialCache.key(source, c));
    const m = q?.shift();
    if (m) this.used++;
    return m;
  }

  /** How many measurements were re-used so far. */
  get reused(): number {
    return this.used;
  }
}

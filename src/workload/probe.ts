/**
 * Runs a workload at one batch size without touching any clock and summarises what it measured:
 * a quick check that a runner is set up right (endpoint reachable, pattern matches, model loads)
 * before a long tuning run, and a latency/throughput probe.
 */
import { badInput } from '../core/errors.ts';
import { quantileSorted } from '../numerics/stats.ts';
import { openWorkloadRunner, type WorkloadSettings } from './open-runner.ts';
import type { RunLength } from './runner.ts';

export interface ProbeOptions {
  readonly model: string;
  readonly settings: WorkloadSettings;
  readonly batch: number;
  readonly length: RunLength;
  readonly concurrency?: number;
  /** Untimed batches first (cold start: allocations, connections, JIT), default 1. */
  readonly warmupBatches?: number;
}

export interface ProbeResult {
  readonly runner: string;
  readonly batch: number;
  readonly batches: number;
  readonly served: number;
  readonly errors: number;
  readonly errorReasons: readonly string[];
  readonly wallS: number;
  readonly throughputQps: number;
  /** Client-side batch latency, ms (NaN when no batch completed). */
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

export async function probeWorkload(o: ProbeOptions): Promise<ProbeResult> {
  const warm = o.warmupBatches ?? 1;
  if (!Number.isInteger(warm) || warm < 0) throw badInput(`warm-up batches must be 0 or more, got ${warm}`);
  const runner = await openWorkloadRunner(o.model, o.settings);
  try {
    const conc = o.concurrency === undefined ? {} : { concurrency: o.concurrency };
    if (warm > 0) {
      const w = await runner.run({ batch: o.batch, length: { batches: warm }, ...conc });
      if (w.errors > 0) return summarise(runner.description, o.batch, { ...w, batchLatenciesMs: [], served: 0 });
    }
    const r = await runner.run({ batch: o.batch, length: o.length, ...conc });
    return summarise(runner.description, o.batch, r);
  } finally {
    await runner.close();
  }
}

function summarise(
  description: string,
  batch: number,
  r: { batchLatenciesMs: readonly number[]; served: number; errors: number; errorReasons: readonly string[]; wallS: number },
): ProbeResult {
  const s = [...r.batchLatenciesMs].sort((a, b) => a - b);
  const mean = s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return {
    runner: description,
    batch,
    batches: s.length,
    served: r.served,
    errors: r.errors,
    errorReasons: r.errorReasons,
    wallS: r.wallS,
    throughputQps: r.wallS > 0 && r.served > 0 ? r.served / r.wallS : Number.NaN,
    latencyMs: { mean, p50: quantileSorted(s, 0.5), p90: quantileSorted(s, 0.9), p99: quantileSorted(s, 0.99), max: s.length ? s[s.length - 1]! : Number.NaN },
  };
}

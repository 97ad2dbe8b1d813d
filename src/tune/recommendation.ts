import type { TrialMeasurement } from '../core/measurement.ts';
import type { Slo, TrialRecord } from '../core/tuning-run.ts';

/** Tail latency a recommendation may measure: the SLO less the margin. */
export const marginLimitMs = (slo: Slo, margin: number): number => slo.latencyMs * (1 - margin);

export const meetsWithMargin = (m: TrialMeasurement, slo: Slo, margin: number): boolean =>
  m.valid && m.latencyTailMs <= marginLimitMs(slo, margin);

/** Candidates for the recommendation: valid trials within the margin, lowest energy first (one per configuration). */
export function rankCandidates(trials: readonly TrialRecord[], slo: Slo, margin: number): TrialRecord[] {
  const seen = new Set<string>();
  return trials
    .filter((t) => meetsWithMargin(t.measurement, slo, margin))
    .sort((a, b) => a.measurement.energyPerQueryJ - b.measurement.energyPerQueryJ)
    .filter((t) => {
      const k = JSON.stringify(t.config);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

/** "infeasible: the fastest configuration measured 61.2 ms at p99 (SLO 50 ms)". */
export function infeasibleReason(trials: readonly TrialRecord[], slo: Slo, margin: number): string {
  const valid = trials.filter((t) => t.measurement.valid);
  const q = `p${+(slo.quantile * 100).toFixed(3)}`;
  if (valid.length === 0) return 'infeasible: no trial gave a valid measurement window';
  const fastest = valid.reduce((a, b) => (b.measurement.latencyTailMs < a.measurement.latencyTailMs ? b : a));
  const marginText = margin > 0 ? ` less a ${(margin * 100).toFixed(0)} % margin` : '';
  return `infeasible: the fastest configuration measured ${fastest.measurement.latencyTailMs.toFixed(1)} ms at ${q} (SLO ${slo.latencyMs} ms${marginText})`;
}

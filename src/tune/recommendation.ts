import type { TrialMeasurement } from '../core/measurement.ts';
import type { PassedOverTrial, TrialRecord } from '../core/tuning-run.ts';
import { latencyLimitMs, type Slo } from '../core/slo.ts';

export const meetsWithMargin = (m: TrialMeasurement, slo: Slo, margin: number): boolean => m.valid && m.latencyTailMs <= latencyLimitMs(slo, margin);

/**
 * Several measurements of one configuration as one: each quantity averaged with weights by window
 * length, and the noise as the spread of the pooled windows (within-trial CV plus the spread between
 * trials). A configuration's evidence is all its windows, not its luckiest or unluckiest trial.
 */
export function poolMeasurements(ms: readonly TrialMeasurement[]): TrialMeasurement {
  if (ms.length === 0) throw new Error('poolMeasurements: no measurements');
  if (ms.length === 1) return ms[0]!;
  const w = ms.map((m) => (m.windowS > 0 ? m.windowS : 1));
  const total = w.reduce((a, b) => a + b, 0);
  const avg = (f: (m: TrialMeasurement) => number) => ms.reduce((s, m, i) => s + f(m) * w[i]!, 0) / total;
  const pooledCv = (f: (m: TrialMeasurement) => number, cv: (m: TrialMeasurement) => number) => {
    const mu = avg(f);
    const v = ms.reduce((s, m, i) => s + w[i]! * ((cv(m) * f(m)) ** 2 + (f(m) - mu) ** 2), 0) / total;
    return mu > 0 ? Math.sqrt(v) / mu : 0;
  };
  const railsW: Record<string, number> = {};
  for (const k of Object.keys(ms[0]!.railsW)) railsW[k] = avg((m) => m.railsW[k] ?? 0);
  const first = ms[0]!;
  return {
    ...first,
    valid: ms.every((m) => m.valid),
    energyPerQueryJ: avg((m) => m.energyPerQueryJ),
    latencyP50Ms: avg((m) => m.latencyP50Ms),
    latencyTailMs: avg((m) => m.latencyTailMs),
    serviceMs: avg((m) => m.serviceMs),
    throughputQps: avg((m) => m.throughputQps),
    powerW: avg((m) => m.powerW),
    railsW,
    queries: ms.reduce((s, m) => s + m.queries, 0),
    windowS: ms.reduce((s, m) => s + m.windowS, 0),
    noise: {
      energyCv: pooledCv(
        (m) => m.energyPerQueryJ,
        (m) => m.noise.energyCv,
      ),
      latencyTailCv: pooledCv(
        (m) => m.latencyTailMs,
        (m) => m.noise.latencyTailCv,
      ),
    },
  };
}

/** Every valid measurement of each configuration, pooled, keyed by configuration (first-seen order). */
export function pooledByConfig(trials: readonly TrialRecord[]): Map<string, { config: TrialRecord['config']; measurement: TrialMeasurement; trials: number }> {
  const groups = new Map<string, { config: TrialRecord['config']; ms: TrialMeasurement[] }>();
  for (const t of trials) {
    if (!t.measurement.valid) continue;
    const k = JSON.stringify(t.config);
    const g = groups.get(k) ?? { config: t.config, ms: [] };
    g.ms.push(t.measurement);
    groups.set(k, g);
  }
  const out = new Map<string, { config: TrialRecord['config']; measurement: TrialMeasurement; trials: number }>();
  for (const [k, g] of groups) out.set(k, { config: g.config, measurement: poolMeasurements(g.ms), trials: g.ms.length });
  return out;
}

/**
 * Candidates for the recommendation, lowest measured energy first, one per configuration: the
 * configurations whose measurements, pooled over every trial of them, hold the margin.
 */
export function rankCandidates(trials: readonly TrialRecord[], slo: Slo, margin: number): TrialRecord[] {
  const pooled = pooledByConfig(trials);
  const firstIndex = new Map<string, number>();
  for (const t of trials) if (!firstIndex.has(JSON.stringify(t.config))) firstIndex.set(JSON.stringify(t.config), t.index);
  return [...pooled.entries()]
    .filter(([, p]) => meetsWithMargin(p.measurement, slo, margin))
    .map(([k, p]) => {
      const first = trials.find((t) => t.index === firstIndex.get(k))!;
      return { ...first, measurement: p.measurement, feasible: p.measurement.latencyTailMs <= slo.latencyMs };
    })
    .sort((a, b) => a.measurement.energyPerQueryJ - b.measurement.energyPerQueryJ);
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

/**
 * The trials a reader of the run would take for better than the recommendation (in the margin in
 * their own window, lower measured energy, another configuration), each with why it was not chosen.
 * `denoised` gives the surrogate's energy estimate of a configuration where it has one.
 */
export function explainPassedOver(
  trials: readonly TrialRecord[],
  rec: { readonly config: TrialRecord['config']; readonly measurement: TrialMeasurement },
  slo: Slo,
  margin: number,
  denoised: (c: TrialRecord['config']) => number | undefined,
): PassedOverTrial[] {
  const pooled = pooledByConfig(trials);
  const recKey = JSON.stringify(rec.config);
  const recModel = denoised(rec.config);
  const limit = latencyLimitMs(slo, margin);
  const out: PassedOverTrial[] = [];
  for (const t of trials) {
    const m = t.measurement;
    const k = JSON.stringify(t.config);
    if (t.source === 'confirm' || k === recKey || !meetsWithMargin(m, slo, margin) || !(m.energyPerQueryJ < rec.measurement.energyPerQueryJ)) continue;
    const p = pooled.get(k)!;
    const base = { trial: t.index, config: t.config, energyPerQueryJ: m.energyPerQueryJ, latencyTailMs: m.latencyTailMs };
    const confirms = trials.filter((x) => x.source === 'confirm' && JSON.stringify(x.config) === k);
    if (!meetsWithMargin(p.measurement, slo, margin)) {
      const again = confirms[confirms.length - 1]?.measurement;
      out.push(
        again
          ? {
              ...base,
              reason: 'refuted',
              why: `re-measured at ${again.latencyTailMs.toFixed(2)} ms; its ${p.trials} measurements average ${p.measurement.latencyTailMs.toFixed(2)} ms, over the ${limit.toFixed(2)} ms margin limit`,
            }
          : {
              ...base,
              reason: 'pooled-over-margin',
              why: `its ${p.trials} measurements average ${p.measurement.latencyTailMs.toFixed(2)} ms, over the ${limit.toFixed(2)} ms margin limit`,
            },
      );
      continue;
    }
    const model = denoised(t.config);
    if (model !== undefined && recModel !== undefined)
      out.push({
        ...base,
        reason: 'denoised-higher',
        why: `the surrogate puts its energy at ${model.toPrecision(4)} J against ${recModel.toPrecision(4)} J for the recommendation: its lower reading (${m.energyPerQueryJ.toPrecision(4)} J) is within the measurement noise`,
      });
    else
      out.push({
        ...base,
        reason: 'denoised-higher',
        why: `its ${p.trials} measurements average ${p.measurement.energyPerQueryJ.toPrecision(4)} J; it ranked below the recommendation and the confirmations ran out`,
      });
  }
  return out;
}

/** What the confirmation step settled on, and what it re-measured on the way. */
export interface ConfirmedRecommendation {
  /** The recommended configuration with its measurements pooled over every window; null = no candidate. */
  readonly recommendation: { readonly config: TrialRecord['config']; readonly measurement: TrialMeasurement } | null;
  /** Configurations whose pooled windows broke the margin after a confirming re-measurement. */
  readonly refuted: readonly TrialRecord['config'][];
  /** The confirming trials, in order. */
  readonly confirmations: readonly TrialRecord[];
}

export interface ConfirmOptions {
  /** Every trial so far (search, CPU phase, baselines). */
  readonly trials: readonly TrialRecord[];
  readonly slo: Slo;
  readonly margin: number;
  /** Measure a configuration once more (source 'confirm') and return its trial record. */
  readonly remeasure: (config: TrialRecord['config']) => Promise<TrialRecord>;
  /**
   * Reorder the candidates (which arrive lowest pooled measured energy first), e.g. by the
   * objective surrogate's denoised energy; absent = measured order.
   */
  readonly rank?: (candidates: TrialRecord[]) => TrialRecord[];
  /** Re-measurements at most (default 5). */
  readonly maxConfirmations?: number;
}

/** Re-measurements spent confirming the recommendation, at most, by default. */
export const MAX_CONFIRMATIONS = 5;

/**
 * The tuner's recommendation step. Candidates are the configurations whose pooled windows hold the
 * margin, ranked (by the surrogate where given); the first `maxConfirmations` are re-measured in
 * turn and the first whose windows, pooled with the new one, still hold the margin wins. A refuted
 * candidate hands over to the next, not to the fastest (most energy) one. When every confirmation
 * broke the margin: the cheapest candidate no re-measurement refuted, else the one with the most
 * latency headroom.
 */
export async function confirmRecommendation(o: ConfirmOptions): Promise<ConfirmedRecommendation> {
  const all = [...o.trials];
  const keyOf = (c: TrialRecord['config']) => JSON.stringify(c);
  const ranked = rankCandidates(all, o.slo, o.margin);
  const candidates = o.rank ? o.rank(ranked) : ranked;
  const refuted: TrialRecord['config'][] = [];
  const refutedKeys = new Set<string>();
  const confirmations: TrialRecord[] = [];
  for (const cand of candidates.slice(0, o.maxConfirmations ?? MAX_CONFIRMATIONS)) {
    const rec = await o.remeasure(cand.config);
    all.push(rec);
    confirmations.push(rec);
    const pooled = pooledByConfig(all).get(keyOf(cand.config))?.measurement;
    if (pooled && meetsWithMargin(pooled, o.slo, o.margin)) return { recommendation: { config: cand.config, measurement: pooled }, refuted, confirmations };
    refuted.push(cand.config);
    refutedKeys.add(keyOf(cand.config));
  }
  if (candidates.length === 0) return { recommendation: null, refuted, confirmations };
  const pooled = pooledByConfig(all);
  const tailOf = (c: TrialRecord) => pooled.get(keyOf(c.config))!.measurement.latencyTailMs;
  const pick = candidates.find((c) => !refutedKeys.has(keyOf(c.config))) ?? candidates.reduce((x, y) => (tailOf(y) < tailOf(x) ? y : x));
  return { recommendation: { config: pick.config, measurement: pooled.get(keyOf(pick.config))!.measurement }, refuted, confirmations };
}

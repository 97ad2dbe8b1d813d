import { type Config, formatConfig } from '../core/config.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import type { BaselineResult, TuningRun } from '../core/tuning-run.ts';

/** Energy per query in the unit that reads best: mJ below 1 J. */
export function formatEnergy(j: number): string {
  return Math.abs(j) < 1 ? `${(j * 1e3).toPrecision(3)} mJ` : `${j.toPrecision(3)} J`;
}

export const formatMs = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;

/** "± x %" from a coefficient of variation, or "(one window, no noise estimate)" when it is 0. */
export function formatNoise(cv: number): string {
  return cv > 0 ? `± ${(cv * 100).toFixed(1)} %` : '(one window)';
}

export const quantileName = (q: number): string => `p${+(q * 100).toFixed(2)}`;

/** One row of the "recommended vs baselines" table. */
export interface ComparisonRow {
  /** "recommended", "default" or a preset's name. */
  readonly name: string;
  readonly batch: number;
  readonly config: string;
  readonly energy: string;
  readonly latency: string;
  readonly meetsSlo: boolean;
  /** "31.2 % ± 1.8 %", or "—" when there is nothing to compare. */
  readonly saving: string;
  /** The saving as a fraction (for sorting and tests); null when not comparable. */
  readonly savingValue: number | null;
}

/**
 * Saving 1 − Er/Eb with its noise: the relative spread of a ratio of two independent noisy means
 * is about √(cv_r² + cv_b²), so the saving's spread is that times Er/Eb.
 */
export function savingWithNoise(rec: TrialMeasurement, base: TrialMeasurement, saving: number | null): { value: number | null; text: string } {
  if (saving === null || !Number.isFinite(saving)) return { value: null, text: '—' };
  const ratio = 1 - saving;
  const spread = Math.hypot(rec.noise.energyCv, base.noise.energyCv) * ratio;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return { value: saving, text: spread > 0 ? `${pct(saving)} ± ${pct(spread)}` : pct(saving) };
}

function row(name: string, config: Config, m: TrialMeasurement, feasible: boolean, saving: { value: number | null; text: string }): ComparisonRow {
  return {
    name,
    batch: config.batch,
    config: formatConfig(config),
    energy: `${formatEnergy(m.energyPerQueryJ)} ${formatNoise(m.noise.energyCv)}`,
    latency: `${formatMs(m.latencyTailMs)} ${formatNoise(m.noise.latencyTailCv)}`,
    meetsSlo: feasible,
    saving: saving.text,
    savingValue: saving.value,
  };
}

/**
 * The recommendation first, then the default and each preset (the tuner measures them at several
 * batch sizes: one row each, default first, then by name and batch size) with the measured saving.
 */
export function comparisonRows(run: TuningRun): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const rec = run.recommendation;
  if (rec) rows.push(row('recommended', rec.config, rec.measurement, true, { value: null, text: '—' }));
  const order = (name: string) => (name === 'default' ? 0 : 1);
  const baselines = [...run.baselines].sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name) || a.config.batch - b.config.batch);
  for (const b of baselines) {
    const s = rec ? savingWithNoise(rec.measurement, b.measurement, b.saving) : { value: null, text: '—' };
    rows.push(row(b.name, b.config, b.measurement, b.feasible, s));
  }
  return rows;
}

/** The baseline of a name to quote: the one at the recommendation's batch size, else batch 1, else the first. */
export function baselineAtBatch(run: TuningRun, name: string): BaselineResult | undefined {
  const all = run.baselines.filter((b) => b.name === name);
  const batch = run.recommendation?.config.batch;
  return all.find((b) => b.config.batch === batch) ?? all.find((b) => b.config.batch === 1) ?? all[0];
}

/** The headline sentences: what to run, and what it saves against the default. */
export function headline(run: TuningRun): string[] {
  const q = quantileName(run.slo.quantile);
  const rec = run.recommendation;
  if (!rec) return [`No configuration met the ${q} latency SLO of ${formatMs(run.slo.latencyMs)}.`, run.infeasibleReason ?? 'The run recorded no reason.'];
  const m = rec.measurement;
  const out = [
    `Run ${formatConfig(rec.config)}: ${formatEnergy(m.energyPerQueryJ)} per query ${formatNoise(m.noise.energyCv)}, ` +
      `${q} latency ${formatMs(m.latencyTailMs)} ${formatNoise(m.noise.latencyTailCv)} against an SLO of ${formatMs(run.slo.latencyMs)}, ` +
      `${m.throughputQps.toFixed(1)} queries/s at ${m.powerW.toFixed(1)} W.`,
  ];
  const def = baselineAtBatch(run, 'default');
  if (def) {
    const s = savingWithNoise(m, def.measurement, def.saving);
    if (s.value !== null) {
      const text = s.value >= 0 ? `saves ${s.text}` : `costs ${s.text.replace(/^-/, '')} more`;
      out.push(
        `That ${text} energy per query against the default (every clock at maximum) at batch ${def.config.batch}: ` +
          `${formatEnergy(def.measurement.energyPerQueryJ)} per query at ${formatMs(def.measurement.latencyTailMs)}${def.feasible ? '' : ', which misses the SLO'}.`,
      );
    }
  }
  return out;
}

/** The baselines a run reports (the default, the power-mode presets) with their saving against the recommendation. */
import type { BaselineResult, TrialRecord, TuningRun } from '../core/tuning-run.ts';

/** A baseline trial and the name it is reported under. */
export interface NamedBaseline {
  readonly name: string;
  readonly rec: TrialRecord;
}

export function baselineResults(all: readonly NamedBaseline[], recommendation: TuningRun['recommendation']): BaselineResult[] {
  const eRec = recommendation?.measurement.energyPerQueryJ;
  return all.map(({ name, rec }) => ({
    name,
    config: rec.config,
    measurement: rec.measurement,
    feasible: rec.feasible,
    saving: eRec !== undefined && rec.measurement.valid ? 1 - eRec / rec.measurement.energyPerQueryJ : null,
  }));
}

/**
 * What a tuning run has measured so far, shared by its phases: every trial in order, the cheapest
 * one that met the SLO with margin, the default configuration's measurement per batch size (the
 * reference for savings), and the current phase. Every measurement goes through `measure`, which
 * re-uses a trial of an interrupted run when one matches, records the trial and reports progress.
 */
import type { Config } from '../core/config.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { Slo } from '../core/slo.ts';
import type { TrialRecord, TrialSource } from '../core/tuning-run.ts';
import { meetsWithMargin } from './recommendation.ts';
import type { TrialCache } from './trial-cache.ts';

export type TunePhase = 'initial' | 'baselines' | 'cpu' | 'search' | 'confirm';

export interface TuneProgress {
  readonly phase: TunePhase;
  /** Measurements done / budget (search trials / budget with the two-phase method). */
  readonly done: number;
  readonly budget: number;
  /** All trials so far (every phase). */
  readonly trials: number;
  readonly best: { readonly config: Config; readonly energyPerQueryJ: number; readonly latencyTailMs: number } | null;
  /** 1 − E(best)/E(default at the same batch), when known. */
  readonly saving: number | null;
}

export interface TuningStateOptions {
  readonly runner: TrialRunner;
  readonly trialOptions: TrialOptions;
  readonly slo: Slo;
  readonly margin: number;
  /** The run's budget, for progress: every measurement when `countAll`, else search trials. */
  readonly budget: number;
  readonly countAll?: boolean;
  readonly cache: TrialCache;
  readonly onTrial?: (r: TrialRecord, info: { readonly reused: boolean }) => void | Promise<void>;
  readonly onProgress?: (p: TuneProgress) => void;
}

export class TuningState {
  readonly trials: TrialRecord[] = [];
  /** The default configuration's measurement per batch size. */
  readonly defaults = new Map<number, TrialMeasurement>();
  phase: TunePhase = 'baselines';
  /** Search trials measured. */
  searchDone = 0;
  /** Measurements per phase (every measurement, re-used ones included), in the order phases began. */
  readonly byPhase = new Map<TunePhase, number>();
  private best: TrialRecord | null = null;

  constructor(private readonly o: TuningStateOptions) {}

  /** Measure a configuration (or re-use the interrupted run's measurement of it) and record the trial. */
  async measure(config: Config, source: TrialSource, extra: { acquisition?: number; suggestMs?: number } = {}): Promise<TrialRecord> {
    const { slo, margin } = this.o;
    const cached = this.o.cache.take(source, config);
    const m = cached ?? (await this.o.runner.measure(config, this.o.trialOptions));
    const rec: TrialRecord = {
      index: this.trials.length,
      source,
      config,
      measurement: m,
      feasible: m.valid && m.latencyTailMs <= slo.latencyMs,
      ...(extra.acquisition === undefined || !Number.isFinite(extra.acquisition) ? {} : { acquisition: extra.acquisition }),
      ...(extra.suggestMs === undefined ? {} : { suggestMs: extra.suggestMs }),
    };
    this.trials.push(rec);
    this.byPhase.set(this.phase, (this.byPhase.get(this.phase) ?? 0) + 1);
    if (source !== 'confirm' && meetsWithMargin(m, slo, margin) && (!this.best || m.energyPerQueryJ < this.best.measurement.energyPerQueryJ)) this.best = rec;
    await this.o.onTrial?.(rec, { reused: cached !== undefined });
    this.progress();
    return rec;
  }

  private progress(): void {
    if (!this.o.onProgress) return;
    const best = this.best;
    const d = best ? this.defaults.get(best.config.batch) : undefined;
    this.o.onProgress({
      phase: this.phase,
      done: this.o.countAll ? this.trials.length : this.searchDone,
      budget: this.o.budget,
      trials: this.trials.length,
      best: best ? { config: best.config, energyPerQueryJ: best.measurement.energyPerQueryJ, latencyTailMs: best.measurement.latencyTailMs } : null,
      saving: best && d?.valid ? 1 - best.measurement.energyPerQueryJ / d.energyPerQueryJ : null,
    });
  }
}

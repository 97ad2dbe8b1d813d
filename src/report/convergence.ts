import { type Config, configKey, type KnobName } from '../core/config.ts';
import type { TrialRecord, TrialSource } from '../core/tuning-run.ts';
import type { LandscapeRow } from './landscape.ts';

/** Trials an optimiser proposed (not the CPU phase, baselines or confirmations of a recommendation). */
export const SEARCH_SOURCES: ReadonlySet<TrialSource> = new Set(['initial', 'bo', 'random', 'grid', 'exhaustive']);

/** The search trials of a run in order, or every trial when none is marked as one. */
export function searchTrials(trials: readonly TrialRecord[]): TrialRecord[] {
  const search = trials.filter((t) => SEARCH_SOURCES.has(t.source));
  return [...(search.length > 0 ? search : trials)].sort((a, b) => a.index - b.index);
}

/** Best feasible energy per query after each trial (1-based, in index order); null until a feasible trial was seen. */
export function bestFeasibleSoFar(trials: readonly TrialRecord[]): (number | null)[] {
  const out: (number | null)[] = [];
  let best: number | null = null;
  for (const t of [...trials].sort((a, b) => a.index - b.index)) {
    if (t.feasible && t.measurement.valid && (best === null || t.measurement.energyPerQueryJ < best)) best = t.measurement.energyPerQueryJ;
    out.push(best);
  }
  return out;
}

/** Quantiles of random search's best feasible energy after n trials; null where it is more likely than not that none was feasible. */
export interface RandomSearchStep {
  readonly trials: number;
  readonly median: number | null;
  readonly p25: number | null;
  readonly p75: number | null;
  /** Probability that at least one of the n trials met the SLO. */
  readonly pFeasible: number;
}

/**
 * Exact distribution of random search without replacement over a finite grid: `feasibleEnergies`
 * are the energies of the grid's feasible points, `gridSize` counts all points. After n draws,
 * P(best > e_(k)) = C(N−k, n) / C(N, n) (none of the k cheapest drawn); an infeasible-only draw counts
 * as +∞, so a quantile is null when that event alone exceeds it.
 */
export function randomSearchQuantiles(feasibleEnergies: readonly number[], gridSize: number, maxTrials: number): RandomSearchStep[] {
  const e = [...feasibleEnergies].sort((a, b) => a - b);
  const N = gridSize;
  if (e.length > N) throw new Error(`feasible points (${e.length}) exceed the grid (${N})`);
  const steps: RandomSearchStep[] = [];
  for (let n = 1; n <= Math.min(maxTrials, N); n++) {
    // P(none of the k cheapest feasible drawn) for k = 0..F, via a running product in log space.
    const noneOfFirst = (k: number): number => {
      if (N - k < n) return 0;
      let logp = 0;
      for (let i = 0; i < n; i++) logp += Math.log((N - k - i) / (N - i));
      return Math.exp(logp);
    };
    const quantile = (q: number): number | null => {
      // smallest k with P(best ≤ e_k) = 1 − noneOfFirst(k) ≥ q
      let lo = 1;
      let hi = e.length;
      if (e.length === 0 || 1 - noneOfFirst(e.length) < q) return null;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (1 - noneOfFirst(mid) >= q) hi = mid;
        else lo = mid + 1;
      }
      return e[lo - 1]!;
    };
    steps.push({ trials: n, median: quantile(0.5), p25: quantile(0.25), p75: quantile(0.75), pFeasible: 1 - noneOfFirst(e.length) });
  }
  return steps;
}

/** One optimiser's best-so-far curve, for the convergence chart. */
export interface ConvergenceCurve {
  /** Legend label, e.g. "CBO (this run)". */
  readonly label: string;
  /** Best feasible energy per query (J) after trial i+1; null before the first feasible trial. */
  readonly bestJ: readonly (number | null)[];
}

/** What a tuner benchmark contributes to one run's convergence chart. */
export interface BenchmarkCurves {
  readonly curves: ConvergenceCurve[];
  /** Why nothing (or what) was taken from the benchmark, for the text beside the chart. */
  readonly note?: string;
}

export interface BenchmarkFilter {
  readonly model: string;
  readonly device: string;
  readonly sloMs: number;
}

const isCurve = (x: unknown): x is (number | null)[] =>
  Array.isArray(x) && x.length > 0 && x.every((y) => y === null || (typeof y === 'number' && Number.isFinite(y)));

/**
 * Curves from a tuner benchmark's JSON. The benchmark's own format (`scenarios` of device, model,
 * SLO level and `sloMs`; `runs` with `optimizer` and `bestSoFarJ`) is matched to the run's device,
 * model and SLO — curves of another SLO describe another problem and are left out, saying so.
 * Any other document is read defensively: every object with an optimiser name
 * (`optimizer`/`method`/`name`) and a numeric best-so-far array (`bestSoFar`, `bestSoFarJ`, `best`,
 * `trace`, `curve`) of the run's model is one curve. Curves of one optimiser (seeds) are combined
 * into the per-trial median.
 */
export function curvesFromBenchmark(doc: unknown, filter: BenchmarkFilter): BenchmarkCurves {
  const byName = new Map<string, (number | null)[][]>();
  const add = (name: string, curve: (number | null)[]) => {
    const list = byName.get(name) ?? [];
    list.push(curve);
    byName.set(name, list);
  };
  const o = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  let note: string | undefined;
  if (Array.isArray(o.scenarios) && Array.isArray(o.runs)) {
    const scenarios = o.scenarios.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object');
    const mine = scenarios.filter((x) => x.model === filter.model && x.device === filter.device);
    const match = mine.find((x) => typeof x.sloMs === 'number' && Math.abs(x.sloMs / filter.sloMs - 1) < 0.005);
    if (!match) {
      const levels = mine.map((x) => `${String(x.slo)} ${String(x.sloMs)} ms`).join(', ');
      note =
        mine.length === 0
          ? `The benchmark has no scenario for ${filter.model} on ${filter.device}, so none of its curves is drawn.`
          : `The benchmark ran ${filter.model} on ${filter.device} at other SLOs (${levels}), not ${filter.sloMs} ms, so its curves are not drawn.`;
    } else {
      for (const r of o.runs) {
        if (r === null || typeof r !== 'object') continue;
        const run = r as Record<string, unknown>;
        if (run.model !== filter.model || run.device !== filter.device || run.slo !== match.slo) continue;
        if (typeof run.optimizer === 'string' && isCurve(run.bestSoFarJ)) add(run.optimizer, run.bestSoFarJ);
      }
      note = `Benchmark curves: its “${String(match.slo)}” scenario (${String(match.sloMs)} ms), medians over seeds.`;
    }
  } else {
    const visit = (v: unknown, model: string | undefined): void => {
      if (Array.isArray(v)) {
        for (const x of v) visit(x, model);
        return;
      }
      if (v === null || typeof v !== 'object') return;
      const rec = v as Record<string, unknown>;
      const here = typeof rec.model === 'string' ? rec.model : model;
      const name = [rec.optimizer, rec.method, rec.name].find((x): x is string => typeof x === 'string');
      const arr = [rec.bestSoFar, rec.bestSoFarJ, rec.best, rec.trace, rec.curve].find(isCurve);
      if (name && arr && (here === undefined || here === filter.model)) add(name, arr);
      for (const x of Object.values(rec)) if (typeof x === 'object') visit(x, here);
    };
    visit(doc, undefined);
    if (byName.size === 0) note = 'The benchmark file holds no best-so-far curves, so none is drawn.';
  }
  const curves = [...byName].map(([name, runs]) => ({
    label: runs.length > 1 ? `${name} (benchmark, median of ${runs.length})` : `${name} (benchmark)`,
    bestJ: medianCurve(runs),
  }));
  return { curves, ...(note ? { note } : {}) };
}

/** Per-index median over curves; an index where most curves are still null is null. */
export function medianCurve(runs: readonly (readonly (number | null)[])[]): (number | null)[] {
  const len = Math.max(0, ...runs.map((r) => r.length));
  const out: (number | null)[] = [];
  for (let i = 0; i < len; i++) {
    const vals = runs.map((r) => (i < r.length ? r[i] : r[r.length - 1]) ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    const m = vals[Math.floor((vals.length - 1) / 2)]!;
    out.push(Number.isFinite(m) ? m : null);
  }
  return out;
}

const KNOBS: readonly KnobName[] = ['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch'];

/** A row's configuration. */
export const rowConfig = (r: LandscapeRow): Config => ({ cpuHz: r.cpuHz, gpuMinHz: r.gpuMinHz, gpuMaxHz: r.gpuMaxHz, emcHz: r.emcHz, batch: r.batch });

/** Values of a knob the run measured that a grid leaves out. */
export interface MissingKnobValues {
  readonly knob: KnobName;
  /** The values the run measured that no row has, ascending. */
  readonly values: readonly number[];
  /** The values the grid has, ascending. */
  readonly gridValues: readonly number[];
}

/** The lowest energy per query that meets the SLO on a grid, and how much of what the run searched the grid covers. */
export interface ReferenceOptimum {
  readonly row: LandscapeRow;
  readonly energyJ: number;
  readonly size: number;
  readonly feasible: number;
  /**
   * Knob values the run searched (the CPU phase, the search, confirmations; not the baselines and
   * presets it measured for comparison) that the grid lacks. Empty: the grid covers every value the run searched, so its optimum is the global one and
   * no measurement can truly beat it. Otherwise it is the optimum of a restricted space.
   */
  readonly missing: readonly MissingKnobValues[];
}

/**
 * The reference for "how close did the run come": the exact optimum of the grid under the SLO, with
 * a check of which knob values the run measured that the grid does not hold (e.g. a landscape at one
 * CPU clock while the run's CPU phase tried ten). Null when nothing on the grid meets the SLO.
 */
export function referenceOptimum(rows: readonly LandscapeRow[], trials: readonly TrialRecord[], sloMs: number): ReferenceOptimum | null {
  let best: LandscapeRow | null = null;
  let feasible = 0;
  for (const r of rows)
    if (r.latencyTailMs <= sloMs) {
      feasible++;
      if (best === null || r.energyPerQueryJ < best.energyPerQueryJ) best = r;
    }
  if (best === null) return null;
  const missing: MissingKnobValues[] = [];
  for (const knob of KNOBS) {
    const grid = new Set(rows.map((r) => rowConfig(r)[knob]).filter((v): v is number => v !== undefined));
    if (grid.size === 0) continue; // a knob the grid's device does not have
    const measured = new Set(
      trials
        .filter((t) => t.measurement.valid && t.source !== 'baseline')
        .map((t) => t.config[knob])
        .filter((v): v is number => v !== undefined),
    );
    const values = [...measured].filter((v) => !grid.has(v)).sort((a, b) => a - b);
    if (values.length > 0) missing.push({ knob, values, gridValues: [...grid].sort((a, b) => a - b) });
  }
  return { row: best, energyJ: best.energyPerQueryJ, size: rows.length, feasible, missing };
}

/** The grid's row at a configuration, if it has one. */
export function rowAt(rows: readonly LandscapeRow[], config: Config): LandscapeRow | undefined {
  const key = configKey(config);
  return rows.find((r) => configKey(rowConfig(r)) === key);
}

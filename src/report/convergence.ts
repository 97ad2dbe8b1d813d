import type { TrialRecord, TrialSource } from '../core/tuning-run.ts';

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

/**
 * Curves from a tuner benchmark's JSON, read defensively: any object holding an optimiser name
 * (`optimizer`/`method`/`name`) and a numeric best-so-far array (`bestSoFar`, `bestSoFarJ`, `best`,
 * `trace`, `curve`, `bestEnergyJ`) anywhere in the document is one curve; curves of one optimiser
 * (several seeds or scenarios) are combined into the per-trial median. Returns [] when nothing fits.
 */
export function curvesFromBenchmark(doc: unknown, filter?: { model?: string; device?: string }): ConvergenceCurve[] {
  const byName = new Map<string, (number | null)[][]>();
  const visit = (v: unknown, ctx: { model?: string; device?: string }): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, ctx);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const here = {
      model: typeof o.model === 'string' ? o.model : ctx.model,
      device: typeof o.device === 'string' ? o.device : ctx.device,
    };
    const name = [o.optimizer, o.method, o.name].find((x): x is string => typeof x === 'string');
    const arr = [o.bestSoFar, o.bestSoFarJ, o.best, o.trace, o.curve, o.bestEnergyJ].find(
      (x): x is unknown[] => Array.isArray(x) && x.length > 0 && x.every((y) => y === null || (typeof y === 'number' && Number.isFinite(y))),
    );
    const wanted =
      (filter?.model === undefined || here.model === undefined || here.model === filter.model) &&
      (filter?.device === undefined || here.device === undefined || here.device === filter.device);
    if (name && arr && wanted) {
      const list = byName.get(name) ?? [];
      list.push(arr as (number | null)[]);
      byName.set(name, list);
    }
    for (const x of Object.values(o)) if (typeof x === 'object') visit(x, here);
  };
  visit(doc, {});
  return [...byName].map(([name, runs]) => ({
    label: runs.length > 1 ? `${name} (benchmark, median of ${runs.length})` : `${name} (benchmark)`,
    bestJ: medianCurve(runs),
  }));
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

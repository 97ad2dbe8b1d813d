/**
 * The interface every search strategy shares (constrained BO and the random / grid / exhaustive
 * baselines), so the tuning loop and the benchmark drive them the same way.
 */

/** Who proposed a point. */
export type SuggestionSource = 'initial' | 'bo' | 'random' | 'grid' | 'exhaustive';

export interface Suggestion {
  /** Value index per dimension of the search space. */
  readonly point: readonly number[];
  readonly source: SuggestionSource;
  /** Acquisition value that chose it (log scale), for model-based suggestions. */
  readonly acquisition?: number;
  /** Wall time spent choosing it, ms. */
  readonly suggestMs: number;
  /** Of which fitting the surrogates and scoring the candidates, ms (model-based suggestions). */
  readonly fitMs?: number;
  readonly scoreMs?: number;
}

/**
 * One measured point. `objective` is minimised (log energy per query in PolyThrottle) and the point
 * is feasible when `constraint` ≤ the optimiser's threshold (log tail latency). An invalid
 * measurement carries no values but is not proposed again.
 */
export type Observation =
  | {
      readonly point: readonly number[];
      readonly valid: true;
      readonly objective: number;
      readonly constraint: number;
      /** Known noise variances of the two values (from repeated windows), raw units. */
      readonly objectiveNoiseVar?: number;
      readonly constraintNoiseVar?: number;
    }
  | { readonly point: readonly number[]; readonly valid: false };

export interface Optimizer {
  readonly name: string;
  /** The next point to measure, or null when the strategy has nothing more worth measuring. */
  suggest(): Suggestion | null;
  observe(o: Observation): void;
}

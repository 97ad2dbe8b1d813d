/**
 * Suggestions while other points are still being measured (parallel trials): the optimiser is
 * rebuilt from the observations so far plus a stand-in observation for each pending point, so its
 * next suggestion avoids what is already in flight instead of proposing it again.
 *
 * - constant liar (Ginsbourger et al. 2010): each pending point is observed at one constant, the
 *   lowest (`cl-min`), mean (`cl-mean`) or highest (`cl-max`) value observed so far, for the
 *   objective and the constraint alike;
 * - Kriging believer: each pending point is observed at the surrogates' posterior mean (needs a
 *   model-based optimiser exposing its fitted surrogates; before the model exists it falls back to
 *   cl-mean); the pessimistic believer at mean + one posterior standard deviation, for the
 *   objective and the constraint, which pushes the next suggestions further from what is in flight;
 * - none: pending points are only excluded (marked measured without values), the model ignores them.
 *
 * The optimiser must be deterministic given its construction (same seed, same observations, same
 * suggestion), which the rebuild relies on.
 */
import type { Gp } from './gp.ts';
import type { Observation, Optimizer, Suggestion } from './optimizer.ts';
import { createEncoder, type SearchSpace } from './search-space.ts';

export type PendingStrategy = 'cl-min' | 'cl-mean' | 'cl-max' | 'kriging-believer' | 'pessimistic-believer' | 'none';

export const PENDING_STRATEGIES: readonly PendingStrategy[] = ['cl-min', 'cl-mean', 'cl-max', 'kriging-believer', 'pessimistic-believer', 'none'];

/** An optimiser whose fitted surrogates can be read after a suggestion (ConstrainedBo). */
interface WithSurrogates {
  readonly state: { readonly objective: Gp | null; readonly constraint: Gp | null };
}
const hasSurrogates = (o: Optimizer): o is Optimizer & WithSurrogates => 'state' in o;

export interface PendingSuggestOptions {
  /** A fresh optimiser (same seed and settings every call). */
  readonly create: () => Optimizer;
  /**
   * The same optimiser without its initial design, for the Kriging believer's model (default
   * `create`): the believer needs the surrogates even while design points are still unmeasured.
   */
  readonly createModel?: () => Optimizer;
  readonly space: SearchSpace;
  readonly observed: readonly Observation[];
  /** Points suggested and not yet observed. */
  readonly pending: readonly (readonly number[])[];
  readonly strategy: PendingStrategy;
}

function replay(create: () => Optimizer, obs: readonly Observation[]): Optimizer {
  const o = create();
  for (const x of obs) o.observe(x);
  return o;
}

function constantLie(observed: readonly Observation[], how: 'min' | 'mean' | 'max'): { objective: number; constraint: number } | null {
  const valid = observed.filter((o): o is Extract<Observation, { valid: true }> => o.valid);
  if (valid.length === 0) return null;
  const stat = (v: number[]) => (how === 'min' ? Math.min(...v) : how === 'max' ? Math.max(...v) : v.reduce((s, x) => s + x, 0) / v.length);
  return { objective: stat(valid.map((o) => o.objective)), constraint: stat(valid.map((o) => o.constraint)) };
}

/** The stand-in observations of the pending points. */
export function pendingObservations(o: PendingSuggestOptions): Observation[] {
  if (o.pending.length === 0) return [];
  const invalid = () => o.pending.map((point): Observation => ({ point, valid: false }));
  if (o.strategy === 'none') return invalid();
  if (o.strategy === 'kriging-believer' || o.strategy === 'pessimistic-believer') {
    const believed = believe(o, o.strategy === 'pessimistic-believer' ? 1 : 0);
    if (believed) return believed;
  }
  const how = o.strategy === 'cl-min' ? 'min' : o.strategy === 'cl-max' ? 'max' : 'mean';
  const lie = constantLie(o.observed, how);
  if (!lie) return invalid();
  return o.pending.map((point) => ({ point, valid: true, ...lie }));
}

/** Posterior means of the surrogates fitted on the real observations, or null before a model exists. */
function believe(o: PendingSuggestOptions, kappa: number): Observation[] | null {
  const opt = replay(o.createModel ?? o.create, o.observed);
  if (!hasSurrogates(opt)) return null;
  opt.suggest();
  const { objective, constraint } = opt.state;
  if (!objective || !constraint) return null;
  const encode = createEncoder(o.space);
  const d = o.space.dims.length;
  const x = new Float64Array(o.pending.length * d);
  o.pending.forEach((p, i) => {
    x.set(encode(p), i * d);
  });
  const po = objective.predict(x, o.pending.length);
  const pc = constraint.predict(x, o.pending.length);
  return o.pending.map((point, i) => ({
    point,
    valid: true,
    objective: po.mean[i]! + kappa * Math.sqrt(po.variance[i]!),
    constraint: pc.mean[i]! + kappa * Math.sqrt(pc.variance[i]!),
  }));
}

/** The next point to measure given the pending ones, or null when the optimiser has nothing more. */
export function suggestWithPending(o: PendingSuggestOptions): Suggestion | null {
  const t0 = performance.now();
  const opt = replay(o.create, [...o.observed, ...pendingObservations(o)]);
  const s = opt.suggest();
  return s ? { ...s, suggestMs: performance.now() - t0 } : null;
}

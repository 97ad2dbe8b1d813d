/**
 * The run's fitted surrogates over its search space: GPs of ln energy per query and ln tail latency
 * (stored with the run, so a new SLO can be answered without measuring), and the objective's
 * denoised energy, which ranks candidates for the recommendation.
 */
import type { Config } from '../core/config.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import type { StoredSurrogates, TrialRecord } from '../core/tuning-run.ts';
import { createRandom } from '../numerics/random.ts';
import { fitGp, gpFromState } from '../optimize/gp.ts';
import { createEncoder } from '../optimize/search-space.ts';
import type { KnobSpace } from './knob-space.ts';

/** GPs of ln energy and ln tail latency over every valid trial inside the search space. */
export function fitSurrogates(space: KnobSpace, fixed: StoredSurrogates['fixed'], trials: readonly TrialRecord[], seed = 0): StoredSurrogates | undefined {
  const enc = createEncoder(space);
  const d = space.dims.length;
  const rows = trials
    .map((t) => ({ p: space.toPoint(t.config), m: t.measurement }))
    .filter((r): r is { p: number[]; m: TrialMeasurement } => r.p !== null && r.m.valid && r.m.energyPerQueryJ > 0 && r.m.latencyTailMs > 0);
  if (rows.length < 3) return undefined;
  const x = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    enc(r.p, x, i * d);
  });
  const rng = createRandom(seed + 7);
  const objective = fitGp(
    x,
    Float64Array.from(rows, (r) => Math.log(r.m.energyPerQueryJ)),
    d,
    { rng, randomStarts: 2 },
  );
  const constraint = fitGp(
    x,
    Float64Array.from(rows, (r) => Math.log(r.m.latencyTailMs)),
    d,
    { rng, randomStarts: 2 },
  );
  return {
    dims: space.dims.map((dim, i) => ({ name: space.knobs[i]!, values: dim.values, scale: dim.scale })),
    fixed,
    objective: objective.state,
    constraint: constraint.state,
  };
}

/** The objective surrogate's denoised energy per query of a configuration in its space. */
export function denoisedEnergy(space: KnobSpace, s: StoredSurrogates | undefined): (c: Config) => number | undefined {
  if (!s) return () => undefined;
  const gp = gpFromState(s.objective);
  const enc = createEncoder(space);
  return (c) => {
    const p = space.toPoint(c);
    return p ? Math.exp(gp.predict(enc(p), 1).mean[0]!) : undefined;
  };
}

/** Re-rank candidates by the objective surrogate's posterior mean (measured energy outside its space). */
export function rankByModel(cands: TrialRecord[], space: KnobSpace, s: StoredSurrogates | undefined): TrialRecord[] {
  if (!s || cands.length < 2) return cands;
  const model = denoisedEnergy(space, s);
  const score = cands.map((c) => model(c.config) ?? c.measurement.energyPerQueryJ);
  return cands
    .map((c, i) => ({ c, s: score[i]! }))
    .sort((a, b) => a.s - b.s)
    .map((x) => x.c);
}

/** Fitted lengthscale of each searched knob in the objective's surrogate (smaller = the knob matters more). */
export function knobLengthscales(s: StoredSurrogates): Record<string, number> {
  const out: Record<string, number> = {};
  s.dims.forEach((d, i) => {
    out[d.name] = s.objective.hyper.lengthscales[i]!;
  });
  return out;
}

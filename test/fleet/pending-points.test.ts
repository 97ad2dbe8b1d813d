import { describe, expect, it } from 'vitest';
import { ConstrainedBo } from '../../src/optimize/constrained-bo.ts';
import type { Observation } from '../../src/optimize/optimizer.ts';
import { PENDING_STRATEGIES, pendingObservations, suggestWithPending } from '../../src/optimize/pending-points.ts';
import { pointKey, type SearchSpace } from '../../src/optimize/search-space.ts';

const space: SearchSpace = {
  dims: [
    { name: 'a', values: [...Array(12).keys()], scale: 'ordinal' },
    { name: 'b', values: [...Array(12).keys()], scale: 'ordinal' },
  ],
};
// a smooth bowl with its minimum at (8, 3); the constraint holds everywhere but the corner
const f = (p: readonly number[]) => ((p[0]! - 8) / 4) ** 2 + ((p[1]! - 3) / 4) ** 2;
const observeAll = (pts: number[][]): Observation[] => pts.map((p) => ({ point: p, valid: true, objective: f(p), constraint: p[0]! + p[1]! > 20 ? 1 : -1 }));
const create = () => new ConstrainedBo({ space, threshold: 0, seed: 3 });
const createModel = () => new ConstrainedBo({ space, threshold: 0, seed: 3, initialPoints: 0 });

describe('suggestions with pending points', () => {
  const observed = observeAll([
    [0, 0],
    [11, 11],
    [2, 9],
    [9, 2],
    [5, 5],
    [7, 4],
  ]);

  it('never proposes a point still being measured, whatever the strategy', () => {
    for (const strategy of PENDING_STRATEGIES) {
      const pending: number[][] = [];
      for (let i = 0; i < 6; i++) {
        const s = suggestWithPending({ create, createModel, space, observed, pending, strategy });
        expect(s, strategy).not.toBeNull();
        expect(pending.map(pointKey), strategy).not.toContain(pointKey(s!.point));
        pending.push([...s!.point]);
      }
      expect(new Set(pending.map(pointKey)).size).toBe(6);
    }
  });

  it('constant liar observes each pending point at the lowest, mean or highest value seen; the believer at the model’s mean', () => {
    const pending = [[8, 3]];
    const objectives = observed.map((o) => (o.valid ? o.objective : 0));
    const lie = (s: (typeof PENDING_STRATEGIES)[number]) => pendingObservations({ create, createModel, space, observed, pending, strategy: s })[0]!;
    expect(lie('cl-min')).toMatchObject({ valid: true, objective: Math.min(...objectives) });
    expect(lie('cl-max')).toMatchObject({ valid: true, objective: Math.max(...objectives) });
    expect(lie('none')).toMatchObject({ valid: false });
    const kb = lie('kriging-believer');
    expect(kb.valid).toBe(true);
    // the model, fitted on a smooth bowl, believes the pending point near the bowl's bottom
    if (kb.valid) expect(kb.objective).toBeLessThan(0.5);
  });

  it('without pending points it suggests what the optimiser alone would', () => {
    const alone = create();
    for (const o of observed) alone.observe(o);
    const s = suggestWithPending({ create, space, observed, pending: [], strategy: 'kriging-believer' });
    expect(s!.point).toEqual(alone.suggest()!.point);
  });
});

/**
 * A fleet recommendation must hold the SLO on every board that measured it: a configuration that a
 * fast board measured within the limit but a slower board of the fleet measures above it is never
 * recommended; the confirmation round catches it and the next best configuration is confirmed.
 */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import { configKey } from '../../src/core/config.ts';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import { latencyLimitMs } from '../../src/core/slo.ts';
import { simBoardRunner, startFleetRun } from '../../src/fleet/index.ts';
import { modelSpecOf } from '../../src/model/model-spec.ts';
import { TuningStore } from '../../src/store/index.ts';

const model = modelSpecOf('efficientnet-b0');
const device = await simBoardRunner({ board: 'orin-agx', boardId: 'x' }, model).describe();
const gpuMax = Math.max(...device.knobs.gpuHz!);
const SLO = { latencyMs: 10, quantile: 0.99 };
const MARGIN = 0.02;
/** Board 'slow' is 12 % slower than 'fast'; latency ∝ 1 / GPU clock, energy ∝ GPU clock (lower clock, less energy). */
const FACTOR: Record<string, number> = { fast: 1, slow: 1.12 };

function measure(c: Config, board: string): TrialMeasurement {
  const tail = 9 * (gpuMax / c.gpuMaxHz!) ** 0.5 * FACTOR[board]! * 0.6;
  const energy = 0.05 * (c.gpuMaxHz! / gpuMax) * (1 + 0.01 * (c.batch ?? 1));
  return {
    config: c,
    valid: true,
    energyPerQueryJ: energy,
    latencyP50Ms: tail * 0.6,
    latencyTailMs: tail,
    tailQuantile: 0.99,
    serviceMs: tail * 0.5,
    throughputQps: 100,
    powerW: 20,
    railsW: {},
    queries: 3000,
    windowS: 30,
    noise: { energyCv: 0.001, latencyTailCv: 0.001 },
  };
}

/** Drive a fleet run of two boards to the end; the fast board leases first in every round. */
async function drive(confirmRounds: number) {
  const store = new TuningStore(':memory:');
  const { tuner, runId } = await startFleetRun({
    store,
    device,
    model,
    slo: SLO,
    budget: 10,
    seed: 3,
    parallel: 2,
    margin: MARGIN,
    batchSizes: [1, 2],
    confirmRounds,
  });
  // the fast board alone measures the search, so the slow board sees only confirmation trials
  const boards = [
    { agentId: 'a-fast', boardId: 'fast', boardType: 'orin-agx' },
    { agentId: 'a-slow', boardId: 'slow', boardType: 'orin-agx' },
  ];
  await tuner.fill(0);
  for (let round = 1; !tuner.finished && round < 200; round++) {
    const searching = !tuner.searchFinished;
    for (const b of searching ? [boards[0]!, boards[0]!] : boards) {
      const lease = await store.leaseTrial(b, { leaseMs: 60_000, runId, now: round * 1000 });
      if (!lease) continue;
      const m = measure(lease.task.config, b.boardId);
      expect(await store.completeTrial(lease, b, m, m.latencyTailMs <= SLO.latencyMs, round * 1000)).toBe(true);
    }
    await tuner.collect();
    await tuner.fill(round * 1000);
  }
  const out = { tuner, trials: [...tuner.measured], best: tuner.incumbent() };
  await store.close();
  return out;
}

describe('the recommendation’s confirmation', () => {
  it('never recommends a configuration that misses the limit on a board that measured it, and confirms the next best', async () => {
    const { tuner, trials, best } = await drive(3);
    expect(tuner.finished).toBe(true);
    const limit = latencyLimitMs(SLO, MARGIN);
    // the search (fast board only) found configurations the slow board cannot hold
    const tooSlowOnSlow = trials.filter((t) => t.boardId === 'fast' && t.measurement.latencyTailMs <= limit && measure(t.config, 'slow').latencyTailMs > limit);
    expect(tooSlowOnSlow.length).toBeGreaterThan(0);
    expect(best).not.toBeNull();
    expect(best!.confirmed).toBe(true);
    expect(tuner.confirmation.confirmed).toEqual(best!.config);
    // both boards measured the recommendation, each within the limit
    const rec = trials.filter((t) => configKey(t.config) === configKey(best!.config));
    expect(new Set(rec.map((t) => t.boardId))).toEqual(new Set(['fast', 'slow']));
    for (const t of rec) expect(t.measurement.latencyTailMs).toBeLessThanOrEqual(limit);
    // and it holds on the slow board by the model of the boards as well
    expect(measure(best!.config, 'slow').latencyTailMs).toBeLessThanOrEqual(limit);
  });

  it('without a confirmation round the search’s best is unconfirmed (what the confirmation guards against)', async () => {
    const { tuner, best } = await drive(0);
    expect(tuner.finished).toBe(true);
    expect(tuner.confirmation.rounds).toBe(0);
    expect(best?.confirmed).toBe(false);
  });
});

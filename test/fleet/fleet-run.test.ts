/**
 * A whole fleet run in one process: the driver and three agents (simulated boards of one type) on
 * one store, for both backends; the profile goes to the registry and comes back by its key, the
 * way `serve --profile <key>` reads it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardDeviation, profileKeyOf, pullProfile, pushProfile, runAgent, runFleetTuning, simBoardRunner } from '../../src/fleet/index.ts';
import { modelSpecOf } from '../../src/model/model-spec.ts';
import { loadProfile } from '../../src/serve/serving-config.ts';
import { isProfileKey, PostgresStore, readRunSource, type Store, TuningStore } from '../../src/store/index.ts';
import { freshSchema, type TestSchema } from '../fixtures/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-fleet-'));
let pg: TestSchema;
beforeAll(async () => {
  pg = await freshSchema();
});
afterAll(async () => {
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const model = modelSpecOf('efficientnet-b0');
const device = await simBoardRunner({ board: 'orin-agx', boardId: 'x' }, model).describe();

const backends: [string, () => Promise<Store>, () => string][] = [
  ['sqlite', async () => new TuningStore(join(dir, 'fleet.db')), () => join(dir, 'fleet.db')],
  ['postgres', () => PostgresStore.open(pg.url), () => pg.url],
];

describe.each(backends)('a fleet run on %s', (_name, open, dbOf) => {
  it('measures the budget once across three boards, records each board, and serves from the registry by key', async () => {
    const driverStore = await open();
    const boards = ['board-a', 'board-b', 'board-c'];
    const stop = new AbortController();
    const agentStores = await Promise.all(boards.map(() => open()));
    const agents = boards.map((boardId, i) =>
      runAgent({
        store: agentStores[i]!,
        identity: { agentId: `agent-${i}`, boardId, boardType: 'orin-agx' },
        leaseMs: 30_000,
        runnerFor: async (t) => simBoardRunner({ board: 'orin-agx', boardId }, t.model),
        pollMs: 20,
        signal: stop.signal,
      }),
    );
    const { run, profileId } = await runFleetTuning({
      store: driverStore,
      device,
      model,
      slo: { latencyMs: 10, quantile: 0.99 },
      budget: 12,
      seed: 2,
      parallel: 3,
      margin: 0.02,
      batchSizes: [1, 2, 4, 8],
      pollMs: 20,
    });
    stop.abort();
    const summaries = await Promise.all(agents);
    const search = run.trials.filter((t) => t.source !== 'baseline' && t.source !== 'confirm');
    expect(search).toHaveLength(12);
    // no reference round by default; the recommendation was confirmed by a round of its own, and
    // together the agents measured every trial once
    expect(run.trials.filter((t) => t.source === 'baseline')).toHaveLength(0);
    expect(run.fleet.confirmation.rounds).toBeGreaterThanOrEqual(1);
    expect(run.trials.filter((t) => t.source === 'confirm')).toHaveLength(3 * run.fleet.confirmation.rounds);
    expect(summaries.reduce((s, a) => s + a.completed, 0)).toBe(run.trials.length);
    expect(summaries.every((a) => a.lost === 0)).toBe(true);
    expect(new Set(run.trials.map((t) => t.queueId)).size).toBe(run.trials.length);
    // the boards recorded are the ones that measured (twin trials take no time here, so one fast agent may take most)
    const measuredBy = [...new Set(run.trials.map((t) => t.boardId))].sort();
    expect(run.fleet.boards.map((b) => b.boardId).sort()).toEqual(measuredBy);
    expect(measuredBy.every((b) => boards.includes(b))).toBe(true);
    expect(run.recommendation).not.toBeNull();
    expect(run.recommendation!.measurement.latencyTailMs).toBeLessThanOrEqual(10);
    // the recommendation is the confirmed configuration, within the limit on every board that measured it
    expect(run.fleet.confirmation.confirmed).toEqual(run.recommendation!.config);
    for (const t of run.trials.filter((x) => JSON.stringify(x.config) === JSON.stringify(run.recommendation!.config)))
      expect(t.measurement.latencyTailMs).toBeLessThanOrEqual(10);
    // the offsets are of the size the boards really differ by (the twin's per-board deviations are a
    // few per cent). Which board measured which shared configuration depends on the agents' timing
    // here, and one noisy window per board cannot order boards 1 % apart: the direction is checked
    // deterministically in board-offsets.test.ts.
    const spread = Math.max(...boards.map((b) => Math.abs(Math.log(boardDeviation(b).energy))));
    for (const b of run.fleet.boards) expect(Math.abs(b.energy)).toBeLessThanOrEqual(spread + 0.05);
    // stored as a run with its profile
    expect((await driverStore.getRun(profileId))?.id).toBe(run.id);
    // to the registry and back, by key, as serve --profile reads it
    const pushed = await pushProfile(driverStore, run);
    expect(pushed.key).toBe(profileKeyOf(run).key);
    expect(isProfileKey(pushed.key)).toBe(true);
    expect(pushed.key).toMatch(/^orin-agx:35\.4:[0-9a-f]{12}:fp32:twin:p99-10ms$/);
    expect([...((await driverStore.pullProfile(pushed.key))?.boards ?? [])].sort()).toEqual(measuredBy);
    expect((await pullProfile(driverStore, pushed.key)).id).toBe(run.id);
    expect((await readRunSource(pushed.key, dbOf())).id).toBe(run.id);
    const served = await loadProfile(pushed.key, dbOf());
    expect(served.profile.config).toEqual(run.recommendation!.config);
    await expect(readRunSource('orin-agx:35.4:000000000000:fp32:twin:p99-10ms', dbOf())).rejects.toThrow(/no profile/);
    await driverStore.close();
    for (const s of agentStores) await s.close();
  });
});

/**
 * Kill an agent process mid-trial: its lease expires, another board takes the trial over, and the
 * run counts every trial once (nothing lost, nothing twice). Real agent processes (`polythrottle
 * agent`, simulated boards whose trials take real time) against the PostgreSQL test server.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleetTuning, simBoardRunner } from '../../src/fleet/index.ts';
import { modelSpecOf } from '../../src/model/model-spec.ts';
import { PostgresStore } from '../../src/store/index.ts';
import { killChildrenAfterEach, spawnTsx } from '../fixtures/child-process.ts';
import { freshSchema, type TestSchema } from '../fixtures/postgres.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
let pg: TestSchema;
beforeAll(async () => {
  pg = await freshSchema();
});
afterAll(async () => {
  await pg?.drop();
});
killChildrenAfterEach();

const agent = (boardId: string) =>
  // a 32-simulated-second trial takes 1.9 s of real time; the lease (1.5 s) is renewed every 0.5 s while it runs
  spawnTsx(MAIN, ['agent', '--db', pg.url, '--device', 'sim:orin-agx', '--board-id', boardId, '--lease', '1500ms', '--poll', '100ms', '--time-scale', '0.06']);

describe('an agent killed mid-trial', () => {
  it('loses no trial and counts none twice: its lease expires and another board measures the trial', async () => {
    const model = modelSpecOf('efficientnet-b0');
    const store = await PostgresStore.open(pg.url);
    const device = await simBoardRunner({ board: 'orin-agx', boardId: 'x' }, model).describe();
    const a = agent('board-a');
    const b = agent('board-b');
    const done = runFleetTuning({
      store,
      device,
      model,
      slo: { latencyMs: 10, quantile: 0.99 },
      budget: 4,
      seed: 1,
      parallel: 2,
      margin: 0.02,
      batchSizes: [1, 2, 4, 8],
      pollMs: 50,
    });
    // board a's first lease is a search trial (no reference round): kill it while it measures
    const leased = await a.waitFor(/leased trial (\d+) of run \w+ \((initial|bo)\)/);
    a.child.kill('SIGKILL');
    const victim = Number(leased[1]);
    expect(a.output()).not.toContain(`completed trial ${victim}:`);
    const { run } = await done;
    // board b took the trial over once the lease had expired
    expect(b.output()).toMatch(new RegExp(`leased trial ${victim} of run \\w+ \\((initial|bo), attempt 2\\)`));
    const search = run.trials.filter((t) => t.source !== 'baseline' && t.source !== 'confirm');
    expect(search).toHaveLength(4);
    const byQueue = run.trials.filter((t) => t.queueId === victim);
    expect(byQueue).toHaveLength(1);
    expect(byQueue[0]!.boardId).toBe('board-b');
    expect(new Set(run.trials.map((t) => t.queueId)).size).toBe(run.trials.length);
    expect(run.trials.map((t) => t.index)).toEqual([...run.trials.keys()]);
    expect(await store.queueState(run.id)).toMatchObject({ queued: 0, leased: 0, expired: 0 });
    await store.close();
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});

/**
 * The store interface on both backends, against a real server for PostgreSQL: migrations, runs and
 * profiles, the lease queue (expiry, take-over, a stale completion refused, nothing counted twice)
 * and the profile registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { createSimTrialRunner } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { type AgentIdentity, MIGRATIONS, openStore, PostgresStore, SCHEMA_VERSION, type Store, type TrialTask, TuningStore } from '../../src/store/index.ts';
import { freshSchema, type TestSchema } from '../fixtures/postgres.ts';

const runner = createSimTrialRunner({ board: 'orin-agx', profile: zooProfile('efficientnet-b0'), noise: 0 });
const device = await runner.describe();
const config = {
  cpuHz: device.knobs.cpuHz?.at(-1),
  gpuMinHz: device.knobs.gpuHz?.at(-1),
  gpuMaxHz: device.knobs.gpuHz?.at(-1),
  emcHz: device.knobs.emcHz?.at(-1),
  batch: 1,
};
const measurement: TrialMeasurement = await runner.measure(config);
const task: TrialTask = { config, model: { name: 'efficientnet-b0', dtype: 'fp32' }, trial: { quantile: 0.99 }, sloMs: 50 };
const agent = (n: number): AgentIdentity => ({ agentId: `agent-${n}`, boardId: `board-${n}`, boardType: 'orin-agx' });

let counter = 0;
async function newRun(store: Store, fleet = true): Promise<string> {
  const id = `run-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  await store.createRun({
    id,
    device,
    model: 'efficientnet-b0',
    sloMs: 50,
    quantile: 0.99,
    optimizer: 'cbo',
    seed: 0,
    budget: 4,
    settingsKey: 'k',
    createdAt: new Date().toISOString(),
    ...(fleet ? { fleet: { parallel: 2, reference: task } } : {}),
  });
  return id;
}

const dir = mkdtempSync(join(tmpdir(), 'pt-backends-'));
let pgSchema: TestSchema;
beforeAll(async () => {
  pgSchema = await freshSchema();
});
afterAll(async () => {
  await pgSchema?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const backends: [string, () => Promise<Store>][] = [
  ['sqlite', async () => new TuningStore(join(dir, 'store.db'))],
  ['postgres', async () => PostgresStore.open(pgSchema.url)],
];

describe.each(backends)('store on %s', (name, open) => {
  it('migrates to the latest schema version, and opening again applies nothing twice', async () => {
    const a = await open();
    const b = await open();
    expect(a.backend).toBe(name);
    if (a instanceof TuningStore) expect(a.schemaVersion).toBe(SCHEMA_VERSION);
    if (a instanceof PostgresStore) expect(await a.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    await a.close();
    await b.close();
  });

  it('stores a run, its trials and its profile, and finds it by prefix', async () => {
    const s = await open();
    const id = await newRun(s, false);
    const trial = { index: 0, source: 'initial' as const, config, measurement, feasible: true, suggestMs: 3 };
    await s.saveTrial(id, trial);
    expect(await s.loadTrials(id)).toEqual([trial]);
    expect((await s.findResumable('k', id))?.trials).toBe(1);
    const run = {
      id,
      createdAt: 'x',
      device,
      model: 'efficientnet-b0',
      slo: { latencyMs: 50, quantile: 0.99 },
      optimizer: 'cbo',
      seed: 0,
      budget: 4,
      trials: [trial],
      recommendation: { config, measurement },
      baselines: [],
    } as TuningRun;
    const profileId = await s.finishRun(run);
    expect((await s.getRun(id.slice(0, 10)))?.profileId).toBe(profileId);
    expect((await s.getRun(profileId))?.id).toBe(id);
    expect((await s.listProfiles()).some((p) => p.id === profileId)).toBe(true);
    await expect(s.findResumable('k', id)).rejects.toThrow(/already finished/);
    await s.close();
  });

  it('leases each queued trial to one agent at a time, the board reference first, and re-queues an expired lease', async () => {
    const s = await open();
    const other = await open();
    const id = await newRun(s);
    await s.postTrials(
      id,
      [
        { source: 'initial', task },
        { source: 'initial', task },
      ],
      1000,
    );
    const t0 = 10_000;
    // each board measures its reference first
    const r1 = await s.leaseTrial(agent(1), { leaseMs: 500, runId: id, now: t0 });
    const r2 = await other.leaseTrial(agent(2), { leaseMs: 500, runId: id, now: t0 });
    expect([r1?.source, r2?.source]).toEqual(['baseline', 'baseline']);
    expect(r1?.queueId).not.toBe(r2?.queueId);
    expect(await s.completeTrial(r1!, agent(1), measurement, true, t0 + 100)).toBe(true);
    // then the search trials, one each
    const a = await s.leaseTrial(agent(1), { leaseMs: 500, runId: id, now: t0 + 100 });
    const b = await other.leaseTrial(agent(1 + 2), { leaseMs: 500, runId: id, now: t0 + 100 });
    expect(a?.source).toBe('initial');
    // agent 3 is a new board: its own reference comes first
    expect(b?.source).toBe('baseline');
    const c = await other.leaseTrial(agent(3), { leaseMs: 500, runId: id, now: t0 + 100 });
    expect(c?.source).toBe('initial');
    expect(c?.queueId).not.toBe(a?.queueId);
    expect(await s.leaseTrial(agent(4), { leaseMs: 500, runId: id, now: t0 + 200 })).toMatchObject({ source: 'baseline' });
    // nothing else is free until a lease expires
    expect(await s.leaseTrial(agent(1), { leaseMs: 500, runId: id, now: t0 + 200 })).toBeNull();
    expect(await s.renewLease(a!, 500, t0 + 400)).toBe(true);
    // c's holder dies: at t0 + 601 its lease has expired (a's was renewed until t0 + 900)
    expect(await s.queueState(id, t0 + 700)).toMatchObject({ expired: 4 - 1, done: 1 });
    const taken = await s.leaseTrial(agent(1), { leaseMs: 500, runId: id, now: t0 + 700 });
    expect(taken?.queueId).toBe(c?.queueId);
    expect(taken?.attempts).toBe(2);
    // the first holder comes back: its completion is refused, the new holder's counted once
    expect(await s.completeTrial(c!, agent(3), measurement, true, t0 + 800)).toBe(false);
    expect(await s.renewLease(c!, 500, t0 + 800)).toBe(false);
    expect(await s.completeTrial(taken!, agent(1), measurement, true, t0 + 800)).toBe(true);
    expect(await s.completeTrial(taken!, agent(1), measurement, true, t0 + 800)).toBe(false);
    expect(await s.completeTrial(a!, agent(1), measurement, true, t0 + 850)).toBe(true);
    const trials = await s.fleetTrials(id);
    expect(trials.map((t) => t.index)).toEqual([0, 1, 2]);
    expect(new Set(trials.map((t) => t.queueId)).size).toBe(3);
    expect(trials.map((t) => t.boardId)).toEqual(['board-1', 'board-1', 'board-1']);
    expect((await s.fleetTrials(id, 2)).map((t) => t.index)).toEqual([2]);
    expect(await s.cancelQueued(id)).toBe(3); // the references of boards 2, 3 and 4, never completed
    await s.close();
    await other.close();
  });

  it('hands 12 concurrent lease requests 12 different trials', async () => {
    const stores = await Promise.all(Array.from({ length: 3 }, () => open()));
    const id = await newRun(stores[0]!);
    await stores[0]!.postTrials(
      id,
      Array.from({ length: 20 }, () => ({ source: 'initial' as const, task })),
    );
    const boards = Array.from({ length: 12 }, (_, i) => agent(100 + i));
    // the references first (one per board), then one search trial per board, all at once
    await Promise.all(boards.map((b, i) => stores[i % 3]!.leaseTrial(b, { leaseMs: 60_000, runId: id })));
    const leases = await Promise.all(boards.map((b, i) => stores[i % 3]!.leaseTrial(b, { leaseMs: 60_000, runId: id })));
    expect(leases.every((l) => l?.source === 'initial')).toBe(true);
    expect(new Set(leases.map((l) => l!.queueId)).size).toBe(12);
    const done = await Promise.all(leases.map((l, i) => stores[i % 3]!.completeTrial(l!, boards[i]!, measurement, true)));
    expect(done.every(Boolean)).toBe(true);
    const trials = await stores[0]!.fleetTrials(id);
    expect(trials.map((t) => t.index)).toEqual([...Array(12).keys()]);
    for (const s of stores) await s.close();
  });

  it('leases only runs of the agent board type, and no finished run', async () => {
    const s = await open();
    const id = await newRun(s);
    await s.postTrials(id, [{ source: 'initial', task }]);
    expect(await s.leaseTrial({ ...agent(7), boardType: 'tx2' }, { leaseMs: 1000, runId: id })).toBeNull();
    await s.markFailed(id);
    expect(await s.leaseTrial(agent(7), { leaseMs: 1000, runId: id })).toBeNull();
    await s.close();
  });

  it('keeps versioned profiles in the registry, with the boards that measured them', async () => {
    const s = await open();
    const key = `orin-agx:36.4.0:abcdef012345:fp16:sim:p99-${name}`;
    const run = { id: 'r1', model: 'efficientnet-b0' } as TuningRun;
    const fields = {
      key,
      boardType: 'orin-agx',
      l4t: '36.4.0',
      modelHash: 'abcdef012345',
      precision: 'fp16',
      runtime: 'sim',
      sloMs: 50,
      quantile: 0.99,
      model: 'efficientnet-b0',
      runId: 'r1',
    };
    expect(await s.pushProfile({ ...fields, boards: ['b1', 'b2'], run })).toBe(1);
    expect(await s.pushProfile({ ...fields, boards: ['b1', 'b2', 'b3'], run: { ...run, id: 'r2' } })).toBe(2);
    const got = await s.pullProfile(key);
    expect(got?.version).toBe(2);
    expect(got?.boards).toEqual(['b1', 'b2', 'b3']);
    expect(got?.run.id).toBe('r2');
    expect((await s.listRegistry()).filter((p) => p.key === key)).toHaveLength(1);
    expect(await s.pullProfile('nope')).toBeNull();
    await s.close();
  });
});

describe('openStore', () => {
  it('opens PostgreSQL for a postgres:// URL and SQLite for a path; a SQLite file of schema 1 is migrated', async () => {
    const p = await openStore(pgSchema.url);
    expect(p.backend).toBe('postgres');
    expect(p.path).toContain('postgres://');
    await p.close();
    const file = join(dir, 'v1.db');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!.sqlite);
    raw.pragma('user_version = 1');
    raw.close();
    const s = await openStore(file);
    expect(s.backend).toBe('sqlite');
    expect((s as TuningStore).schemaVersion).toBe(SCHEMA_VERSION);
    await s.close();
  });

  it('fails with one clear error when the server cannot be reached', async () => {
    await expect(openStore('postgres://postgres@127.0.0.1:1/none')).rejects.toThrow(/cannot open the PostgreSQL store/);
  });
});

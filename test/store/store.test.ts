import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, configKey } from '../../src/core/config.ts';
import type { TrialOptions, TrialRunner } from '../../src/core/measurement.ts';
import { createSimTrialRunner } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { defaultDbPath, TuningStore, userDataDir } from '../../src/store/index.ts';
import { recommendForSlo, runTuningSession } from '../../src/tune/index.ts';

const profile = zooProfile('efficientnet-b0');
const slo = { latencyMs: 30, quantile: 0.99 };

/** The twin, counting every measurement and failing after `failAfter` of them. */
function countingRunner(seed: number, failAfter = Number.POSITIVE_INFINITY) {
  const inner = createSimTrialRunner({ board: 'orin-agx', profile, seed });
  const measured: string[] = [];
  const r: TrialRunner = {
    describe: () => inner.describe(),
    close: () => inner.close(),
    async measure(c: Config, o?: TrialOptions) {
      if (measured.length >= failAfter) throw new Error('power meter unplugged');
      measured.push(configKey(c));
      return inner.measure(c, o);
    },
  };
  return { runner: r, measured };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pt-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('tuning store', () => {
  it('resumes an interrupted run without measuring a finished trial again', async () => {
    const path = join(dir, 'runs.db');
    // the budget bounds every measurement of the run (12): the meter fails after 8 of them
    const first = countingRunner(1, 8);
    const store = new TuningStore(path);
    const opts = { model: 'efficientnet-b0', slo, budget: 12, seed: 5, settings: { device: 'sim:orin-agx' } };
    await expect(runTuningSession({ ...opts, runner: first.runner, store })).rejects.toThrow(/unplugged/);
    store.close();
    expect(first.measured).toHaveLength(8);

    const again = new TuningStore(path);
    const second = countingRunner(1);
    let resumed: { runId: string; trials: number } | undefined;
    const res = await runTuningSession({ ...opts, runner: second.runner, store: again, resume: true, onResume: (i) => (resumed = i) });
    expect(resumed?.trials).toBe(8);
    expect(res.resumedRun).toBe(resumed?.runId);
    expect(res.run.reusedTrials).toBe(8);
    // every trial of the finished run was measured exactly once across the two sessions
    expect(first.measured.length + second.measured.length).toBe(res.run.trials.length);
    // the stored run is the finished one, with its profile
    const stored = (await again.getRun(res.profileId.slice(0, 8)))!;
    expect(stored.id).toBe(res.run.id);
    expect(stored.trials).toHaveLength(res.run.trials.length);
    expect((await again.listProfiles()).map((p) => p.id)).toEqual([res.profileId]);
    // and it answers a new SLO without a runner
    expect(recommendForSlo(stored, { latencyMs: 80, quantile: 0.99 }).measured).not.toBeNull();
    // nothing left to resume
    await expect(again.findResumable('x', res.run.id)).rejects.toThrow(/different settings|already finished/);
    again.close();
  });

  it('uses WAL, keeps trials as they are measured and starts fresh without --resume', async () => {
    const path = join(dir, 'wal.db');
    const store = new TuningStore(path);
    const a = countingRunner(2, 3);
    let hinted = false;
    await expect(runTuningSession({ model: 'efficientnet-b0', slo, budget: 5, runner: a.runner, store })).rejects.toThrow();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((raw.prepare('SELECT COUNT(*) AS n FROM trials').get() as { n: number }).n).toBe(3);
    expect((raw.prepare(`SELECT status FROM runs`).get() as { status: string }).status).toBe('failed');
    raw.close();
    const b = countingRunner(2);
    const res = await runTuningSession({
      model: 'efficientnet-b0',
      slo,
      budget: 5,
      runner: b.runner,
      store,
      onResume: (i) => {
        hinted = !i.resumed && i.trials === 3;
      },
    });
    expect(hinted).toBe(true);
    expect(res.resumedRun).toBeNull();
    expect(b.measured.length).toBe(res.run.trials.length);
    store.close();
  });

  it('puts the default store in the user data directory', () => {
    expect(userDataDir({ XDG_DATA_HOME: '/data' }, 'linux')).toBe('/data/polythrottle');
    expect(defaultDbPath({ POLYTHROTTLE_DB: '/x/y.db' })).toBe('/x/y.db');
    expect(defaultDbPath({ XDG_DATA_HOME: '/d' })).toBe('/d/polythrottle/polythrottle.db');
  });
});

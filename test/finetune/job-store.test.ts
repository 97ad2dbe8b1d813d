import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryJobStore, SqliteJobStore } from '../../src/finetune/scheduling/job-store.ts';
import { FinetuneScheduler } from '../../src/finetune/scheduling/scheduler.ts';
import { simEnvironment } from './fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pt-ft-'));
  dirs.push(d);
  return join(d, 'jobs.db');
};

function scheduler(store: SqliteJobStore | MemoryJobStore, sloMs: number) {
  const { predictor, environment } = simEnvironment();
  return new FinetuneScheduler({
    store,
    predictor,
    environment,
    slo: { latencyMs: sloMs, quantile: 0.99 },
    rateRps: 20,
    clock: () => 0,
    allowSwitch: false,
    shrinkMicroBatch: false,
  });
}

describe('SqliteJobStore', () => {
  it('round-trips every field and keeps FIFO order', () => {
    const s = new SqliteJobStore(tmp());
    const a = s.insert('a', { kind: 'command', name: 'train', model: 'small', microBatch: 4, command: 'trainer' }, '2026-11-26T00:00:00Z');
    s.insert('b', { kind: 'sim', name: 'sim', model: 'large', microBatch: 2, steps: 7 }, '2026-11-26T00:00:01Z');
    expect(a.seq).toBe(1);
    s.update('a', { state: 'failed', exitStatus: 3, reason: 'process exited with status 3', stepsDone: 5, switchEnergyJ: 1.5 });
    s.update('b', { state: 'cancelled', exitStatus: 'SIGKILL' });
    const [ja, jb] = s.list();
    expect(ja).toMatchObject({ id: 'a', kind: 'command', command: 'trainer', state: 'failed', exitStatus: 3, stepsDone: 5, switchEnergyJ: 1.5 });
    expect(jb).toMatchObject({ id: 'b', steps: 7, exitStatus: 'SIGKILL', state: 'cancelled' });
    expect(() => s.update('zz', { state: 'done' })).toThrow(/no job zz/);
    s.close();
  });

  it('keeps queued jobs across a restart and requeues the one that was running', () => {
    const file = tmp();
    const s1 = new SqliteJobStore(file);
    const sch1 = scheduler(s1, 900);
    const a = sch1.submit({ kind: 'sim', name: 'first', model: 'small', microBatch: 2, steps: 5 });
    const b = sch1.submit({ kind: 'sim', name: 'second', model: 'small', microBatch: 2, steps: 5 });
    sch1.gap(Number.POSITIVE_INFINITY);
    sch1.stepDone(a.id, 10);
    expect(s1.get(a.id)!.state).toBe('running');
    s1.close(); // the server stops (or dies)

    const s2 = new SqliteJobStore(file);
    const back = s2.get(a.id)!;
    expect(back.state).toBe('queued');
    expect(back.stepsDone).toBe(1);
    expect(back.reason).toMatch(/requeued/);
    expect(s2.get(b.id)!.state).toBe('queued');
    const sch2 = scheduler(s2, 900);
    expect(sch2.runningJobId).toBe(a.id); // the head of the queue resumes first
    expect(s2.get(b.id)!.state).toBe('queued');
    const c = sch2.submit({ kind: 'sim', name: 'third', model: 'small', microBatch: 2, steps: 1 });
    expect(s2.get(c.id)!.seq).toBe(3);
    s2.close();
  });
});

import Database from 'better-sqlite3';
import type { Job, JobSpec, JobState } from './job.ts';

/** Where the scheduler keeps its jobs: in memory (tests, replays) or SQLite (the server). */
export interface JobStore {
  /** Insert a new queued job; the store assigns `seq` (FIFO order). */
  insert(id: string, spec: JobSpec, submittedAt: string): Job;
  update(id: string, patch: JobPatch): Job;
  get(id: string): Job | undefined;
  /** All jobs in FIFO order. */
  list(): Job[];
  close(): void;
}

export type JobPatch = Partial<Pick<Job, 'state' | 'startedAt' | 'finishedAt' | 'stepsDone' | 'runMicroBatch' | 'reason' | 'exitStatus' | 'switchEnergyJ'>>;

export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, Job>();
  private seq = 0;
  insert(id: string, spec: JobSpec, submittedAt: string): Job {
    if (this.jobs.has(id)) throw new RangeError(`job ${id} already exists`);
    const job: Job = { ...spec, id, seq: ++this.seq, state: 'queued', submittedAt, stepsDone: 0 };
    this.jobs.set(id, job);
    return job;
  }
  update(id: string, patch: JobPatch): Job {
    const j = this.jobs.get(id);
    if (!j) throw new RangeError(`no job ${id}`);
    const next = { ...j, ...patch };
    this.jobs.set(id, next);
    return next;
  }
  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }
  list(): Job[] {
    return [...this.jobs.values()].sort((a, b) => a.seq - b.seq);
  }
  close(): void {}
}

interface Row {
  id: string;
  seq: number;
  kind: string;
  name: string;
  model: string;
  micro_batch: number;
  steps: number | null;
  command: string | null;
  state: string;
  submitted_at: string;
  started_at: string | null;
  finished_at: string | null;
  steps_done: number;
  run_micro_batch: number | null;
  reason: string | null;
  exit_status: string | null;
  switch_energy_j: number | null;
}

/**
 * Jobs in SQLite (WAL), in the table `finetune_jobs` of the given database file, so queued jobs
 * survive a restart. On open, jobs left `running` by a previous process are put back in the queue
 * (at their original FIFO place) with a note: their progress outside the store is unknown.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 2000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS finetune_jobs (
      id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL UNIQUE,
      kind TEXT NOT NULL CHECK (kind IN ('gate','command','sim')),
      name TEXT NOT NULL,
      model TEXT NOT NULL,
      micro_batch INTEGER NOT NULL,
      steps INTEGER,
      command TEXT,
      state TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled')),
      submitted_at TEXT NOT NULL,
      started_at TEXT,
      finished_at TEXT,
      steps_done INTEGER NOT NULL DEFAULT 0,
      run_micro_batch INTEGER,
      reason TEXT,
      exit_status TEXT,
      switch_energy_j REAL
    )`);
    this.db
      .prepare(
        `UPDATE finetune_jobs SET state = 'queued', started_at = NULL, run_micro_batch = NULL,
         reason = 'requeued: the server stopped while the job ran' WHERE state = 'running'`,
      )
      .run();
  }

  insert(id: string, spec: JobSpec, submittedAt: string): Job {
    const tx = this.db.transaction(() => {
      const { m } = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM finetune_jobs').get() as { m: number };
      this.db
        .prepare(
          `INSERT INTO finetune_jobs (id, seq, kind, name, model, micro_batch, steps, command, state, submitted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)`,
        )
        .run(id, m + 1, spec.kind, spec.name, spec.model, spec.microBatch, spec.steps ?? null, spec.command ?? null, submittedAt);
    });
    tx();
    return this.get(id)!;
  }

  update(id: string, patch: JobPatch): Job {
    const cols: Record<keyof JobPatch, string> = {
      state: 'state',
      startedAt: 'started_at',
      finishedAt: 'finished_at',
      stepsDone: 'steps_done',
      runMicroBatch: 'run_micro_batch',
      reason: 'reason',
      exitStatus: 'exit_status',
      switchEnergyJ: 'switch_energy_j',
    };
    const sets: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
      sets.push(`${cols[k]} = ?`);
      vals.push(v === undefined ? null : k === 'exitStatus' ? String(v) : v);
    }
    if (sets.length > 0) {
      const r = this.db.prepare(`UPDATE finetune_jobs SET ${sets.join(', ')} WHERE id = ?`).run(...vals, id);
      if (r.changes === 0) throw new RangeError(`no job ${id}`);
    }
    const j = this.get(id);
    if (!j) throw new RangeError(`no job ${id}`);
    return j;
  }

  get(id: string): Job | undefined {
    const r = this.db.prepare('SELECT * FROM finetune_jobs WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  list(): Job[] {
    return (this.db.prepare('SELECT * FROM finetune_jobs ORDER BY seq').all() as Row[]).map(fromRow);
  }

  close(): void {
    this.db.close();
  }
}

function fromRow(r: Row): Job {
  const exit = r.exit_status === null ? undefined : /^-?\d+$/.test(r.exit_status) ? Number(r.exit_status) : r.exit_status;
  return {
    id: r.id,
    seq: r.seq,
    kind: r.kind as Job['kind'],
    name: r.name,
    model: r.model,
    microBatch: r.micro_batch,
    ...(r.steps === null ? {} : { steps: r.steps }),
    ...(r.command === null ? {} : { command: r.command }),
    state: r.state as JobState,
    submittedAt: r.submitted_at,
    ...(r.started_at === null ? {} : { startedAt: r.started_at }),
    ...(r.finished_at === null ? {} : { finishedAt: r.finished_at }),
    stepsDone: r.steps_done,
    ...(r.run_micro_batch === null ? {} : { runMicroBatch: r.run_micro_batch }),
    ...(r.reason === null ? {} : { reason: r.reason }),
    ...(exit === undefined ? {} : { exitStatus: exit }),
    ...(r.switch_energy_j === null ? {} : { switchEnergyJ: r.switch_energy_j }),
  };
}

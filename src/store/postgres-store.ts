/**
 * The PostgreSQL store: the same tables and semantics as the SQLite one, for a fleet whose agents
 * and tuning driver share one database. A lease is `SELECT … FOR UPDATE SKIP LOCKED` on the trial
 * queue, so agents never wait on each other's row locks; a completion is one transaction that
 * checks the lease token, writes the trial and closes the queue entry. Lease times come from the
 * caller's clock when given (virtual time), else from the server's, so boards' clocks need not agree.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PolyThrottleError } from '../core/errors.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { pendingMigrations, SCHEMA_VERSION } from './migrations.ts';
import type {
  AgentIdentity,
  FleetTrialRecord,
  Lease,
  NewRun,
  PostedTrial,
  ProfileSummary,
  QueueState,
  RegistryProfile,
  RegistrySummary,
  Store,
  StoredRunInfo,
} from './store.ts';
import {
  fleetTrialOf,
  leaseOf,
  type ProfileRow,
  profileOf,
  profileValues,
  type QueueRow,
  type RegistryRow,
  registryProfileOf,
  registrySummaryOf,
  type RunRow,
  runInfo,
  TRIAL_COLUMNS,
  type TrialRow,
  trialOf,
  trialValues,
} from './store-rows.ts';
import {
  boardTypeOfDeviceId,
  checkResumable,
  QUEUE_STATE_SQL,
  REGISTRY_COLUMNS,
  REGISTRY_SUMMARY_COLUMNS,
  recordOf,
  referenceOrder,
  registryValues,
  uniqueRun,
} from './tuning-store.ts';

/** `$1, $2, … $n` */
const params = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
/** The caller's time when given, else the server's, in ms since the epoch. */
const NOW = (i: number) => `COALESCE($${i}::double precision, extract(epoch from clock_timestamp()) * 1000)`;

export interface PostgresStoreOptions {
  /** Schema to keep the tables in (created when missing); default the URL's `schema` parameter, else the server's search_path. */
  readonly schema?: string;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
}

/** True when a --db value names a PostgreSQL server rather than a SQLite file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;

  private constructor(
    readonly path: string,
    private readonly pool: pg.Pool,
    readonly schema: string | null,
  ) {}

  /** Connect, create the schema when asked for one, and migrate. */
  static async open(url: string, o: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const u = new URL(url);
    const schema = o.schema ?? u.searchParams.get('schema');
    u.searchParams.delete('schema');
    if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new PolyThrottleError('BAD_INPUT', `invalid schema name "${schema}" in --db`);
    const pool = new pg.Pool({ connectionString: u.toString(), max: o.poolSize ?? 4, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
    // an idle client's error (the server restarting) must not crash the process; the next query reports it
    pool.on('error', () => {});
    const store = new PostgresStore(redactUrl(url), pool, schema);
    try {
      if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await store.migrate();
    } catch (e) {
      await pool.end();
      throw new PolyThrottleError('BAD_INPUT', `cannot open the PostgreSQL store ${store.path}: ${(e as Error).message}`, {
        hint: 'is the server up and the database created? (see the README: "A PostgreSQL server")',
        cause: e,
      });
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      // one migrator at a time, per schema: agents starting together must not race
      await c.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema()))`);
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const r = await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      const version = r.rows[0]?.v ?? 0;
      if (version > SCHEMA_VERSION)
        throw new PolyThrottleError('UNSUPPORTED', `the store ${this.path} has schema ${version}, newer than this version understands (${SCHEMA_VERSION})`);
      for (const m of pendingMigrations(version)) {
        await c.query(m.postgres);
        await c.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.description,
          new Date().toISOString(),
        ]);
      }
    });
  }

  /** The schema version the database is at. */
  async schemaVersion(): Promise<number> {
    const r = await this.pool.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return r.rows[0]?.v ?? 0;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  private async rows<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, values)).rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async createRun(r: NewRun): Promise<void> {
    const now = new Date().toISOString();
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO devices (id, kind, name, description_json, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, description_json = excluded.description_json, updated_at = excluded.updated_at`,
        [r.device.id, r.device.kind, r.device.name, JSON.stringify(r.device), now],
      );
      await c.query('INSERT INTO models (name, first_seen) VALUES ($1, $2) ON CONFLICT DO NOTHING', [r.model, now]);
      await c.query(
        `INSERT INTO runs (id, device_id, model, slo_ms, quantile, rate_rps, optimizer, seed, budget, settings_key, status, created_at, fleet_json, fleet_board_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12, $13)`,
        [
          r.id,
          r.device.id,
          r.model,
          r.sloMs,
          r.quantile,
          r.rateRps ?? null,
          r.optimizer,
          r.seed,
          r.budget,
          r.settingsKey,
          r.createdAt,
          r.fleet ? JSON.stringify(r.fleet) : null,
          r.fleet ? boardTypeOfDeviceId(r.device.id) : null,
        ],
      );
    });
  }

  async findResumable(settingsKey: string, runId?: string): Promise<StoredRunInfo | null> {
    const [row] = runId
      ? await this.rows<RunRow>(`SELECT * FROM runs WHERE id = $1 OR id LIKE $2 ORDER BY created_at DESC LIMIT 1`, [runId, `${runId}%`])
      : await this.rows<RunRow>(`SELECT * FROM runs WHERE settings_key = $1 AND status != 'done' ORDER BY created_at DESC LIMIT 1`, [settingsKey]);
    if (!row) return null;
    checkResumable(row, settingsKey, runId);
    const [n] = await this.rows<{ n: number }>('SELECT COUNT(*)::int AS n FROM trials WHERE run_id = $1', [row.id]);
    return runInfo(row, n?.n ?? 0);
  }

  async reopenRun(id: string): Promise<void> {
    await this.pool.query(`UPDATE runs SET status = 'running' WHERE id = $1`, [id]);
  }

  async saveTrial(runId: string, t: TrialRecord): Promise<void> {
    await insertTrial(this.pool, runId, t);
  }

  async loadTrials(runId: string): Promise<TrialRecord[]> {
    return (await this.rows<TrialRow>('SELECT * FROM trials WHERE run_id = $1 ORDER BY idx', [runId])).map(trialOf);
  }

  async markFailed(runId: string): Promise<void> {
    await this.pool.query(`UPDATE runs SET status = 'failed' WHERE id = $1 AND status = 'running'`, [runId]);
  }

  async finishRun(run: TuningRun): Promise<string> {
    const profileId = run.profileId ?? randomUUID();
    const full: TuningRun = { ...run, profileId };
    const now = new Date().toISOString();
    await this.tx(async (c) => {
      const fleet = await c.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM trials WHERE run_id = $1 AND queue_id IS NOT NULL', [run.id]);
      if ((fleet.rows[0]?.n ?? 0) === 0) {
        await c.query('DELETE FROM trials WHERE run_id = $1', [run.id]);
        for (const t of run.trials) await insertTrial(c, run.id, t);
      }
      await c.query(`UPDATE runs SET status = 'done', finished_at = $1, run_json = $2 WHERE id = $3`, [now, JSON.stringify(full), run.id]);
      await c.query(
        `INSERT INTO profiles (id, run_id, device_id, model, slo_ms, quantile, created_at, recommendation_json, pareto_json, surrogates_json)
         VALUES (${params(10)}) ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, device_id = excluded.device_id, model = excluded.model,
         slo_ms = excluded.slo_ms, quantile = excluded.quantile, created_at = excluded.created_at, recommendation_json = excluded.recommendation_json,
         pareto_json = excluded.pareto_json, surrogates_json = excluded.surrogates_json`,
        profileValues(run, profileId, now),
      );
    });
    return profileId;
  }

  async getRun(idOrPrefix: string): Promise<TuningRun | null> {
    const rows = await this.rows<{ run_json: string; id: string }>(
      `SELECT r.run_json AS run_json, r.id AS id FROM runs r LEFT JOIN profiles p ON p.run_id = r.id
       WHERE r.status = 'done' AND (r.id = $1 OR p.id = $1 OR r.id LIKE $2 OR p.id LIKE $2)`,
      [idOrPrefix, `${idOrPrefix}%`],
    );
    return uniqueRun(rows, idOrPrefix);
  }

  async listProfiles(): Promise<ProfileSummary[]> {
    return (await this.rows<ProfileRow>('SELECT * FROM profiles ORDER BY created_at DESC')).map(profileOf);
  }

  async postTrials(runId: string, trials: readonly PostedTrial[], now?: number): Promise<number[]> {
    return this.tx(async (c) => {
      const ids: number[] = [];
      for (const t of trials) {
        const r = await c.query<{ id: number }>(
          `INSERT INTO trial_queue (run_id, source, task_json, status, posted_ms, acquisition, suggest_ms) VALUES ($1, $2, $3, 'queued', ${NOW(4)}, $5, $6) RETURNING id`,
          [runId, t.source, JSON.stringify(t.task), now ?? null, t.acquisition ?? null, t.suggestMs ?? null],
        );
        ids.push(r.rows[0]!.id);
      }
      return ids;
    });
  }

  async leaseTrial(agent: AgentIdentity, o: { leaseMs: number; runId?: string; now?: number }): Promise<Lease | null> {
    return this.tx(async (c) => {
      const runs = await c.query<{ id: string; fleet_json: string }>(
        `SELECT id, fleet_json FROM runs WHERE status = 'running' AND fleet_json IS NOT NULL AND fleet_board_type = $1 AND ($2::text IS NULL OR id = $2) ORDER BY created_at, id`,
        [agent.boardType, o.runId ?? null],
      );
      for (const run of runs.rows) {
        const fleet = JSON.parse(run.fleet_json) as NonNullable<NewRun['fleet']>;
        if (fleet.reference)
          await c.query(
            `INSERT INTO trial_queue (run_id, source, task_json, board_id, status, posted_ms) VALUES ($1, 'baseline', $2, $3, 'queued', ${NOW(4)})
             ON CONFLICT (run_id, board_id) WHERE board_id IS NOT NULL DO NOTHING`,
            [run.id, JSON.stringify(fleet.reference), agent.boardId, o.now ?? null],
          );
        const done = await c.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM trials WHERE run_id = $1 AND board_id = $2', [run.id, agent.boardId]);
        const picked = await c.query<QueueRow>(
          `UPDATE trial_queue SET status = 'leased', lease_token = $1, lease_agent = $2, lease_board = $3,
             lease_expires_ms = ${NOW(4)} + $5, attempts = attempts + 1
           WHERE id = (
             SELECT id FROM trial_queue WHERE run_id = $6 AND (board_id IS NULL OR board_id = $3)
             AND (status = 'queued' OR (status = 'leased' AND lease_expires_ms < ${NOW(4)}))
             ORDER BY ${referenceOrder(fleet, done.rows[0]?.n ?? 0)}, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING *`,
          [randomUUID(), agent.agentId, agent.boardId, o.now ?? null, o.leaseMs, run.id],
        );
        if (picked.rows[0]) return leaseOf(picked.rows[0]);
      }
      return null;
    });
  }

  async renewLease(lease: Lease, leaseMs: number, now?: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE trial_queue SET lease_expires_ms = ${NOW(1)} + $2 WHERE id = $3 AND lease_token = $4 AND status = 'leased'`, [
      now ?? null,
      leaseMs,
      lease.queueId,
      lease.token,
    ]);
    return r.rowCount === 1;
  }

  async completeTrial(lease: Lease, agent: AgentIdentity, m: TrialMeasurement, feasible: boolean, _now?: number): Promise<boolean> {
    return this.tx(async (c) => {
      const q = await c.query<{ acquisition: number | null; suggest_ms: number | null }>(
        `SELECT acquisition, suggest_ms FROM trial_queue WHERE id = $1 AND lease_token = $2 AND status = 'leased' FOR UPDATE`,
        [lease.queueId, lease.token],
      );
      const row = q.rows[0];
      if (!row) return false;
      // completions of one run take their index one at a time
      await c.query('SELECT id FROM runs WHERE id = $1 FOR UPDATE', [lease.runId]);
      const next = await c.query<{ n: number }>('SELECT COALESCE(MAX(idx) + 1, 0)::int AS n FROM trials WHERE run_id = $1', [lease.runId]);
      await insertTrial(c, lease.runId, recordOf(lease, m, feasible, next.rows[0]!.n, row), lease.queueId, agent.boardId);
      await c.query(`UPDATE trial_queue SET status = 'done' WHERE id = $1`, [lease.queueId]);
      return true;
    });
  }

  async fleetTrials(runId: string, fromIndex = 0): Promise<FleetTrialRecord[]> {
    const rows = await this.rows<TrialRow>('SELECT * FROM trials WHERE run_id = $1 AND idx >= $2 AND queue_id IS NOT NULL ORDER BY idx', [runId, fromIndex]);
    return rows.map(fleetTrialOf);
  }

  async queueState(runId: string, now?: number): Promise<QueueState> {
    const sql = QUEUE_STATE_SQL.replaceAll('$1', NOW(1))
      .replace(/SUM\(/g, 'COALESCE(SUM(')
      .replace(/ END\) AS/g, ' END), 0)::int AS');
    const [r] = await this.rows<Record<keyof QueueState, number>>(sql, [now ?? null, runId]);
    return { queued: r?.queued ?? 0, leased: r?.leased ?? 0, expired: r?.expired ?? 0, done: r?.done ?? 0 };
  }

  async cancelQueued(runId: string): Promise<number> {
    const r = await this.pool.query(`UPDATE trial_queue SET status = 'cancelled' WHERE run_id = $1 AND status IN ('queued', 'leased')`, [runId]);
    return r.rowCount ?? 0;
  }

  async pushProfile(p: Omit<RegistryProfile, 'version' | 'pushedAt'>): Promise<number> {
    return this.tx(async (c) => {
      const prev = await c.query<{ version: number }>('SELECT version FROM registry_profiles WHERE key = $1 FOR UPDATE', [p.key]);
      const version = (prev.rows[0]?.version ?? 0) + 1;
      const cols = REGISTRY_COLUMNS.split(',').map((s) => s.trim());
      await c.query(
        `INSERT INTO registry_profiles (${REGISTRY_COLUMNS}) VALUES (${params(cols.length)})
         ON CONFLICT (key) DO UPDATE SET ${cols
           .slice(1)
           .map((k) => `${k} = excluded.${k}`)
           .join(', ')}`,
        registryValues(p, version),
      );
      return version;
    });
  }

  async pullProfile(key: string): Promise<RegistryProfile | null> {
    const [row] = await this.rows<RegistryRow>('SELECT * FROM registry_profiles WHERE key = $1', [key]);
    return row ? registryProfileOf(row) : null;
  }

  async listRegistry(): Promise<RegistrySummary[]> {
    const rows = await this.rows<RegistryRow>(`SELECT ${REGISTRY_SUMMARY_COLUMNS} FROM registry_profiles ORDER BY board_type, model, slo_ms, pushed_at DESC`);
    return rows.map(registrySummaryOf);
  }
}

async function insertTrial(
  c: pg.Pool | pg.PoolClient,
  runId: string,
  t: TrialRecord,
  queueId: number | null = null,
  boardId: string | null = null,
): Promise<void> {
  const cols = TRIAL_COLUMNS.split(',').map((s) => s.trim());
  await c.query(
    `INSERT INTO trials (${TRIAL_COLUMNS}) VALUES (${params(cols.length)})
     ON CONFLICT (run_id, idx) DO UPDATE SET ${cols
       .slice(2)
       .map((k) => `${k} = excluded.${k}`)
       .join(', ')}`,
    trialValues(runId, t, queueId, boardId),
  );
}

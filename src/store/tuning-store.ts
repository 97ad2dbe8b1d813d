/**
 * The SQLite store (the embedded default): devices, models, runs, trials (written as they are
 * measured, so an interrupted run can resume), profiles, and the fleet tables (trial queue with
 * leases, profile registry). better-sqlite3 in WAL mode; writers are serialised by SQLite's write
 * lock (`BEGIN IMMEDIATE`), which is what a lease needs on one machine.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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

export type { NewRun, ProfileSummary, StoredRunInfo } from './store.ts';

/**
 * Every method runs its SQL synchronously before returning its (already settled) promise, so the
 * store behaves the same whether or not a caller awaits it.
 */
export class TuningStore implements Store {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new PolyThrottleError('BAD_INPUT', `cannot open the tuning store ${path}: ${(e as Error).message}`, {
        hint: 'pass --db <file> with a writable path',
        cause: e,
      });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new PolyThrottleError(
        'UNSUPPORTED',
        `the tuning store ${this.path} has schema ${version}, newer than this version understands (${SCHEMA_VERSION})`,
      );
    this.db
      .transaction(() => {
        for (const m of pendingMigrations(version)) {
          this.db.exec(m.sqlite);
          this.db.pragma(`user_version = ${m.version}`);
        }
      })
      .immediate();
  }

  /** The schema version the file is at. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async createRun(r: NewRun): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO devices (id, kind, name, description_json, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, name = excluded.name, description_json = excluded.description_json, updated_at = excluded.updated_at`,
        )
        .run(r.device.id, r.device.kind, r.device.name, JSON.stringify(r.device), now);
      this.db.prepare('INSERT OR IGNORE INTO models (name, first_seen) VALUES (?, ?)').run(r.model, now);
      this.db
        .prepare(
          `INSERT INTO runs (id, device_id, model, slo_ms, quantile, rate_rps, optimizer, seed, budget, settings_key, status, created_at, fleet_json, fleet_board_type)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
        )
        .run(
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
        );
    })();
  }

  async findResumable(settingsKey: string, runId?: string): Promise<StoredRunInfo | null> {
    const row = (
      runId
        ? this.db.prepare(`SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 1`).get(runId, `${runId}%`)
        : this.db.prepare(`SELECT * FROM runs WHERE settings_key = ? AND status != 'done' ORDER BY created_at DESC LIMIT 1`).get(settingsKey)
    ) as RunRow | undefined;
    if (!row) return null;
    checkResumable(row, settingsKey, runId);
    const n = this.db.prepare('SELECT COUNT(*) AS n FROM trials WHERE run_id = ?').get(row.id) as { n: number };
    return runInfo(row, n.n);
  }

  async reopenRun(id: string): Promise<void> {
    this.db.prepare(`UPDATE runs SET status = 'running' WHERE id = ?`).run(id);
  }

  async saveTrial(runId: string, t: TrialRecord): Promise<void> {
    this.insertTrial(runId, t);
  }

  private insertTrial(runId: string, t: TrialRecord, queueId: number | null = null, boardId: string | null = null): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO trials (${TRIAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(...trialValues(runId, t, queueId, boardId));
  }

  async loadTrials(runId: string): Promise<TrialRecord[]> {
    return (this.db.prepare('SELECT * FROM trials WHERE run_id = ? ORDER BY idx').all(runId) as TrialRow[]).map(trialOf);
  }

  async markFailed(runId: string): Promise<void> {
    this.db.prepare(`UPDATE runs SET status = 'failed' WHERE id = ? AND status = 'running'`).run(runId);
  }

  async finishRun(run: TuningRun): Promise<string> {
    const profileId = run.profileId ?? randomUUID();
    const full: TuningRun = { ...run, profileId };
    const now = new Date().toISOString();
    this.db.transaction(() => {
      // trials as finally numbered (a resumed run may have renumbered them); a fleet run's trials
      // stay as the agents wrote them, tied to their queue entries
      const fleet = this.db.prepare('SELECT COUNT(*) AS n FROM trials WHERE run_id = ? AND queue_id IS NOT NULL').get(run.id) as { n: number };
      if (fleet.n === 0) {
        this.db.prepare('DELETE FROM trials WHERE run_id = ?').run(run.id);
        for (const t of run.trials) this.insertTrial(run.id, t);
      }
      this.db.prepare(`UPDATE runs SET status = 'done', finished_at = ?, run_json = ? WHERE id = ?`).run(now, JSON.stringify(full), run.id);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO profiles (id, run_id, device_id, model, slo_ms, quantile, created_at, recommendation_json, pareto_json, surrogates_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...profileValues(run, profileId, now));
    })();
    return profileId;
  }

  async getRun(idOrPrefix: string): Promise<TuningRun | null> {
    const rows = this.db
      .prepare(
        `SELECT r.run_json AS run_json, r.id AS id FROM runs r LEFT JOIN profiles p ON p.run_id = r.id
         WHERE r.status = 'done' AND (r.id = ? OR p.id = ? OR r.id LIKE ? OR p.id LIKE ?)`,
      )
      .all(idOrPrefix, idOrPrefix, `${idOrPrefix}%`, `${idOrPrefix}%`) as { run_json: string; id: string }[];
    return uniqueRun(rows, idOrPrefix);
  }

  async listProfiles(): Promise<ProfileSummary[]> {
    return (this.db.prepare('SELECT * FROM profiles ORDER BY created_at DESC').all() as ProfileRow[]).map(profileOf);
  }

  async postTrials(runId: string, trials: readonly PostedTrial[], now = Date.now()): Promise<number[]> {
    const ins = this.db.prepare(
      `INSERT INTO trial_queue (run_id, source, task_json, status, posted_ms, acquisition, suggest_ms) VALUES (?, ?, ?, 'queued', ?, ?, ?)`,
    );
    return this.db.transaction(() =>
      trials.map((t) => Number(ins.run(runId, t.source, JSON.stringify(t.task), now, t.acquisition ?? null, t.suggestMs ?? null).lastInsertRowid)),
    )();
  }

  async leaseTrial(agent: AgentIdentity, o: { leaseMs: number; runId?: string; now?: number }): Promise<Lease | null> {
    const now = o.now ?? Date.now();
    return this.db
      .transaction((): Lease | null => {
        const runs = this.db
          .prepare(
            `SELECT id, fleet_json FROM runs WHERE status = 'running' AND fleet_json IS NOT NULL AND fleet_board_type = ? AND (? IS NULL OR id = ?) ORDER BY created_at, id`,
          )
          .all(agent.boardType, o.runId ?? null, o.runId ?? null) as { id: string; fleet_json: string }[];
        for (const run of runs) {
          const fleet = JSON.parse(run.fleet_json) as NonNullable<NewRun['fleet']>;
          if (fleet.reference)
            this.db
              .prepare(
                `INSERT INTO trial_queue (run_id, source, task_json, board_id, status, posted_ms) VALUES (?, 'baseline', ?, ?, 'queued', ?)
                 ON CONFLICT (run_id, board_id) WHERE board_id IS NOT NULL DO NOTHING`,
              )
              .run(run.id, JSON.stringify(fleet.reference), agent.boardId, now);
          const done = this.db.prepare('SELECT COUNT(*) AS n FROM trials WHERE run_id = ? AND board_id = ?').get(run.id, agent.boardId) as { n: number };
          const pick = this.db
            .prepare(
              `SELECT id FROM trial_queue WHERE run_id = ? AND (board_id IS NULL OR board_id = ?)
               AND (status = 'queued' OR (status = 'leased' AND lease_expires_ms < ?)) ORDER BY ${referenceOrder(fleet, done.n)}, id LIMIT 1`,
            )
            .get(run.id, agent.boardId, now) as { id: number } | undefined;
          if (!pick) continue;
          const row = this.db
            .prepare(
              `UPDATE trial_queue SET status = 'leased', lease_token = ?, lease_agent = ?, lease_board = ?, lease_expires_ms = ?, attempts = attempts + 1
               WHERE id = ? RETURNING *`,
            )
            .get(randomUUID(), agent.agentId, agent.boardId, now + o.leaseMs, pick.id) as QueueRow;
          return leaseOf(row);
        }
        return null;
      })
      .immediate();
  }

  async renewLease(lease: Lease, leaseMs: number, now = Date.now()): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE trial_queue SET lease_expires_ms = ? WHERE id = ? AND lease_token = ? AND status = 'leased'`)
      .run(now + leaseMs, lease.queueId, lease.token);
    return r.changes === 1;
  }

  async completeTrial(lease: Lease, agent: AgentIdentity, m: TrialMeasurement, feasible: boolean, _now?: number): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const row = this.db
          .prepare(`SELECT id, acquisition, suggest_ms FROM trial_queue WHERE id = ? AND lease_token = ? AND status = 'leased'`)
          .get(lease.queueId, lease.token) as { id: number; acquisition: number | null; suggest_ms: number | null } | undefined;
        if (!row) return false;
        const next = this.db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM trials WHERE run_id = ?').get(lease.runId) as { n: number };
        this.insertTrial(lease.runId, recordOf(lease, m, feasible, next.n, row), lease.queueId, agent.boardId);
        this.db.prepare(`UPDATE trial_queue SET status = 'done' WHERE id = ?`).run(lease.queueId);
        return true;
      })
      .immediate();
  }

  async fleetTrials(runId: string, fromIndex = 0): Promise<FleetTrialRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM trials WHERE run_id = ? AND idx >= ? AND queue_id IS NOT NULL ORDER BY idx')
      .all(runId, fromIndex) as TrialRow[];
    return rows.map(fleetTrialOf);
  }

  async queueState(runId: string, now = Date.now()): Promise<QueueState> {
    const r = this.db.prepare(QUEUE_STATE_SQL.replaceAll('$2', '?').replaceAll('$1', '?')).get(now, now, runId) as Record<keyof QueueState, number | null>;
    return { queued: r.queued ?? 0, leased: r.leased ?? 0, expired: r.expired ?? 0, done: r.done ?? 0 };
  }

  async cancelQueued(runId: string): Promise<number> {
    return this.db.prepare(`UPDATE trial_queue SET status = 'cancelled' WHERE run_id = ? AND status IN ('queued', 'leased')`).run(runId).changes;
  }

  async pushProfile(p: Omit<RegistryProfile, 'version' | 'pushedAt'>): Promise<number> {
    return this.db
      .transaction((): number => {
        const prev = this.db.prepare('SELECT version FROM registry_profiles WHERE key = ?').get(p.key) as { version: number } | undefined;
        const version = (prev?.version ?? 0) + 1;
        this.db
          .prepare(
            `INSERT OR REPLACE INTO registry_profiles (${REGISTRY_COLUMNS}) VALUES (${REGISTRY_COLUMNS.split(',')
              .map(() => '?')
              .join(', ')})`,
          )
          .run(...registryValues(p, version));
        return version;
      })
      .immediate();
  }

  async pullProfile(key: string): Promise<RegistryProfile | null> {
    const row = this.db.prepare('SELECT * FROM registry_profiles WHERE key = ?').get(key) as RegistryRow | undefined;
    return row ? registryProfileOf(row) : null;
  }

  async listRegistry(): Promise<RegistrySummary[]> {
    const rows = this.db
      .prepare(`SELECT ${REGISTRY_SUMMARY_COLUMNS} FROM registry_profiles ORDER BY board_type, model, slo_ms, pushed_at DESC`)
      .all() as RegistryRow[];
    return rows.map(registrySummaryOf);
  }
}

/** ORDER BY term putting a board's reference trial first (its turn has come) or last. */
export function referenceOrder(fleet: NonNullable<NewRun['fleet']>, boardTrials: number): string {
  return boardTrials >= (fleet.referenceAfter ?? 0) ? '(board_id IS NULL) ASC' : '(board_id IS NULL) DESC';
}

/** The board type a device id names: `sim:orin-agx` → `orin-agx`, `jetson:agx-orin-64gb` → `agx-orin-64gb`. */
export function boardTypeOfDeviceId(deviceId: string): string {
  return deviceId.includes(':') ? deviceId.slice(deviceId.indexOf(':') + 1) : deviceId;
}

export function checkResumable(row: RunRow, settingsKey: string, runId: string | undefined): void {
  if (runId && row.settings_key !== settingsKey)
    throw new PolyThrottleError('BAD_INPUT', `run ${row.id} was started with different settings; resume it with the same options`, {
      hint: `its settings: ${row.settings_key}`,
    });
  if (row.status === 'done') throw new PolyThrottleError('BAD_INPUT', `run ${row.id} already finished; nothing to resume`);
}

export function uniqueRun(rows: readonly { run_json: string; id: string }[], idOrPrefix: string): TuningRun | null {
  const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
  if (unique.length === 0) return null;
  if (unique.length > 1) throw new PolyThrottleError('BAD_INPUT', `"${idOrPrefix}" matches ${unique.length} runs`, { hint: 'give more characters of the id' });
  return JSON.parse(unique[0]!.run_json) as TuningRun;
}

/** The trial record a completed lease becomes. */
export function recordOf(
  lease: Lease,
  m: TrialMeasurement,
  feasible: boolean,
  index: number,
  q: { readonly acquisition: number | null; readonly suggest_ms: number | null },
): TrialRecord {
  return {
    index,
    source: lease.source,
    config: lease.task.config,
    measurement: m,
    feasible,
    ...(q.acquisition === null ? {} : { acquisition: q.acquisition }),
    ...(q.suggest_ms === null ? {} : { suggestMs: q.suggest_ms }),
  };
}

/** $1 = now (twice), $2 = run id. */
export const QUEUE_STATE_SQL = `SELECT
  SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued,
  SUM(CASE WHEN status = 'leased' AND lease_expires_ms >= $1 THEN 1 ELSE 0 END) AS leased,
  SUM(CASE WHEN status = 'leased' AND lease_expires_ms < $1 THEN 1 ELSE 0 END) AS expired,
  SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done
  FROM trial_queue WHERE run_id = $2`;

export const REGISTRY_COLUMNS =
  'key, board_type, l4t, model_hash, precision, runtime, slo_ms, quantile, model, run_id, boards_json, run_json, pushed_at, version';
export const REGISTRY_SUMMARY_COLUMNS = REGISTRY_COLUMNS.replace(', run_json', '');

export function registryValues(p: Omit<RegistryProfile, 'version' | 'pushedAt'>, version: number): unknown[] {
  return [
    p.key,
    p.boardType,
    p.l4t,
    p.modelHash,
    p.precision,
    p.runtime,
    p.sloMs,
    p.quantile,
    p.model,
    p.runId,
    JSON.stringify(p.boards),
    JSON.stringify(p.run),
    new Date().toISOString(),
    version,
  ];
}

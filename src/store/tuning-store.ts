/**
 * The tuning store: devices, models, runs, trials (written as they are measured, so an interrupted
 * run can resume) and profiles (recommendation, measured Pareto set and fitted surrogates).
 * better-sqlite3 in WAL mode.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DeviceDescription } from '../core/device.ts';
import { PolyThrottleError } from '../core/errors.ts';
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';

export interface NewRun {
  readonly id: string;
  readonly device: DeviceDescription;
  readonly model: string;
  readonly sloMs: number;
  readonly quantile: number;
  readonly rateRps?: number;
  readonly optimizer: string;
  readonly seed: number;
  readonly budget: number;
  /** Everything that must match for a resume (JSON of the run's settings). */
  readonly settingsKey: string;
  readonly createdAt: string;
}

export interface StoredRunInfo {
  readonly id: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly createdAt: string;
  readonly model: string;
  readonly deviceId: string;
  readonly trials: number;
}

export interface ProfileSummary {
  readonly id: string;
  readonly runId: string;
  readonly deviceId: string;
  readonly model: string;
  readonly sloMs: number;
  readonly quantile: number;
  readonly createdAt: string;
}

export class TuningStore {
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
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new PolyThrottleError('UNSUPPORTED', `the tuning store ${path} has schema ${version}, newer than this version understands (${SCHEMA_VERSION})`);
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  close(): void {
    this.db.close();
  }

  /** Register a run (and its device and model) as running. */
  createRun(r: NewRun): void {
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
          `INSERT INTO runs (id, device_id, model, slo_ms, quantile, rate_rps, optimizer, seed, budget, settings_key, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
        )
        .run(r.id, r.device.id, r.model, r.sloMs, r.quantile, r.rateRps ?? null, r.optimizer, r.seed, r.budget, r.settingsKey, r.createdAt);
    })();
  }

  /** The most recent unfinished run with these settings, or a given run id (unfinished). */
  findResumable(settingsKey: string, runId?: string): StoredRunInfo | null {
    const row = (
      runId
        ? this.db.prepare(`SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 1`).get(runId, `${runId}%`)
        : this.db.prepare(`SELECT * FROM runs WHERE settings_key = ? AND status != 'done' ORDER BY created_at DESC LIMIT 1`).get(settingsKey)
    ) as RunRow | undefined;
    if (!row) return null;
    if (runId && row.settings_key !== settingsKey)
      throw new PolyThrottleError('BAD_INPUT', `run ${row.id} was started with different settings; resume it with the same options`, {
        hint: `its settings: ${row.settings_key}`,
      });
    if (row.status === 'done') throw new PolyThrottleError('BAD_INPUT', `run ${row.id} already finished; nothing to resume`);
    return this.info(row);
  }

  private info(row: RunRow): StoredRunInfo {
    const n = this.db.prepare('SELECT COUNT(*) AS n FROM trials WHERE run_id = ?').get(row.id) as { n: number };
    return { id: row.id, status: row.status, createdAt: row.created_at, model: row.model, deviceId: row.device_id, trials: n.n };
  }

  /** Mark a run as running again (resume). */
  reopenRun(id: string): void {
    this.db.prepare(`UPDATE runs SET status = 'running' WHERE id = ?`).run(id);
  }

  saveTrial(runId: string, t: TrialRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO trials (run_id, idx, source, config_json, measurement_json, feasible, energy_per_query_j, latency_tail_ms, acquisition, suggest_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        runId,
        t.index,
        t.source,
        JSON.stringify(t.config),
        JSON.stringify(t.measurement),
        t.feasible ? 1 : 0,
        t.measurement.valid ? t.measurement.energyPerQueryJ : null,
        t.measurement.valid ? t.measurement.latencyTailMs : null,
        t.acquisition ?? null,
        t.suggestMs ?? null,
      );
  }

  loadTrials(runId: string): TrialRecord[] {
    const rows = this.db.prepare('SELECT * FROM trials WHERE run_id = ? ORDER BY idx').all(runId) as TrialRow[];
    return rows.map((r) => ({
      index: r.idx,
      source: r.source as TrialRecord['source'],
      config: JSON.parse(r.config_json),
      measurement: JSON.parse(r.measurement_json),
      feasible: r.feasible === 1,
      ...(r.acquisition === null ? {} : { acquisition: r.acquisition }),
      ...(r.suggest_ms === null ? {} : { suggestMs: r.suggest_ms }),
    }));
  }

  markFailed(runId: string): void {
    this.db.prepare(`UPDATE runs SET status = 'failed' WHERE id = ? AND status = 'running'`).run(runId);
  }

  /** Store the finished run and its profile; returns the profile id. */
  finishRun(run: TuningRun): string {
    const profileId = run.profileId ?? randomUUID();
    const full: TuningRun = { ...run, profileId };
    this.db.transaction(() => {
      // trials as finally numbered (a resumed run may have renumbered them)
      this.db.prepare('DELETE FROM trials WHERE run_id = ?').run(run.id);
      for (const t of run.trials) this.saveTrial(run.id, t);
      this.db
        .prepare(`UPDATE runs SET status = 'done', finished_at = ?, run_json = ? WHERE id = ?`)
        .run(new Date().toISOString(), JSON.stringify(full), run.id);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO profiles (id, run_id, device_id, model, slo_ms, quantile, created_at, recommendation_json, pareto_json, surrogates_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          profileId,
          run.id,
          run.device.id,
          run.model,
          run.slo.latencyMs,
          run.slo.quantile,
          new Date().toISOString(),
          run.recommendation ? JSON.stringify(run.recommendation) : null,
          JSON.stringify(run.pareto ?? []),
          run.surrogates ? JSON.stringify(run.surrogates) : null,
        );
    })();
    return profileId;
  }

  /** A finished run by profile id, run id, or a unique prefix of either. */
  getRun(idOrPrefix: string): TuningRun | null {
    const rows = this.db
      .prepare(
        `SELECT r.run_json AS run_json, r.id AS id FROM runs r LEFT JOIN profiles p ON p.run_id = r.id
         WHERE r.status = 'done' AND (r.id = ? OR p.id = ? OR r.id LIKE ? OR p.id LIKE ?)`,
      )
      .all(idOrPrefix, idOrPrefix, `${idOrPrefix}%`, `${idOrPrefix}%`) as { run_json: string; id: string }[];
    const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
    if (unique.length === 0) return null;
    if (unique.length > 1)
      throw new PolyThrottleError('BAD_INPUT', `"${idOrPrefix}" matches ${unique.length} runs`, { hint: 'give more characters of the id' });
    return JSON.parse(unique[0]!.run_json) as TuningRun;
  }

  listProfiles(): ProfileSummary[] {
    const rows = this.db.prepare('SELECT * FROM profiles ORDER BY created_at DESC').all() as ProfileRow[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      deviceId: r.device_id,
      model: r.model,
      sloMs: r.slo_ms,
      quantile: r.quantile,
      createdAt: r.created_at,
    }));
  }
}

interface RunRow {
  id: string;
  device_id: string;
  model: string;
  settings_key: string;
  status: 'running' | 'done' | 'failed';
  created_at: string;
}
interface TrialRow {
  idx: number;
  source: string;
  config_json: string;
  measurement_json: string;
  feasible: number;
  acquisition: number | null;
  suggest_ms: number | null;
}
interface ProfileRow {
  id: string;
  run_id: string;
  device_id: string;
  model: string;
  slo_ms: number;
  quantile: number;
  created_at: string;
}

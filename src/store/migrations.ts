/**
 * The store's schema as numbered migrations, one SQL text per backend for each. A store records the
 * version it is at (SQLite: `PRAGMA user_version`; PostgreSQL: the `schema_migrations` table) and
 * applies the missing ones in order when it is opened; a store newer than this version is refused.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
  readonly postgres: string;
}

const V1_SQLITE = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  description_json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY,
  first_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices(id),
  model TEXT NOT NULL REFERENCES models(name),
  slo_ms REAL NOT NULL,
  quantile REAL NOT NULL,
  rate_rps REAL,
  optimizer TEXT NOT NULL,
  seed INTEGER NOT NULL,
  budget INTEGER NOT NULL,
  settings_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  created_at TEXT NOT NULL,
  finished_at TEXT,
  run_json TEXT
);
CREATE INDEX IF NOT EXISTS runs_settings ON runs(settings_key, status, created_at);
CREATE TABLE IF NOT EXISTS trials (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  source TEXT NOT NULL,
  config_json TEXT NOT NULL,
  measurement_json TEXT NOT NULL,
  feasible INTEGER NOT NULL,
  energy_per_query_j REAL,
  latency_tail_ms REAL,
  acquisition REAL,
  suggest_ms REAL,
  PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS profiles (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  device_id TEXT NOT NULL,
  model TEXT NOT NULL,
  slo_ms REAL NOT NULL,
  quantile REAL NOT NULL,
  created_at TEXT NOT NULL,
  recommendation_json TEXT,
  pareto_json TEXT NOT NULL,
  surrogates_json TEXT
);
`;

/** PostgreSQL has no REAL-as-double affinity: every float is double precision. */
const V1_POSTGRES = V1_SQLITE.replaceAll(' REAL', ' DOUBLE PRECISION');

/** Fleet runs: the lease queue, trials tied to the queue entry and board that measured them, the registry. */
const V2 = (serial: string, float: string) => `
ALTER TABLE runs ADD COLUMN fleet_json TEXT;
ALTER TABLE runs ADD COLUMN fleet_board_type TEXT;
CREATE TABLE trial_queue (
  id ${serial},
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  task_json TEXT NOT NULL,
  board_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'done', 'cancelled')),
  lease_token TEXT,
  lease_agent TEXT,
  lease_board TEXT,
  lease_expires_ms ${float},
  attempts INTEGER NOT NULL DEFAULT 0,
  posted_ms ${float} NOT NULL,
  acquisition ${float},
  suggest_ms ${float}
);
CREATE INDEX trial_queue_open ON trial_queue(run_id, id) WHERE status IN ('queued', 'leased');
CREATE UNIQUE INDEX trial_queue_board_reference ON trial_queue(run_id, board_id) WHERE board_id IS NOT NULL;
ALTER TABLE trials ADD COLUMN queue_id INTEGER;
ALTER TABLE trials ADD COLUMN board_id TEXT;
CREATE UNIQUE INDEX trials_queue_id ON trials(queue_id);
CREATE INDEX trials_board ON trials(run_id, board_id);
CREATE TABLE registry_profiles (
  key TEXT PRIMARY KEY,
  board_type TEXT NOT NULL,
  l4t TEXT NOT NULL,
  model_hash TEXT NOT NULL,
  precision TEXT NOT NULL,
  runtime TEXT NOT NULL,
  slo_ms ${float} NOT NULL,
  quantile ${float} NOT NULL,
  model TEXT NOT NULL,
  run_id TEXT NOT NULL,
  boards_json TEXT NOT NULL,
  run_json TEXT NOT NULL,
  pushed_at TEXT NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX registry_profiles_board ON registry_profiles(board_type, model_hash);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'devices, models, runs, trials, profiles', sqlite: V1_SQLITE, postgres: V1_POSTGRES },
  {
    version: 2,
    description: 'fleet runs: trial queue with leases, trials per board, profile registry',
    sqlite: V2('INTEGER PRIMARY KEY AUTOINCREMENT', 'REAL'),
    postgres: V2('SERIAL PRIMARY KEY', 'DOUBLE PRECISION'),
  },
];

/** The version this code writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The migrations a store at `version` still needs, in order. */
export function pendingMigrations(version: number): readonly Migration[] {
  return MIGRATIONS.filter((m) => m.version > version);
}

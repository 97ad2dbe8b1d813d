/** SQLite schema of the tuning store (version 1). */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
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

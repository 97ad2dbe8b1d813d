/** Where tuning results live: the store (SQLite or PostgreSQL: runs, trials, profiles, the fleet's queue and registry) and tuning-run files. */
export { readJsonFile } from './json-file.ts';
export { parseTuningRun, readTuningRunFile } from './tuning-run-file.ts';
export { readRegistryRun, readRunSource, readStoredRun } from './run-source.ts';
export { formatProfileKey, isProfileKey, parseProfileKey } from './profile-key.ts';
export { defaultDbPath, userDataDir } from './paths.ts';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
export { openStore } from './open-store.ts';
export { isPostgresUrl, PostgresStore, redactUrl } from './postgres-store.ts';
export type * from './store.ts';
export { boardTypeOfDeviceId, TuningStore } from './tuning-store.ts';

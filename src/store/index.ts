/** Where tuning results live: the SQLite store (devices, models, runs, trials, profiles) and tuning-run files. */
export { readJsonFile } from './json-file.ts';
export { parseTuningRun, readTuningRunFile } from './tuning-run-file.ts';
export { readRunSource, readStoredRun } from './run-source.ts';
export { defaultDbPath, userDataDir } from './paths.ts';
export { type NewRun, type ProfileSummary, type StoredRunInfo, TuningStore } from './tuning-store.ts';

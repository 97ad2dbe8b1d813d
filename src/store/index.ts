/** SQLite store of devices, models, tuning runs, trials and tuned profiles. */
export { defaultDbPath, userDataDir } from './paths.ts';
export { type NewRun, type ProfileSummary, type StoredRunInfo, TuningStore } from './tuning-store.ts';

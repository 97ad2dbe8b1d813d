/** Any landscape as a device: `landscape:<grid.csv>` replays a landscape CSV with seeded noise. */
export { type ReplayLandscape, type ReplayRow, parseReplayLandscape, readLandscapeCsv, replayConfig } from './read-landscape.ts';
export { createLandscapeTrialRunner, type LandscapeTrialRunner, type LandscapeTrialRunnerOptions } from './replay-runner.ts';

/** Fleets: agents that lease trials on many boards of one type, the parallel tuning driver, per-board offsets, the profile registry. */
export * from './agent.ts';
export * from './board-offsets.ts';
export * from './fleet-run.ts';
export * from './parallel-tuner.ts';
export * from './sim-board.ts';
export * from './profile-registry.ts';

/** The optimiser: GP surrogates, constrained acquisition, discrete search spaces and baselines. */
export * from './acquisition.ts';
export * from './baselines.ts';
export * from './constrained-bo.ts';
export * from './design.ts';
export * from './gp.ts';
export * from './gp-state.ts';
export * from './optimize-acquisition.ts';
export * from './optimizer.ts';
export * from './prior.ts';
export * from './search-space.ts';

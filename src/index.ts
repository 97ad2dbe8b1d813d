/** PolyThrottle as a library: every CLI capability is a function here first. */
export * from './core/index.ts';
export * from './model/index.ts';

export * from './config.ts';
export * from './device.ts';
export * from './errors.ts';
export * from './measurement.ts';
export * from './workload-profile.ts';
export * from './slo.ts';
export * from './tuning-run.ts';
export * from './inference.ts';

/**
 * The device twin as the tuner's prior: its prediction of tail latency and energy per query at a
 * configuration, which the surrogate corrects from the measurements as they arrive (a GP of the
 * residual, used while the data favour it; see optimize/constrained-bo.ts).
 *
 * The prior is a plain function of the configuration, so any source can stand in: `twinPrior`
 * builds one from a board spec and a workload profile, whether the spec is the nominal board of
 * data/boards or a calibrated twin of the board actually measured.
 */
import { type Config, configKey } from '../core/config.ts';
import type { WorkloadProfile } from '../core/workload-profile.ts';
import { type BoardSpec, evaluateConfig } from '../device/sim/index.ts';

/** A predicted measurement; undefined where the predictor cannot place the configuration. */
export interface PriorPrediction {
  readonly latencyTailMs: number;
  readonly energyPerQueryJ: number;
}

export type PriorPredictor = (config: Config) => PriorPrediction | undefined;

export interface TwinPriorOptions {
  /** Arrival rate, requests/s (load-aware); absent = saturated. */
  readonly rateRps?: number;
  /** Tail quantile the SLO applies to (default 0.99). */
  readonly quantile?: number;
}

/**
 * The twin's noise-free prediction for this board and model, memoised per configuration (a run
 * asks for the same configurations many times). Configurations off the board's tables give
 * undefined.
 */
export function twinPrior(board: BoardSpec, profile: WorkloadProfile, opts: TwinPriorOptions = {}): PriorPredictor {
  const memo = new Map<string, PriorPrediction | undefined>();
  const tables = { cpu: new Set(board.cpu.freqsHz), gpu: new Set(board.gpu.freqsHz), emc: new Set(board.emc.freqsHz) };
  const onBoard = (c: Config) =>
    (c.cpuHz === undefined || tables.cpu.has(c.cpuHz)) &&
    (c.gpuMinHz === undefined || tables.gpu.has(c.gpuMinHz)) &&
    (c.gpuMaxHz === undefined || tables.gpu.has(c.gpuMaxHz)) &&
    (c.emcHz === undefined || tables.emc.has(c.emcHz));
  return (config) => {
    const k = configKey(config);
    if (memo.has(k)) return memo.get(k);
    let v: PriorPrediction | undefined;
    if (onBoard(config)) {
      const e = evaluateConfig(board, profile, config, {
        ...(opts.rateRps === undefined ? {} : { rateRps: opts.rateRps }),
        quantile: opts.quantile ?? 0.99,
      });
      v = e.energyPerQueryJ > 0 && e.latencyTailMs > 0 ? { latencyTailMs: e.latencyTailMs, energyPerQueryJ: e.energyPerQueryJ } : undefined;
    }
    memo.set(k, v);
    return v;
  };
}

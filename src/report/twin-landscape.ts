import { DEFAULT_BATCH_SIZES } from '../core/config.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readDeviceSpec } from '../device/device-spec.ts';
import { applyTwinCoefficients, recordedCoefficients } from '../device/sim/calibrate/index.ts';
import { applyRuntime, type BoardSpec, computeLandscape, DEFAULT_RUNTIME, isRuntimeName, type Landscape, loadBoard } from '../device/sim/index.ts';
import { isZooModel } from '../model/index.ts';
import { profileForSpec, runModelSpec } from '../model/model-spec.ts';
import type { LandscapeRow } from './landscape.ts';

export type TwinLandscape =
  | {
      readonly rows: LandscapeRow[];
      readonly note: string;
      /** The CPU clock a one-clock landscape holds (the recommendation's, else the default power mode's); with `cpu: 'all'`, the one the charts hold. */
      readonly cpuHz: number;
      /** Whether the rows sweep every CPU clock. */
      readonly allCpu: boolean;
    }
  | { readonly rows: null; readonly why: string };

export interface TwinLandscapeOptions {
  /** Sweep every CPU table clock instead of holding one (the space the run's CPU phase and search covered together). */
  readonly cpu?: 'all';
}

/**
 * The exact (noise-free) landscape of a run made on the device twin, computed now: the run's board and
 * zoo model at the precision and sequence length it recorded (`runModelSpec`), its SLO quantile and
 * arrival rate, the CPU clock it recommends (else the board's top), and the default batch sizes plus
 * any the run tried. With `cpu: 'all'`, every CPU clock of the board's table instead of one. Null with
 * the reason when the run was not on the twin or its model is not in the zoo.
 */
export function twinLandscape(run: TuningRun, onProgress?: (done: number, total: number) => void, options: TwinLandscapeOptions = {}): TwinLandscape {
  const twin = run.device.kind === 'sim' ? readDeviceSpec(run.device.id) : undefined;
  if (twin?.kind !== 'sim')
    return { rows: null, why: `the run was made on ${run.device.id}, not the device twin${run.device.kind === 'sim' ? ' (the twin has no such board)' : ''}` };
  const board = twin.board;
  const model = runModelSpec(run);
  if (!isZooModel(model.name)) return { rows: null, why: `"${model.name}" is not a zoo model the twin can compute` };
  const spec = runTwin(run, board);
  if (typeof spec === 'string') return { rows: null, why: spec };
  const batches = [...new Set([...DEFAULT_BATCH_SIZES, ...run.trials.map((t) => t.config.batch)])].sort((a, b) => a - b);
  const cpuHz = chartCpuHz(run, spec);
  const allCpu = options.cpu === 'all';
  const landscape = computeLandscape({
    board: spec,
    profile: profileForSpec(model),
    batchSizes: batches,
    ...(allCpu ? { cpu: 'all' as const } : { cpuHz }),
    ...(run.rateRps !== undefined ? { rateRps: run.rateRps } : {}),
    quantile: run.slo.quantile,
    ...(onProgress ? { onProgress } : {}),
  });
  const rows = reportRows(landscape);

  return {
    rows,
    note: noteFor(rows.length, allCpu, run),
    cpuHz,
    allCpu,
  };
}

/**
 * The twin a run was made on: the board as loaded, with the runtime it modelled (`tune --runtime`)
 * and the calibration it recorded (`tune --twin-profile`) applied; a string says why it cannot be.
 */
export function runTwin(run: TuningRun, board: string): BoardSpec | string {
  const runtime = run.runtime !== undefined && isRuntimeName(run.runtime) ? run.runtime : DEFAULT_RUNTIME;
  if (run.twinProfile === undefined) return runtime === DEFAULT_RUNTIME ? loadBoard(board) : applyRuntime(loadBoard(board), runtime);
  try {
    return applyTwinCoefficients(
      loadBoard(board),
      runtime,
      recordedCoefficients(run.twinProfile.coefficients ?? {}, "the run's twin profile"),
      run.twinProfile.model,
    );
  } catch (e) {
    return (e as Error).message;
  }
}

/** The twin's landscape rows as the report reads them (its CSV columns as camel-cased fields). */
export function reportRows(landscape: Landscape): LandscapeRow[] {
  return landscape.rows.map((r) => ({
    device: r.device,
    model: r.model,
    cpuHz: r.cpu_hz,
    gpuMinHz: r.gpu_min_hz,
    gpuMaxHz: r.gpu_max_hz,
    emcHz: r.emc_hz,
    batch: r.batch,
    latencyP50Ms: r.latency_p50_ms,
    latencyTailMs: r.latency_p99_ms,
    tailQuantile: landscape.quantile,
    energyPerQueryJ: r.energy_per_query_j,
    powerW: r.power_w,
    throughputQps: r.throughput_qps,
  }));
}

function noteFor(n: number, allCpu: boolean, run: TuningRun): string {
  const model = runModelSpec(run);
  const twin =
    run.twinProfile !== undefined
      ? `, the twin calibrated by ${run.twinProfile.path} (sha256 ${run.twinProfile.sha256.slice(0, 12)})`
      : run.runtime !== undefined
        ? `, the ${run.runtime} twin`
        : '';
  return `computed for this report (${n} configurations${allCpu ? ', every CPU clock' : ''}, ${model.dtype}${model.seq === undefined ? '' : `, ${model.seq} tokens`}${twin}, noise-free)`;
}

/** The CPU clock the charts hold: the recommendation's when it is in the board's table, else the default power mode's. */
function chartCpuHz(run: TuningRun, spec: BoardSpec): number {
  const cpu = run.recommendation?.config.cpuHz;
  if (cpu !== undefined && spec.cpu.freqsHz.includes(cpu)) return cpu;
  return spec.modes.find((m) => m.name === spec.defaultMode)!.cpuHz;
}

export type TwinInputs =
  | {
      /** The rows at the charts' CPU clock (the heatmaps, the Pareto chart's background, exact random search). */
      readonly landscape: LandscapeRow[];
      readonly landscapeSource: string;
      /** Every configuration over every CPU clock: the reference optimum and the knobs' effects. */
      readonly grid: LandscapeRow[];
      readonly gridSource: string;
    }
  | { readonly landscape: null; readonly why: string };

/**
 * The twin's grid over every CPU clock for a run made on the twin, computed once, and its slice at
 * the recommendation's CPU clock for the charts (the same rows `twinLandscape` gives).
 */
export function twinInputs(run: TuningRun, onProgress?: (done: number, total: number) => void): TwinInputs {
  const all = twinLandscape(run, onProgress, { cpu: 'all' });
  if (!all.rows) return { landscape: null, why: all.why };
  const landscape = all.rows.filter((r) => r.cpuHz === all.cpuHz);
  return { landscape, landscapeSource: noteFor(landscape.length, false, run), grid: all.rows, gridSource: all.note };
}

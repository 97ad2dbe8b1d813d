import { DEFAULT_BATCH_SIZES } from '../core/config.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readDeviceSpec } from '../device/device-spec.ts';
import { computeLandscape, loadBoard } from '../device/sim/index.ts';
import { isZooModel } from '../model/index.ts';
import { profileForSpec, runModelSpec } from '../model/model-spec.ts';
import type { LandscapeRow } from './landscape.ts';

export type TwinLandscape = { readonly rows: LandscapeRow[]; readonly note: string } | { readonly rows: null; readonly why: string };

/**
 * The exact (noise-free) landscape of a run made on the device twin, computed now: the run's board and
 * zoo model at the precision and sequence length it recorded (`runModelSpec`), its SLO quantile and
 * arrival rate, the CPU clock it recommends (else the board's top), and the default batch sizes plus
 * any the run tried. Null with the reason when the run was not on the twin or its model is not in
 * the zoo.
 */
export function twinLandscape(run: TuningRun, onProgress?: (done: number, total: number) => void): TwinLandscape {
  const twin = run.device.kind === 'sim' ? readDeviceSpec(run.device.id) : undefined;
  if (twin?.kind !== 'sim')
    return { rows: null, why: `the run was made on ${run.device.id}, not the device twin${run.device.kind === 'sim' ? ' (the twin has no such board)' : ''}` };
  const board = twin.board;
  const model = runModelSpec(run);
  if (!isZooModel(model.name)) return { rows: null, why: `"${model.name}" is not a zoo model the twin can compute` };
  const spec = loadBoard(board);
  const batches = [...new Set([...DEFAULT_BATCH_SIZES, ...run.trials.map((t) => t.config.batch)])].sort((a, b) => a - b);
  const cpu = run.recommendation?.config.cpuHz;
  const landscape = computeLandscape({
    board: spec,
    profile: profileForSpec(model),
    batchSizes: batches,
    ...(cpu !== undefined && spec.cpu.freqsHz.includes(cpu) ? { cpuHz: cpu } : {}),
    ...(run.rateRps !== undefined ? { rateRps: run.rateRps } : {}),
    quantile: run.slo.quantile,
    ...(onProgress ? { onProgress } : {}),
  });
  const rows: LandscapeRow[] = landscape.rows.map((r) => ({
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
  return {
    rows,
    note: `computed for this report (${rows.length} configurations, ${model.dtype}${model.seq === undefined ? '' : `, ${model.seq} tokens`}, noise-free)`,
  };
}

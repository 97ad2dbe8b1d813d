/**
 * First phase of the two-phase search (the paper's): the CPU clock mostly drives pre-processing,
 * a pipelined stage, so it is chosen on its own before the GPU/EMC/batch search. With GPU and EMC
 * pinned at their maximum and the largest batch (where the GPU is fastest per sample, so a slow CPU
 * shows first), the pipeline is measured at each CPU clock (at most `maxLevels`, evenly spread
 * over the table). Among the clocks whose throughput and tail latency stay within `tolerance` of those
 * at the top CPU clock (pre-processing off the critical path), the chosen one is the lowest-energy
 * one; where the SLO binds (the top clock misses it at this batch), the fastest whose energy is
 * within the measured energy noise of the lowest.
 */
import type { Config } from '../core/config.ts';
import type { TrialMeasurement } from '../core/measurement.ts';
import { levels } from '../optimize/baselines.ts';

export interface CpuPhaseOptions {
  readonly cpuHz: readonly number[];
  readonly gpuHz?: readonly number[];
  readonly emcHz?: readonly number[];
  readonly batch: number;
  /** Relative slack on throughput and tail latency against the top CPU clock (default 0.02). */
  readonly tolerance?: number;
  /** Tail latency the recommendation must keep (SLO less margin); where the top clock misses it at this batch, latency is not traded for an energy saving within the noise. */
  readonly latencyLimitMs?: number;
  /** Most CPU clocks measured (default 10). */
  readonly maxLevels?: number;
  readonly measure: (c: Config) => Promise<TrialMeasurement>;
}

export interface CpuPhaseResult {
  readonly cpuHz: number;
  readonly measured: readonly TrialMeasurement[];
  /** Why this clock, for the run's log. */
  readonly reason: string;
}

export async function chooseCpuClock(o: CpuPhaseOptions): Promise<CpuPhaseResult> {
  const table = [...o.cpuHz].sort((a, b) => a - b);
  const top = table[table.length - 1]!;
  const tol = o.tolerance ?? 0.02;
  const g = o.gpuHz?.[o.gpuHz.length - 1];
  const emc = o.emcHz?.[o.emcHz.length - 1];
  const picks = levels(table.length, o.maxLevels ?? 10)
    .map((i) => table[i]!)
    .sort((a, b) => b - a); // top clock first: the reference
  const measured: TrialMeasurement[] = [];
  for (const cpuHz of picks) measured.push(await o.measure({ cpuHz, gpuMinHz: g, gpuMaxHz: g, emcHz: emc, batch: o.batch }));
  const ref = measured[0]!;
  if (!ref.valid) return { cpuHz: top, measured, reason: 'the top CPU clock gave no valid window; keeping it' };
  // the measurement's own noise widens the tolerance
  const slack = tol + 2 * Math.max(ref.noise.latencyTailCv, ref.noise.energyCv);
  const offPath = measured.filter(
    (m, i) => i === 0 || (m.valid && m.throughputQps >= ref.throughputQps * (1 - slack) && m.latencyTailMs <= ref.latencyTailMs * (1 + slack)),
  );
  const lowestE = Math.min(...offPath.map((m) => m.energyPerQueryJ));
  // A lower clock costs up to `slack` of latency. Where the SLO binds (the top clock misses it at
  // this batch, so the search must shrink the batch) that latency is paid for elsewhere: take the
  // fastest clock whose energy is within the energy noise of the lowest, trading latency only for a
  // saving the measurements can tell from noise. Otherwise the lowest-energy clock.
  const energyNoise = Math.max(0, ...offPath.map((m) => m.noise.energyCv));
  const latencyBinds = o.latencyLimitMs !== undefined && ref.latencyTailMs > o.latencyLimitMs;
  const pick = latencyBinds
    ? offPath.find((m) => m.energyPerQueryJ <= lowestE * (1 + energyNoise))! // top clock first
    : offPath.find((m) => m.energyPerQueryJ === lowestE)!;
  const best = { cpuHz: pick.config.cpuHz ?? top, e: pick.energyPerQueryJ };
  const reason =
    best.cpuHz === top
      ? 'no lower CPU clock saved energy without slowing the pipeline'
      : `lowest-energy CPU clock within ${(slack * 100).toFixed(1)} % of the top clock's throughput and tail latency`;
  return { cpuHz: best.cpuHz, measured, reason };
}

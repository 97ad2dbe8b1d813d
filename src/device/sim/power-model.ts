import type { BoardSpec, PowerComponent } from './board-spec.ts';
import { voltageAt } from './board-spec.ts';
import type { ServiceTable } from './service-table.ts';

/**
 * Power per component: voltage-dependent leakage plus C·V²·f·activity switching power for GPU and
 * CPU, memory background power rising with the EMC clock plus energy per byte moved, and constant
 * SoC / CV / I/O / module parts. Rails are sums of components as each board wires them.
 */

export const COMPONENTS = ['gpu', 'cpu', 'soc', 'dram', 'cv', 'io', 'module'] as const;
export const NC = COMPONENTS.length;
const GPU = 0;
const CPU = 1;
const SOC = 2;
const DRAM = 3;
const CV = 4;
const IO = 5;
const MODULE = 6;

/** Leakage multiplier at a die temperature (doubles every `leakDoublingC`). */
export function leakFactor(board: BoardSpec, tempC: number): number {
  const t = board.thermal;
  return 2 ** ((tempC - t.leakRefC) / t.leakDoublingC);
}

function vmax(vf: readonly (readonly [number, number])[]): number {
  return vf[vf.length - 1]![1];
}

/** Power of every component while nothing runs, at these clocks (GPU clocked but idle), watts. */
export function basePowerW(
  board: BoardSpec,
  gpuHz: number,
  emcHz: number,
  cpuHz: number,
  onlineCpus: number,
  leak: number,
  out: Float64Array = new Float64Array(NC),
): Float64Array {
  const pw = board.power;
  const vg = voltageAt(pw.gpu.vf, gpuHz);
  const vc = voltageAt(pw.cpu.vf, cpuHz);
  const emcGHz = emcHz / 1e9;
  out[GPU] = pw.gpu.leakW * (vg / vmax(pw.gpu.vf)) ** 3 * leak + pw.gpu.cdynF * vg * vg * gpuHz * pw.gpu.idleActivity;
  out[CPU] = onlineCpus * (pw.cpu.leakPerCoreW * (vc / vmax(pw.cpu.vf)) ** 3 * leak + pw.cpu.cdynPerCoreF * vc * vc * cpuHz * pw.cpu.idleActivity);
  out[SOC] = pw.soc.baseW + pw.soc.emcWPerGHz * emcGHz;
  out[DRAM] = pw.dram.backgroundW + pw.dram.backgroundWPerGHz * emcGHz;
  out[CV] = pw.cvW;
  out[IO] = pw.ioW;
  out[MODULE] = pw.moduleW;
  return out;
}

/** Energy one batch adds above the idle baseline when it runs at GPU table index i, joules. */
export function batchExtraJ(board: BoardSpec, t: ServiceTable, i: number, out: Float64Array = new Float64Array(NC)): Float64Array {
  const pw = board.power;
  const f = board.gpu.freqsHz[i]!;
  const vg = voltageAt(pw.gpu.vf, f);
  const vc = voltageAt(pw.cpu.vf, t.cpuHz);
  const gpuBusyS = t.inferS[i]! * t.busyFrac[i]!;
  out.fill(0);
  out[GPU] = pw.gpu.cdynF * vg * vg * f * Math.max(0, t.activity[i]! - pw.gpu.idleActivity) * gpuBusyS;
  const cpuBusyS = t.launchS + t.hostS + t.preprocessCoreS;
  out[CPU] = pw.cpu.cdynPerCoreF * vc * vc * t.cpuHz * (1 - pw.cpu.idleActivity) * cpuBusyS;
  out[DRAM] = t.bytes * pw.dram.energyPerBytePJ * 1e-12;
  return out;
}

export interface RailPowers {
  /** Board input power: the total rail, or the sum of all rails where the board has none. */
  readonly totalW: number;
  readonly railsW: Record<string, number>;
}

/** Map mean component powers to the board's rails (with regulator loss on the input rail). */
export function railPowers(board: BoardSpec, componentW: Float64Array): RailPowers {
  let sum = 0;
  for (let c = 0; c < NC; c++) sum += componentW[c]!;
  const loss = sum * board.power.conversionLoss;
  const railsW: Record<string, number> = {};
  let total: number | undefined;
  let railSum = 0;
  for (const r of board.rails) {
    let w = 0;
    for (const c of r.components) w += c === 'loss' ? loss : componentW[COMPONENTS.indexOf(c as Exclude<PowerComponent, 'loss'>)]!;
    railsW[r.name] = w;
    if (r.role === 'total') total = w;
    else railSum += w;
  }
  return { totalW: total ?? railSum, railsW };
}

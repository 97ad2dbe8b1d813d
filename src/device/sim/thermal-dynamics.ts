/**
 * The board's temperature over time, for a twin that serves (not only measures trials): die
 * temperature relaxes towards ambient + Rth·P with the board's time constant τ, as a first-order
 * system integrated exactly between power changes:
 *
 *     T(t + Δt) = T_ss + (T(t) − T_ss)·e^(−Δt/τ),    T_ss = T_ambient + Rth·P
 *
 * Above the throttle point the clocks are capped: the GPU maximum (evaluate.ts steps it down one
 * table step per 2 °C over, when given the temperature) and the CPU clock, here, the same way.
 * Ambient is a parameter that can step at run time (a hotter enclosure). Time comes from a clock
 * (real or virtual) scaled by `timeScale`, so a benchmark can live through minutes of heating in
 * seconds.
 */
import type { Config } from '../../core/config.ts';
import type { BoardSpec } from './board-spec.ts';
import { basePowerW, leakFactor, NC, railPowers } from './power-model.ts';

export interface ThermalDynamicsOptions {
  /** Ambient temperature, °C (the board spec's by default). */
  readonly ambientC?: number;
  /** Temperature at the start, °C (idle steady state at the board's default clocks by default). */
  readonly initialC?: number;
  /** Thermal seconds per second of the clock (1: real time). */
  readonly timeScale?: number;
  /** The clock, ms (performance.now by default). */
  readonly now?: () => number;
}

/** Steps above the throttle point: one per 2 °C over it, as the twin's steady-state model steps the GPU. */
export function throttleSteps(board: BoardSpec, tempC: number): number {
  const over = tempC - board.thermal.throttleC;
  return over > 0 ? 1 + Math.floor(over / 2) : 0;
}

/** Board power while nothing runs, at these clocks and this die temperature, W. */
export function idlePowerW(board: BoardSpec, clocks: { gpuMinHz: number; emcHz: number; cpuHz: number }, onlineCpus: number, tempC: number): number {
  return railPowers(board, basePowerW(board, clocks.gpuMinHz, clocks.emcHz, clocks.cpuHz, onlineCpus, leakFactor(board, tempC), new Float64Array(NC))).totalW;
}

export class ThermalDynamics {
  readonly board: BoardSpec;
  readonly #scale: number;
  readonly #now: () => number;
  #ambientC: number;
  #tempC: number;
  #powerW = 0;
  #at: number;

  constructor(board: BoardSpec, opts: ThermalDynamicsOptions = {}) {
    this.board = board;
    this.#scale = opts.timeScale ?? 1;
    if (!(this.#scale > 0)) throw new Error(`timeScale must be positive, got ${opts.timeScale}`);
    this.#now = opts.now ?? (() => performance.now());
    this.#ambientC = opts.ambientC ?? board.thermal.ambientC;
    const mode = board.modes.find((m) => m.name === board.defaultMode)!;
    const idle = (t: number) => idlePowerW(board, { gpuMinHz: board.gpu.freqsHz[0]!, emcHz: mode.emcHz, cpuHz: mode.cpuHz }, mode.onlineCpus, t);
    let t = this.#ambientC;
    for (let k = 0; k < 4; k++) t = this.#ambientC + board.thermal.rthCPerW * idle(t);
    this.#tempC = opts.initialC ?? t;
    this.#powerW = (this.#tempC - this.#ambientC) / board.thermal.rthCPerW;
    this.#at = this.#now();
  }

  #advance(): void {
    const now = this.#now();
    const dtS = (Math.max(0, now - this.#at) / 1000) * this.#scale;
    this.#at = now;
    if (dtS === 0) return;
    const th = this.board.thermal;
    const steady = this.#ambientC + th.rthCPerW * this.#powerW;
    this.#tempC = steady + (this.#tempC - steady) * Math.exp(-dtS / th.tauS);
  }

  /** Die temperature now, °C. */
  get temperatureC(): number {
    this.#advance();
    return this.#tempC;
  }

  get ambientC(): number {
    return this.#ambientC;
  }

  /** Change the ambient temperature from now on (a hotter enclosure). */
  setAmbient(c: number): void {
    this.#advance();
    this.#ambientC = c;
  }

  /** The board draws `w` watts from now on (until the next call). */
  setPower(w: number): void {
    this.#advance();
    this.#powerW = Math.max(0, w);
  }

  /** The clocks the throttle leaves at the temperature now: the CPU clock stepped down above the throttle point (the GPU's cap is evaluate.ts's, from the temperature). */
  capClocks<C extends Config>(config: C): C {
    const steps = throttleSteps(this.board, this.temperatureC);
    if (steps === 0) return config;
    const t = this.board.cpu.freqsHz;
    const mode = this.board.modes.find((m) => m.name === this.board.defaultMode)!;
    const cpu = config.cpuHz ?? mode.cpuHz;
    const i = t.indexOf(cpu);
    if (i < 0) return config;
    return { ...config, cpuHz: t[Math.max(0, i - steps)]! };
  }
}

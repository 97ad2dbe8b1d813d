import type { KnobDomains } from '../../core/config.ts';
import type { Adjustment, ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource, Preset } from '../../core/device.ts';
import { PolyThrottleError, badInput } from '../../core/errors.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardMode, type BoardSpec, resolveBoard } from './board-spec.ts';
import { evaluateConfig } from './evaluate.ts';
import { hash32, mulberry32 } from '../../numerics/random.ts';
import { windowNoise } from './noise.ts';
import { NC, basePowerW, leakFactor, railPowers } from './power-model.ts';

/** What the simulated board is running now (drives its power readings). */
export interface SimLoad {
  readonly profile: WorkloadProfile;
  readonly batch: number;
  /** Arrival rate, requests/s; absent = back-to-back batches. */
  readonly rateRps?: number;
}

export interface SimDeviceOptions {
  /** Relative noise on power readings (0 by default: exact). */
  readonly noise?: number;
  readonly seed?: number;
  /** Leakage at the steady-state die temperature (and throttling) in power readings. */
  readonly thermal?: boolean;
  /** nvpmodel mode to boot in (the board's default mode otherwise). */
  readonly mode?: string;
}

export interface SimDevice extends Device {
  readonly board: BoardSpec;
  /** Set what runs on the board (null = idle); power sources report the twin's power for it. */
  setLoad(load: SimLoad | null): void;
  /** The active nvpmodel mode. */
  readonly mode: string;
}

export function presetsOf(board: BoardSpec): Preset[] {
  const gmin = board.gpu.freqsHz[0]!;
  return board.modes.map((m) => ({
    name: m.name,
    id: m.id,
    ...(m.budgetW !== undefined ? { budgetW: m.budgetW } : {}),
    clocks: { cpuHz: m.cpuHz, gpuMinHz: gmin, gpuMaxHz: m.gpuMaxHz, emcHz: m.emcHz },
    onlineCpus: m.onlineCpus,
  }));
}

export function simDomains(board: BoardSpec): Omit<KnobDomains, 'batch'> {
  return { cpuHz: board.cpu.freqsHz, gpuHz: board.gpu.freqsHz, emcHz: board.emc.freqsHz };
}

export function describeBoard(board: BoardSpec, mode: string = board.defaultMode): DeviceDescription {
  const assumed = board.modes.filter((m) => m.assumed).map((m) => m.name);
  return {
    id: `sim:${board.name}`,
    kind: 'sim',
    name: board.displayName,
    soc: board.soc,
    release: board.release,
    knobs: simDomains(board),
    presets: presetsOf(board),
    currentMode: mode,
    rails: board.rails.map((r) => ({ name: r.name, role: r.role, covers: r.covers, ...(r.shared ? { shared: true } : {}) })),
    missing: [],
    warnings: [
      'simulated board: latency and power come from the device twin, not from hardware',
      ...(board.rails.some((r) => r.role === 'total') ? [] : ['this board has no input-power rail: board power is the sum of its rails']),
      ...(assumed.length > 0 ? [`clock caps of modes ${assumed.join(', ')} are assumed, not from a retrieved source`] : []),
    ],
  };
}

/** Highest table value ≤ v (or the lowest entry). */
function floorSnap(t: readonly number[], v: number): number {
  let r = t[0]!;
  for (const x of t) if (x <= v) r = x;
  return r;
}
/** Lowest table value ≥ v (or the highest entry). */
function ceilSnap(t: readonly number[], v: number): number {
  for (const x of t) if (x >= v) return x;
  return t[t.length - 1]!;
}

type Clocks = { -readonly [K in keyof FrequencyConfig]-?: number };
const KNOBS = ['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz'] as const;

/**
 * A simulated Jetson behind the same `Device` interface as the real backends: it snaps written
 * values to its tables like the kernel (min rounds up, max rounds down, EMC rounds up), clamps to
 * the active nvpmodel mode's caps, lets max win over min, and reports every adjustment.
 */
export function createSimDevice(boardIn: string | BoardSpec, opts: SimDeviceOptions = {}): SimDevice {
  const board = resolveBoard(boardIn);
  const level = opts.noise ?? 0;
  if (!(level >= 0 && level < 1)) throw badInput(`noise must be between 0 and 1, got ${opts.noise}`);
  const modeName = opts.mode ?? board.defaultMode;
  const mode: BoardMode | undefined = board.modes.find((m) => m.name === modeName || String(m.id) === modeName);
  if (!mode) throw badInput(`sim:${board.name} has no power mode '${modeName}'`, `modes: ${board.modes.map((m) => m.name).join(', ')}`);
  const id = `sim:${board.name}`;
  const seed = opts.seed ?? 1;
  let reads = 0;
  let clocks: Clocks = { cpuHz: mode.cpuHz, gpuMinHz: board.gpu.freqsHz[0]!, gpuMaxHz: mode.gpuMaxHz, emcHz: mode.emcHz };
  let load: SimLoad | null = null;
  let closed = false;

  const live = () => {
    if (closed) throw new PolyThrottleError('HARDWARE', `${id} is closed`);
  };

  const currentRails = (): Record<string, number> => {
    if (load) {
      const e = evaluateConfig(
        board,
        load.profile,
        { ...clocks, batch: load.batch },
        {
          ...(load.rateRps !== undefined ? { rateRps: load.rateRps } : {}),
          thermal: opts.thermal === true,
          onlineCpus: mode.onlineCpus,
        },
      );
      return { ...e.railsW };
    }
    // Idle: the governor parks the GPU at its minimum; everything else at its set clock. Leakage at
    // the reference die temperature, or (thermal model) at the idle steady state.
    const th = board.thermal;
    const idleAt = (tempC: number) =>
      railPowers(board, basePowerW(board, clocks.gpuMinHz, clocks.emcHz, clocks.cpuHz, mode.onlineCpus, leakFactor(board, tempC), new Float64Array(NC)));
    if (!opts.thermal) return idleAt(th.leakRefC).railsW;
    let r = idleAt(th.ambientC);
    for (let k = 0; k < 4; k++) r = idleAt(th.ambientC + th.rthCPerW * r.totalW);
    return r.railsW;
  };

  const sample = (): Record<string, number> => {
    const rails = currentRails();
    if (level === 0) return rails;
    const n = windowNoise(level, mulberry32(hash32(seed, `read|${reads++}`)));
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(rails)) out[k] = v * n.power;
    return out;
  };

  const apply = async (req: FrequencyConfig): Promise<ApplyResult> => {
    live();
    const adjustments: Adjustment[] = [];
    const next: Clocks = { ...clocks };
    const set = (knob: (typeof KNOBS)[number], got: number, kind: Adjustment['kind'], detail: string) => {
      next[knob] = got;
      const requested = req[knob]!;
      if (got !== requested) adjustments.push({ knob, requested, got, kind, detail });
    };
    for (const knob of KNOBS) {
      const v = req[knob];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v <= 0) {
        adjustments.push({ knob, requested: v, got: clocks[knob], kind: 'refused', detail: 'EINVAL: not a positive frequency' });
      }
    }
    const ok = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && v > 0;
    const g = board.gpu.freqsHz;
    if (ok(req.cpuHz)) {
      const snapped = floorSnap(board.cpu.freqsHz, req.cpuHz);
      if (snapped > mode.cpuHz) set('cpuHz', mode.cpuHz, 'clamped', `capped at ${mode.cpuHz} Hz by nvpmodel mode ${mode.name}`);
      else
        set('cpuHz', snapped, req.cpuHz < board.cpu.freqsHz[0]! ? 'clamped' : 'snapped', 'cpufreq picks the highest table frequency at or below the request');
    }
    if (ok(req.gpuMaxHz)) {
      const snapped = floorSnap(g, req.gpuMaxHz);
      if (snapped > mode.gpuMaxHz) set('gpuMaxHz', mode.gpuMaxHz, 'clamped', `capped at ${mode.gpuMaxHz} Hz by nvpmodel mode ${mode.name}`);
      else set('gpuMaxHz', snapped, req.gpuMaxHz < g[0]! ? 'clamped' : 'snapped', 'devfreq max_freq rounds down to a table frequency');
    }
    if (ok(req.gpuMinHz)) {
      const snapped = ceilSnap(g, req.gpuMinHz);
      if (snapped > next.gpuMaxHz) set('gpuMinHz', next.gpuMaxHz, 'clamped', `above max_freq (${next.gpuMaxHz} Hz): max_freq takes precedence`);
      else set('gpuMinHz', snapped, req.gpuMinHz > g[g.length - 1]! ? 'clamped' : 'snapped', 'devfreq min_freq rounds up to a table frequency');
    } else if (next.gpuMinHz > next.gpuMaxHz) {
      next.gpuMinHz = next.gpuMaxHz;
    }
    if (ok(req.emcHz)) {
      const snapped = ceilSnap(board.emc.freqsHz, req.emcHz);
      if (snapped > mode.emcHz) set('emcHz', mode.emcHz, 'clamped', `capped at ${mode.emcHz} Hz by the nvpmodel EMC cap (${mode.name})`);
      else set('emcHz', snapped, 'snapped', 'the EMC rate rounds up to the next supported rate');
    }
    clocks = next;
    return { requested: req, applied: { ...clocks }, adjustments };
  };

  const device: SimDevice = {
    id,
    kind: 'sim',
    board,
    mode: mode.name,
    async describe() {
      return describeBoard(board, mode.name);
    },
    async domains() {
      return simDomains(board);
    },
    apply,
    async readClocks() {
      live();
      return { ...clocks };
    },
    async powerSources(): Promise<readonly PowerSource[]> {
      live();
      return board.rails.map((r) => ({
        name: r.name,
        role: r.role,
        covers: r.covers,
        ...(r.shared ? { shared: true } : {}),
        kind: 'power' as const,
        read: async () => {
          live();
          return sample()[r.name]!;
        },
      }));
    },
    async snapshot(): Promise<DeviceSnapshot> {
      live();
      const values: Record<string, string> = { mode: mode.name };
      for (const k of KNOBS) values[k] = String(clocks[k]);
      return { deviceId: id, takenAt: new Date().toISOString(), values };
    },
    async restore(s: DeviceSnapshot) {
      live();
      if (s.deviceId !== id) throw badInput(`snapshot is of ${s.deviceId}, not ${id}`);
      const next = { ...clocks };
      for (const k of KNOBS) {
        const v = Number(s.values[k]);
        const table = k === 'cpuHz' ? board.cpu.freqsHz : k === 'emcHz' ? board.emc.freqsHz : board.gpu.freqsHz;
        if (!table.includes(v)) throw badInput(`snapshot value ${k}=${s.values[k]} is not a ${id} table frequency`);
        next[k] = v;
      }
      if (next.gpuMinHz > next.gpuMaxHz) throw badInput('snapshot has gpuMinHz above gpuMaxHz');
      clocks = next;
    },
    setLoad(l: SimLoad | null) {
      if (l && !(Number.isInteger(l.batch) && l.batch >= 1)) throw badInput(`batch must be a positive integer, got ${l.batch}`);
      load = l;
    },
    async close() {
      closed = true;
    },
  };
  return device;
}

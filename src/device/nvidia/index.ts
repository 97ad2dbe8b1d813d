import type { KnobDomains } from '../../core/config.ts';
import type { Adjustment, ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { nearest } from '../sysfs.ts';
import {
  type GpuInfo,
  PowerDrawStream,
  type PowerField,
  parseClocksSet,
  probePowerField,
  queryGpus,
  querySupportedClocks,
  runNvidiaSmi,
} from './nvidia-smi.ts';

export interface NvidiaOptions {
  /** GPU index as nvidia-smi numbers it. */
  readonly index?: number;
  /** Locked clocks are changed only when this is set (they outlive the process on a shared GPU). */
  readonly allowClockChanges?: boolean;
  readonly dryRun?: boolean;
  readonly print?: (line: string) => void;
  readonly periodMs?: number;
}

const MHZ = 1e6;

/** Whether nvidia-smi runs and lists a GPU. */
export async function nvidiaSmiWorks(): Promise<boolean> {
  try {
    return (await queryGpus()).length > 0;
  } catch {
    return false;
  }
}

/**
 * A desktop/server NVIDIA GPU through nvidia-smi: locked graphics/memory clocks, and power from
 * `power.draw.instant` where the driver has it (else `power.draw`, a 1 s average on Ampere and newer).
 */
export class NvidiaDevice implements Device {
  readonly kind = 'nvidia' as const;
  readonly id: string;
  private readonly stream: PowerDrawStream;
  private locked: { gr?: [number, number]; mem?: [number, number] } = {};
  /** The power field sampled (probed once at open). */
  readonly powerField: PowerField;
  private constructor(
    private readonly info: GpuInfo,
    private readonly clocks: Map<number, number[]>,
    private readonly opts: NvidiaOptions,
    powerField: PowerField,
  ) {
    this.id = `nvidia:${info.uuid ?? info.index}`;
    this.powerField = powerField;
    this.stream = new PowerDrawStream(info.index, opts.periodMs ?? 50, undefined, powerField);
  }

  static async open(opts: NvidiaOptions = {}): Promise<NvidiaDevice> {
    const gpus = await queryGpus();
    const index = opts.index ?? 0;
    const info = gpus.find((g) => g.index === index);
    if (!info) throw new PolyThrottleError('NOT_FOUND', `nvidia-smi lists no GPU ${index} (found ${gpus.length})`);
    let clocks = new Map<number, number[]>();
    try {
      clocks = await querySupportedClocks(index);
    } catch {
      // Some GPUs (and vGPUs) report no supported clocks; the device then has no clock knobs.
    }
    return new NvidiaDevice(info, clocks, opts, await probePowerField(index));
  }

  async domains(): Promise<Omit<KnobDomains, 'batch'>> {
    const mems = [...this.clocks.keys()].sort((a, b) => a - b);
    const top = mems[mems.length - 1];
    const gr = top === undefined ? [] : (this.clocks.get(top) ?? []);
    return {
      ...(gr.length ? { gpuHz: gr.map((m) => m * MHZ) } : {}),
      ...(mems.length > 1 ? { emcHz: mems.map((m) => m * MHZ) } : {}),
    };
  }

  async describe(): Promise<DeviceDescription> {
    const knobs = await this.domains();
    const missing: { what: string; why: string }[] = [
      { what: 'energy counter', why: `nvidia-smi exposes no energy-counter query; ${this.powerField} samples are integrated instead` },
    ];
    if (!knobs.gpuHz) missing.push({ what: 'GPU clock control', why: 'nvidia-smi lists no supported clocks for this GPU' });
    if (!this.opts.allowClockChanges) missing.push({ what: 'clock changes', why: 'locked clocks are changed only with --allow-clock-changes' });
    const live = (await queryGpus().catch(() => [])).find((g) => g.index === this.info.index) ?? this.info;
    if (live.powerW === undefined) missing.push({ what: 'power sensor', why: 'power.draw reads [N/A] on this GPU' });
    const details = [
      live.temperatureC === undefined ? undefined : `${live.temperatureC} °C`,
      live.powerW === undefined ? undefined : `${live.powerW} W`,
      live.powerLimitW === undefined ? undefined : `limit ${live.powerLimitW} W`,
      live.pstate,
    ].filter(Boolean);
    return {
      id: this.id,
      kind: this.kind,
      name: `${this.info.name} (GPU ${this.info.index})`,
      ...(this.info.driver ? { release: `driver ${this.info.driver}` } : {}),
      knobs,
      presets: [],
      ...(details.length ? { currentMode: details.join(', ') } : {}),
      rails: [{ name: this.powerField, role: 'total', covers: `whole board (nvidia-smi ${this.powerField})` }],
      missing,
      warnings:
        this.powerField === 'power.draw'
          ? ['the driver has no power.draw.instant: power.draw is a 1 s average on Ampere and newer GPUs, measurement windows should last several seconds']
          : [],
    };
  }

  private async smi(args: string[]): Promise<string> {
    if (this.opts.dryRun) {
      (this.opts.print ?? ((l: string) => process.stderr.write(`${l}\n`)))(`dry-run: would run nvidia-smi ${args.join(' ')}`);
      return '';
    }
    return runNvidiaSmi(args);
  }

  async apply(clocks: FrequencyConfig): Promise<ApplyResult> {
    const adjustments: Adjustment[] = [];
    if (clocks.cpuHz !== undefined)
      adjustments.push({ knob: 'cpuHz', requested: clocks.cpuHz, got: undefined, kind: 'refused', detail: 'the nvidia backend has no CPU knob' });
    const wantsGpu = clocks.gpuMinHz !== undefined || clocks.gpuMaxHz !== undefined;
    if ((wantsGpu || clocks.emcHz !== undefined) && !this.opts.allowClockChanges)
      throw new PolyThrottleError('BAD_INPUT', 'changing an NVIDIA GPU’s clocks needs --allow-clock-changes', {
        hint: 'locked clocks affect every program on the GPU until reset; restore resets them',
      });
    const { gpuHz = [], emcHz = [] } = await this.domains();
    const idx = ['-i', String(this.info.index)];
    if (wantsGpu && gpuHz.length === 0) {
      for (const k of ['gpuMinHz', 'gpuMaxHz'] as const)
        if (clocks[k] !== undefined)
          adjustments.push({ knob: k, requested: clocks[k], got: undefined, kind: 'refused', detail: 'nvidia-smi lists no supported graphics clocks' });
    } else if (wantsGpu) {
      const lo = clocks.gpuMinHz ?? gpuHz[0]!;
      const hi = clocks.gpuMaxHz ?? gpuHz[gpuHz.length - 1]!;
      const a = Math.round((nearest(gpuHz, lo) ?? lo) / MHZ);
      const b = Math.round((nearest(gpuHz, hi) ?? hi) / MHZ);
      const out = await this.smi([...idx, '-lgc', `${a},${b}`]);
      const got = this.opts.dryRun ? ([a, b] as [number, number]) : parseClocksSet(out);
      this.locked.gr = got ?? [a, b];
      const check = (knob: 'gpuMinHz' | 'gpuMaxHz', req: number | undefined, asked: number, g: number | undefined) => {
        if (req === undefined) return;
        if (g === undefined)
          adjustments.push({ knob, requested: req, got: undefined, kind: 'refused', detail: `nvidia-smi -lgc printed no confirmation: ${out.trim()}` });
        else if (g * MHZ !== req)
          adjustments.push({ knob, requested: req, got: g * MHZ, kind: asked * MHZ !== req ? 'snapped' : 'clamped', detail: `GPU clocks locked at ${g} MHz` });
      };
      check('gpuMinHz', clocks.gpuMinHz, a, got?.[0]);
      check('gpuMaxHz', clocks.gpuMaxHz, b, got?.[1]);
    }
    if (clocks.emcHz !== undefined && emcHz.length === 0) {
      adjustments.push({ knob: 'emcHz', requested: clocks.emcHz, got: undefined, kind: 'refused', detail: 'this GPU has a single memory clock' });
    } else if (clocks.emcHz !== undefined) {
      const m = Math.round((nearest(emcHz, clocks.emcHz) ?? clocks.emcHz) / MHZ);
      const out = await this.smi([...idx, '-lmc', `${m},${m}`]);
      const got = this.opts.dryRun ? ([m, m] as [number, number]) : parseClocksSet(out);
      this.locked.mem = got ?? [m, m];
      if (!got)
        adjustments.push({
          knob: 'emcHz',
          requested: clocks.emcHz,
          got: undefined,
          kind: 'refused',
          detail: `nvidia-smi -lmc printed no confirmation: ${out.trim()}`,
        });
      else if (got[0] * MHZ !== clocks.emcHz)
        adjustments.push({ knob: 'emcHz', requested: clocks.emcHz, got: got[0] * MHZ, kind: 'snapped', detail: `memory clocks locked at ${got[0]} MHz` });
    }
    return { requested: clocks, applied: await this.readClocks(), adjustments };
  }

  async readClocks(): Promise<FrequencyConfig> {
    const live = (await queryGpus()).find((g) => g.index === this.info.index);
    return {
      gpuMinHz: this.locked.gr ? this.locked.gr[0] * MHZ : undefined,
      gpuMaxHz: this.locked.gr ? this.locked.gr[1] * MHZ : live?.graphicsMHz === undefined ? undefined : live.graphicsMHz * MHZ,
      emcHz: live?.memoryMHz === undefined ? undefined : live.memoryMHz * MHZ,
    };
  }

  async powerSources(): Promise<readonly PowerSource[]> {
    return [{ name: this.powerField, role: 'total', covers: `whole board (nvidia-smi ${this.powerField})`, kind: 'power', read: () => this.stream.read() }];
  }

  async snapshot(): Promise<DeviceSnapshot> {
    // nvidia-smi cannot read back locked-clock settings; the state before a run is "not locked", and
    // restore resets locks (the driver default).
    return {
      deviceId: this.id,
      takenAt: new Date().toISOString(),
      values: {
        'gpu-index': String(this.info.index),
        // Without --allow-clock-changes nothing is ever locked, so there is nothing to reset.
        'graphics-clocks': this.opts.allowClockChanges ? 'reset' : 'untouched',
        'memory-clocks': this.opts.allowClockChanges ? 'reset' : 'untouched',
      },
    };
  }

  async restore(snapshot: DeviceSnapshot): Promise<void> {
    const idx = ['-i', snapshot.values['gpu-index'] ?? String(this.info.index)];
    if (snapshot.values['graphics-clocks'] === 'reset') await this.smi([...idx, '-rgc']);
    if (snapshot.values['memory-clocks'] === 'reset' && (await this.domains()).emcHz) await this.smi([...idx, '-rmc']);
    this.locked = {};
  }

  async close(): Promise<void> {
    this.stream.close();
  }
}

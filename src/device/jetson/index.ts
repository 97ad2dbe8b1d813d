import type { KnobDomains } from '../../core/config.ts';
import type { Adjustment, ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource, Preset } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { type BackendOptions, openSysfsIo } from '../backend-options.ts';
import { cpuAdjustments } from '../linux-cpu/index.ts';
import { type CpuPolicy, cpuDomain, cpuKnobFiles, findCpuPolicies, pinCpu, readCpuHz, restoreCpu, snapshotCpu } from '../linux-cpu/cpufreq.ts';
import { writeMinMax } from '../min-max.ts';
import { type SysfsIo, nearest, readNumber, readText, tryReadNumber, writeKnob } from '../sysfs.ts';
import { type JetsonIdentity, detectJetson } from './detect.ts';
import { type EmcProbe, probeEmc, readEmcHz, restoreEmc, setEmc, snapshotEmc } from './emc.ts';
import { type GpuDevfreq, findGpuDevfreq } from './gpu-devfreq.ts';
import { findIna3221Rails, ina3221Sources } from './ina3221.ts';
import { modeToPreset, queryNvpModel, readNvpModelConf, readNvpModelStatus } from './nvpmodel.ts';

export { detectJetson } from './detect.ts';

export const NVPMODEL_WARNING =
  'running `nvpmodel -m` or `jetson_clocks` during a run overwrites the CPU/GPU/EMC limits PolyThrottle sets; pick the power mode first, then tune';

const RAILGATE = 'sys/devices/platform/gpu.0/railgate_enable';

/**
 * Find the GPU devfreq node; when none is registered yet (the GPU is rail-gated at boot), do what
 * NVIDIA's jetson_clocks does: power the GPU up once (railgate_enable = 0), re-scan, and put the
 * saved value back. Only as root and not in a dry run.
 */
async function findGpuWakingIt(io: SysfsIo, dryRun: boolean): Promise<GpuDevfreq | undefined> {
  const found = await findGpuDevfreq(io);
  if (found || dryRun || !(await io.exists(RAILGATE)) || !(await io.writable(RAILGATE))) return found;
  const saved = await readText(io, RAILGATE);
  if (saved === '0') return undefined;
  await writeKnob(io, RAILGATE, 0);
  try {
    return await findGpuDevfreq(io);
  } finally {
    await writeKnob(io, RAILGATE, saved);
  }
}

interface Discovered {
  readonly identity: JetsonIdentity;
  readonly gpu: GpuDevfreq | undefined;
  readonly emc: EmcProbe;
  readonly cpus: CpuPolicy[];
}

/** An NVIDIA Jetson: GPU through devfreq, EMC through BPMP debugfs, CPU through cpufreq, INA3221 rails. */
export class JetsonDevice implements Device {
  readonly kind = 'jetson' as const;
  readonly id: string;
  private constructor(
    readonly io: SysfsIo,
    private readonly found: Discovered,
  ) {
    this.id = `jetson:${found.identity.soc}`;
  }

  static async open(opts: BackendOptions = {}): Promise<JetsonDevice> {
    const io = openSysfsIo(opts);
    const identity = await detectJetson(io);
    if (!identity)
      throw new PolyThrottleError('UNSUPPORTED', `not a Jetson: ${io.root}proc/device-tree/compatible names no Tegra SoC`, {
        hint: 'use --device auto, nvidia, linux-cpu or sim:<board>',
      });
    return new JetsonDevice(io, { identity, gpu: await findGpuWakingIt(io, opts.dryRun === true), emc: await probeEmc(io), cpus: await findCpuPolicies(io) });
  }

  get identity(): JetsonIdentity {
    return this.found.identity;
  }

  async domains(): Promise<Omit<KnobDomains, 'batch'>> {
    const cpu = cpuDomain(this.found.cpus);
    return {
      ...(cpu.length ? { cpuHz: cpu } : {}),
      ...(this.found.gpu ? { gpuHz: [...this.found.gpu.table] } : {}),
      ...(this.found.emc.ok ? { emcHz: [...this.found.emc.emc.table] } : {}),
    };
  }

  async presets(): Promise<{ presets: Preset[]; current?: string }> {
    const modes = await readNvpModelConf(this.io);
    let id = await readNvpModelStatus(this.io);
    let queried: string | undefined;
    if (id === undefined) {
      const q = await queryNvpModel(this.io);
      id = q.id;
      queried = q.name;
    }
    const tables = await this.domains();
    const presets = modes.map((m) => modeToPreset(m, tables));
    const current = modes.find((m) => m.id === id)?.name ?? queried ?? (id === undefined ? undefined : `mode ${id}`);
    return { presets, ...(current ? { current } : {}) };
  }

  async describe(): Promise<DeviceDescription> {
    const { identity, gpu, emc, cpus } = this.found;
    const missing: { what: string; why: string }[] = [];
    const warnings = [NVPMODEL_WARNING];
    if (!gpu)
      missing.push({
        what: 'GPU clock control',
        why: 'no devfreq node under sys/class/devfreq belongs to the GPU (it may be rail-gated at boot: run a GPU program once and retry)',
      });
    else if (!(await this.io.writable(gpu.maxFile)))
      missing.push({ what: 'GPU clock writes', why: `${gpu.maxFile} is not writable (not root): run with sudo` });
    if (!emc.ok) missing.push({ what: 'EMC (memory) clock control', why: emc.why });
    if (cpus.length === 0) missing.push({ what: 'CPU clock control', why: 'no cpufreq policies under sys/devices/system/cpu/cpufreq' });
    else {
      const first = cpus.find((p) => p.online);
      if (first && !(await this.io.writable(cpuKnobFiles(first).max)))
        missing.push({ what: 'CPU clock writes', why: `${cpuKnobFiles(first).max} is not writable (not root): run with sudo` });
      for (const p of cpus.filter((q) => !q.online))
        missing.push({ what: `CPU cluster ${p.name} (cpus ${p.cpus.join(',')})`, why: 'offline in this power mode; not controlled' });
    }
    const sources = await this.powerSources();
    if (sources.length === 0) missing.push({ what: 'power sensor', why: 'no INA3221 rail under sys/bus/i2c/drivers/ina3221 or ina3221x' });
    const total = sources.find((s) => s.role === 'total');
    if (total?.name === 'SUM_OF_RAILS') warnings.push(`no board-input rail: energy is the ${total.covers}`);
    const { presets, current } = await this.presets();
    return {
      id: this.id,
      kind: this.kind,
      name: !identity.model ? `NVIDIA ${identity.family}` : /jetson/i.test(identity.model) ? identity.model : `NVIDIA ${identity.family} (${identity.model})`,
      soc: identity.soc,
      ...(identity.l4t ? { release: `L4T R${identity.l4t.version}` } : {}),
      knobs: await this.domains(),
      presets,
      ...(current ? { currentMode: current } : {}),
      rails: sources.map(({ name, role, covers, shared }) => ({ name, role, ...(covers ? { covers } : {}), ...(shared ? { shared } : {}) })),
      missing,
      warnings,
    };
  }

  async apply(clocks: FrequencyConfig): Promise<ApplyResult> {
    const { gpu, emc, cpus } = this.found;
    const adjustments: Adjustment[] = [];
    const refuse = (knob: Adjustment['knob'], requested: number, detail: string) =>
      adjustments.push({ knob, requested, got: undefined, kind: 'refused', detail });

    if (clocks.gpuMinHz !== undefined || clocks.gpuMaxHz !== undefined) {
      if (!gpu) {
        if (clocks.gpuMinHz !== undefined) refuse('gpuMinHz', clocks.gpuMinHz, 'no GPU devfreq node');
        if (clocks.gpuMaxHz !== undefined) refuse('gpuMaxHz', clocks.gpuMaxHz, 'no GPU devfreq node');
      } else {
        adjustments.push(...(await this.applyGpu(gpu, clocks.gpuMinHz, clocks.gpuMaxHz)));
      }
    }
    if (clocks.emcHz !== undefined) {
      if (!emc.ok) refuse('emcHz', clocks.emcHz, emc.why);
      else {
        const { target, got } = await setEmc(this.io, emc.emc, clocks.emcHz);
        if (target !== clocks.emcHz)
          adjustments.push({ knob: 'emcHz', requested: clocks.emcHz, got: target, kind: 'snapped', detail: `not in the EMC table; used ${target} Hz` });
        if (got !== target)
          adjustments.push({
            knob: 'emcHz',
            requested: clocks.emcHz,
            got,
            kind: got < target ? 'clamped' : 'refused',
            detail: `EMC reads back ${got} Hz after writing ${target} Hz (BPMP bandwidth cap or lock not taken)`,
          });
      }
    }
    if (clocks.cpuHz !== undefined) {
      if (cpus.length === 0) refuse('cpuHz', clocks.cpuHz, 'no cpufreq policies');
      else adjustments.push(...cpuAdjustments(clocks.cpuHz, await pinCpu(this.io, cpus, clocks.cpuHz)));
    }
    return { requested: clocks, applied: await this.readClocks(), adjustments };
  }

  private async applyGpu(gpu: GpuDevfreq, minReq: number | undefined, maxReq: number | undefined): Promise<Adjustment[]> {
    const adj: Adjustment[] = [];
    const snap = (knob: 'gpuMinHz' | 'gpuMaxHz', v: number | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const t = nearest(gpu.table, v)!;
      if (t !== v) adj.push({ knob, requested: v, got: t, kind: 'snapped', detail: `not in available_frequencies; used ${t} Hz` });
      return t;
    };
    const min = snap('gpuMinHz', minReq) ?? (await readNumber(this.io, gpu.minFile));
    const max = snap('gpuMaxHz', maxReq) ?? (await readNumber(this.io, gpu.maxFile));
    if (min > max) throw new PolyThrottleError('BAD_INPUT', `GPU min ${min} Hz is above GPU max ${max} Hz`);
    await writeMinMax(this.io, { min: gpu.minFile, max: gpu.maxFile }, min, max);
    const gotMin = await readNumber(this.io, gpu.minFile);
    const gotMax = await readNumber(this.io, gpu.maxFile);
    if (minReq !== undefined && gotMin !== min)
      adj.push({
        knob: 'gpuMinHz',
        requested: minReq,
        got: gotMin,
        kind: gotMin < min ? 'clamped' : 'refused',
        detail: `min_freq reads back ${gotMin} Hz after writing ${min} Hz`,
      });
    if (maxReq !== undefined && gotMax !== max)
      adj.push({
        knob: 'gpuMaxHz',
        requested: maxReq,
        got: gotMax,
        kind: gotMax < max ? 'clamped' : 'refused',
        detail: `max_freq reads back ${gotMax} Hz after writing ${max} Hz (nvpmodel cap?)`,
      });
    return adj;
  }

  async readClocks(): Promise<FrequencyConfig> {
    const { gpu, emc, cpus } = this.found;
    return {
      cpuHz: await readCpuHz(this.io, cpus),
      gpuMinHz: gpu ? await tryReadNumber(this.io, gpu.minFile) : undefined,
      gpuMaxHz: gpu ? await tryReadNumber(this.io, gpu.maxFile) : undefined,
      emcHz: emc.ok ? await readEmcHz(this.io, emc.emc) : undefined,
    };
  }

  async powerSources(): Promise<readonly PowerSource[]> {
    return ina3221Sources(this.io, await findIna3221Rails(this.io));
  }

  async snapshot(): Promise<DeviceSnapshot> {
    const { gpu, emc, cpus } = this.found;
    const values: Record<string, string> = { ...(await snapshotCpu(this.io, cpus)) };
    if (gpu) {
      values[gpu.minFile] = await readText(this.io, gpu.minFile);
      values[gpu.maxFile] = await readText(this.io, gpu.maxFile);
    }
    if (emc.ok) Object.assign(values, await snapshotEmc(this.io, emc.emc));
    return { deviceId: this.id, takenAt: new Date().toISOString(), values };
  }

  async restore(snapshot: DeviceSnapshot): Promise<void> {
    const { gpu, emc, cpus } = this.found;
    const v = snapshot.values;
    if (gpu && v[gpu.minFile] !== undefined && v[gpu.maxFile] !== undefined)
      await writeMinMax(this.io, { min: gpu.minFile, max: gpu.maxFile }, v[gpu.minFile]!, v[gpu.maxFile]!);
    if (emc.ok) await restoreEmc(this.io, emc.emc, v);
    await restoreCpu(this.io, cpus, v);
  }

  async close(): Promise<void> {}
}

import type { KnobDomains } from '../../core/config.ts';
import type { Adjustment, ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { type SysfsIo, tryReadText } from '../sysfs.ts';
import { openSysfsIo, type BackendOptions } from '../backend-options.ts';
import { type CpuPolicy, cpuDomain, cpuKnobFiles, findCpuPolicies, pinCpu, readCpuHz, restoreCpu, snapshotCpu } from './cpufreq.ts';
import { findRaplZones, raplSources } from './rapl.ts';

export type { CpuPolicy } from './cpufreq.ts';

/** Whether the root has a Linux cpufreq tree with at least one policy. */
export async function hasCpufreq(io: SysfsIo): Promise<boolean> {
  return (await findCpuPolicies(io)).length > 0;
}

/** Report what a CPU pin did: snapped to a table value, clamped by a cap, or refused. */
export function cpuAdjustments(requested: number, results: Awaited<ReturnType<typeof pinCpu>>): Adjustment[] {
  const adj: Adjustment[] = [];
  for (const r of results) {
    if (r.min === requested && r.max === requested) continue;
    if (r.target !== requested && r.min === r.target && r.max === r.target) {
      adj.push({ knob: 'cpuHz', requested, got: r.target, kind: 'snapped', detail: `${r.policy}: snapped to its table value ${r.target / 1000} kHz` });
      continue;
    }
    const got = r.max;
    adj.push({
      knob: 'cpuHz',
      requested,
      got,
      kind: got < r.target ? 'clamped' : 'refused',
      detail: `${r.policy}: reads back min ${r.min / 1000} kHz, max ${r.max / 1000} kHz after writing ${r.target / 1000} kHz`,
    });
  }
  return adj;
}

/** A Linux machine's CPUs: cpufreq clocks (min = max pinning) and RAPL energy counters. */
export class LinuxCpuDevice implements Device {
  readonly id: string;
  readonly kind = 'linux-cpu' as const;
  private policies: CpuPolicy[] | undefined;
  constructor(readonly io: SysfsIo) {
    this.id = 'linux-cpu';
  }
  static async open(opts: BackendOptions = {}): Promise<LinuxCpuDevice> {
    const io = openSysfsIo(opts);
    const d = new LinuxCpuDevice(io);
    if ((await d.cpuPolicies()).length === 0)
      throw new PolyThrottleError('UNSUPPORTED', `no cpufreq policies under ${io.root}sys/devices/system/cpu/cpufreq`, {
        hint: 'the kernel exposes no CPU frequency scaling here (a container or VM often hides it)',
      });
    return d;
  }
  async cpuPolicies(): Promise<CpuPolicy[]> {
    this.policies ??= await findCpuPolicies(this.io);
    return this.policies;
  }
  async domains(): Promise<Omit<KnobDomains, 'batch'>> {
    const t = cpuDomain(await this.cpuPolicies());
    return t.length > 0 ? { cpuHz: t } : {};
  }
  async describe(): Promise<DeviceDescription> {
    const policies = await this.cpuPolicies();
    const zones = await findRaplZones(this.io);
    const missing: { what: string; why: string }[] = [];
    const warnings: string[] = [];
    const first = policies.find((p) => p.online);
    if (first && !(await this.io.writable(cpuKnobFiles(first).max)))
      missing.push({ what: 'CPU clock control', why: `${cpuKnobFiles(first).max} is not writable (not root): reads work, writes need sudo` });
    if (policies.some((p) => p.tableSource === 'synthesized'))
      warnings.push(
        `the cpufreq driver (${first?.driver ?? 'unknown'}) lists no frequency table; using 100 MHz steps between cpuinfo_min_freq and cpuinfo_max_freq`,
      );
    for (const p of policies.filter((q) => !q.online)) missing.push({ what: `CPU ${p.name} (cpus ${p.cpus.join(',')})`, why: 'all its CPUs are offline' });
    if (zones.length === 0)
      missing.push({ what: 'energy sensor', why: 'no RAPL zone under sys/class/powercap (not an Intel/AMD CPU, or powercap not loaded)' });
    for (const z of zones.filter((q) => !q.readable))
      missing.push({ what: `RAPL ${z.name} energy`, why: `${z.dir}/energy_uj is root-only since Linux 5.10: run as root or add a udev rule` });
    const model = (await tryReadText(this.io, 'proc/cpuinfo'))?.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim();
    return {
      id: this.id,
      kind: this.kind,
      name: model ? `${model} (Linux cpufreq)` : 'Linux CPU (cpufreq)',
      knobs: await this.domains(),
      presets: [],
      rails: (await this.powerSources()).map(({ name, role, covers, shared }) => ({
        name,
        role,
        ...(covers ? { covers } : {}),
        ...(shared ? { shared } : {}),
      })),
      missing,
      warnings,
    };
  }
  async apply(clocks: FrequencyConfig): Promise<ApplyResult> {
    const adjustments: Adjustment[] = [];
    for (const k of ['gpuMinHz', 'gpuMaxHz', 'emcHz'] as const)
      if (clocks[k] !== undefined)
        adjustments.push({ knob: k, requested: clocks[k], got: undefined, kind: 'refused', detail: 'a Linux CPU device has no such knob' });
    if (clocks.cpuHz !== undefined) adjustments.push(...cpuAdjustments(clocks.cpuHz, await pinCpu(this.io, await this.cpuPolicies(), clocks.cpuHz)));
    return { requested: clocks, applied: await this.readClocks(), adjustments };
  }
  async readClocks(): Promise<FrequencyConfig> {
    return { cpuHz: await readCpuHz(this.io, await this.cpuPolicies()) };
  }
  async powerSources(): Promise<readonly PowerSource[]> {
    return raplSources(this.io, await findRaplZones(this.io));
  }
  async snapshot(): Promise<DeviceSnapshot> {
    return { deviceId: this.id, takenAt: new Date().toISOString(), values: await snapshotCpu(this.io, await this.cpuPolicies()) };
  }
  async restore(snapshot: DeviceSnapshot): Promise<void> {
    await restoreCpu(this.io, await this.cpuPolicies(), snapshot.values);
  }
  async close(): Promise<void> {}
}

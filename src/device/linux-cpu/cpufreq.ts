import { writeMinMax } from '../min-max.ts';
import { type SysfsIo, nearest, parseNumberList, readNumber, readText, tryReadNumber, tryReadText } from '../sysfs.ts';

const CPU = 'sys/devices/system/cpu';

/** One cpufreq policy (a cluster of CPUs that share a clock). Frequencies in Hz. */
export interface CpuPolicy {
  readonly dir: string;
  readonly name: string;
  readonly cpus: readonly number[];
  readonly online: boolean;
  /** Ascending, Hz. */
  readonly table: readonly number[];
  /** Where the table came from: the driver's own list, or 100 MHz steps between cpuinfo min and max. */
  readonly tableSource: 'scaling_available_frequencies' | 'synthesized';
  readonly driver?: string;
  readonly governor?: string;
}

const SYNTH_STEP_KHZ = 100_000;

/** Parse "0-3,6" style CPU lists. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b === undefined ? a : b;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

async function cpuOnline(io: SysfsIo, cpu: number): Promise<boolean> {
  const t = await tryReadText(io, `${CPU}/cpu${cpu}/online`);
  return t === undefined || t === '1'; // cpu0 often has no `online` file
}

/** Every cpufreq policy under the root, in policy order. */
export async function findCpuPolicies(io: SysfsIo): Promise<CpuPolicy[]> {
  const base = `${CPU}/cpufreq`;
  const names = (await io.list(base)).filter((n) => /^policy\d+$/.test(n));
  names.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  const out: CpuPolicy[] = [];
  for (const name of names) {
    const dir = `${base}/${name}`;
    const cpuText = (await tryReadText(io, `${dir}/related_cpus`)) ?? (await tryReadText(io, `${dir}/affected_cpus`));
    const cpus = cpuText ? parseCpuList(cpuText) : [Number(name.slice(6))];
    let online = false;
    for (const c of cpus) if (await cpuOnline(io, c)) online = true;
    const avail = await tryReadText(io, `${dir}/scaling_available_frequencies`);
    let table: number[];
    let tableSource: CpuPolicy['tableSource'];
    if (avail && parseNumberList(avail).length > 0) {
      table = parseNumberList(avail).map((k) => k * 1000);
      tableSource = 'scaling_available_frequencies';
    } else {
      const lo = await tryReadNumber(io, `${dir}/cpuinfo_min_freq`);
      const hi = await tryReadNumber(io, `${dir}/cpuinfo_max_freq`);
      if (lo === undefined || hi === undefined || hi < lo) continue;
      const ks: number[] = [];
      for (let k = Math.ceil(lo / SYNTH_STEP_KHZ) * SYNTH_STEP_KHZ; k < hi; k += SYNTH_STEP_KHZ) if (k >= lo) ks.push(k);
      if (ks[0] !== lo) ks.unshift(lo);
      ks.push(hi);
      table = [...new Set(ks)].map((k) => k * 1000);
      tableSource = 'synthesized';
    }
    const driver = await tryReadText(io, `${dir}/scaling_driver`);
    const governor = await tryReadText(io, `${dir}/scaling_governor`);
    out.push({
      dir,
      name,
      cpus,
      online,
      table,
      tableSource,
      ...(driver ? { driver } : {}),
      ...(governor ? { governor } : {}),
    });
  }
  return out;
}

/** The CPU knob's table: frequencies every online policy has (or the first policy's when they share none). */
export function cpuDomain(policies: readonly CpuPolicy[]): number[] {
  const on = policies.filter((p) => p.online);
  if (on.length === 0) return [];
  const first = on[0]!.table;
  const common = first.filter((f) => on.every((p) => p.table.includes(f)));
  return common.length > 0 ? common : [...first];
}

/** Files of a policy that a CPU clock change touches (kHz values). */
export function cpuKnobFiles(p: CpuPolicy): { min: string; max: string } {
  return { min: `${p.dir}/scaling_min_freq`, max: `${p.dir}/scaling_max_freq` };
}

/**
 * Pin every online policy to `hz` (snapped to each policy's own table) by min = max pinning, in the
 * safe write order. Returns, per policy, what it reads back (Hz) as [min, max].
 */
export async function pinCpu(io: SysfsIo, policies: readonly CpuPolicy[], hz: number): Promise<{ policy: string; target: number; min: number; max: number }[]> {
  const out: { policy: string; target: number; min: number; max: number }[] = [];
  for (const p of policies.filter((q) => q.online)) {
    const target = nearest(p.table, hz) ?? hz;
    const khz = Math.round(target / 1000);
    const files = cpuKnobFiles(p);
    await writeMinMax(io, files, khz, khz);
    out.push({
      policy: p.name,
      target,
      min: (await readNumber(io, files.min)) * 1000,
      max: (await readNumber(io, files.max)) * 1000,
    });
  }
  return out;
}

/** Current CPU clock (Hz) of the first online policy. */
export async function readCpuHz(io: SysfsIo, policies: readonly CpuPolicy[]): Promise<number | undefined> {
  const p = policies.find((q) => q.online);
  if (!p) return undefined;
  const cur = (await tryReadNumber(io, `${p.dir}/scaling_cur_freq`)) ?? (await tryReadNumber(io, `${p.dir}/cpuinfo_cur_freq`));
  return cur === undefined ? undefined : cur * 1000;
}

/** Snapshot values (file → text) of every policy's limit files. */
export async function snapshotCpu(io: SysfsIo, policies: readonly CpuPolicy[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of policies) {
    const f = cpuKnobFiles(p);
    try {
      out[f.min] = await readText(io, f.min);
      out[f.max] = await readText(io, f.max);
    } catch {
      // An offline cluster may hide its files; nothing of it is written either.
    }
  }
  return out;
}

/** Put every policy's limits back from a snapshot, in the safe order. */
export async function restoreCpu(io: SysfsIo, policies: readonly CpuPolicy[], values: Readonly<Record<string, string>>): Promise<void> {
  for (const p of policies) {
    const f = cpuKnobFiles(p);
    const min = values[f.min];
    const max = values[f.max];
    if (min === undefined || max === undefined) continue;
    await writeMinMax(io, f, min, max);
  }
}

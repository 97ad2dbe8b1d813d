import { execFile } from 'node:child_process';
import type { FrequencyConfig, Preset } from '../../core/device.ts';
import type { SysfsIo } from '../sysfs.ts';
import { tryReadText } from '../sysfs.ts';

/** One `< POWER_MODEL ID=n NAME=… >` block of /etc/nvpmodel.conf (CPU kHz, GPU/EMC Hz, -1 = unlimited, 0 = none). */
export interface NvpModelMode {
  readonly id: number;
  readonly name: string;
  readonly cpuMaxKhz?: number;
  readonly gpuMinHz?: number;
  readonly gpuMaxHz?: number;
  readonly emcMaxHz?: number;
  readonly onlineCpus?: number;
}

/** Parse the power modes of an nvpmodel.conf. */
export function parseNvpModelConf(text: string): NvpModelMode[] {
  const modes: NvpModelMode[] = [];
  let cur: { -readonly [K in keyof NvpModelMode]: NvpModelMode[K] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const head = line.match(/^<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+)\s*>$/);
    if (head) {
      cur = { id: Number(head[1]), name: head[2]! };
      modes.push(cur);
      continue;
    }
    if (line.startsWith('<')) {
      cur = undefined;
      continue;
    }
    if (!cur) continue;
    const [param, attr, value] = line.split(/\s+/);
    const v = Number(value);
    if (!param || !attr || !Number.isFinite(v)) continue;
    if (param === 'CPU_ONLINE') cur.onlineCpus = (cur.onlineCpus ?? 0) + (v === 1 ? 1 : 0);
    else if (param.startsWith('CPU_') && attr === 'MAX_FREQ' && cur.cpuMaxKhz === undefined) cur.cpuMaxKhz = v;
    else if (param === 'GPU' && attr === 'MAX_FREQ') cur.gpuMaxHz = v;
    else if (param === 'GPU' && attr === 'MIN_FREQ') cur.gpuMinHz = v;
    else if (param === 'EMC' && attr === 'MAX_FREQ') cur.emcMaxHz = v;
  }
  return modes;
}

const atMost = (t: readonly number[], v: number) => [...t].reverse().find((x) => x <= v) ?? t[0];
const atLeast = (t: readonly number[], v: number) => t.find((x) => x >= v) ?? t[t.length - 1];

/** Express a power mode as clocks of this device's tables (caps snapped down, floors snapped up). */
export function modeToPreset(m: NvpModelMode, tables: { cpuHz?: readonly number[]; gpuHz?: readonly number[]; emcHz?: readonly number[] }): Preset {
  const clocks: { -readonly [K in keyof FrequencyConfig]: FrequencyConfig[K] } = {};
  const { cpuHz, gpuHz, emcHz } = tables;
  if (cpuHz?.length) clocks.cpuHz = m.cpuMaxKhz === undefined || m.cpuMaxKhz < 0 ? cpuHz[cpuHz.length - 1] : atMost(cpuHz, m.cpuMaxKhz * 1000);
  if (gpuHz?.length) {
    const max = m.gpuMaxHz === undefined || m.gpuMaxHz < 0 ? gpuHz[gpuHz.length - 1]! : atMost(gpuHz, m.gpuMaxHz)!;
    const min = m.gpuMinHz === undefined || m.gpuMinHz <= 0 ? gpuHz[0]! : atLeast(gpuHz, m.gpuMinHz)!;
    clocks.gpuMaxHz = max;
    clocks.gpuMinHz = Math.min(min, max);
  }
  if (emcHz?.length) clocks.emcHz = m.emcMaxHz === undefined || m.emcMaxHz <= 0 ? emcHz[emcHz.length - 1] : atMost(emcHz, m.emcMaxHz);
  const w = m.name.match(/(\d+)W/i);
  return {
    name: m.name,
    id: m.id,
    ...(w ? { budgetW: Number(w[1]) } : {}),
    clocks,
    ...(m.onlineCpus ? { onlineCpus: m.onlineCpus } : {}),
  };
}

/** The active nvpmodel mode id from /var/lib/nvpmodel/status ("pmode:0002 fmode:…"). */
export async function readNvpModelStatus(io: SysfsIo): Promise<number | undefined> {
  const t = await tryReadText(io, 'var/lib/nvpmodel/status');
  const m = t?.match(/pmode:(\d+)/);
  return m ? Number(m[1]) : undefined;
}

export async function readNvpModelConf(io: SysfsIo): Promise<NvpModelMode[]> {
  const t = await tryReadText(io, 'etc/nvpmodel.conf');
  return t ? parseNvpModelConf(t) : [];
}

/** `nvpmodel -q` prints "NV Power Mode: MAXN" and then the id on its own line. */
export function parseNvpModelQuery(text: string): { name?: string; id?: number } {
  const name = text.match(/NV Power Mode:\s*(\S+)/)?.[1];
  const id = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^\d+$/.test(l));
  return { ...(name ? { name } : {}), ...(id === undefined ? {} : { id: Number(id) }) };
}

/** Ask `nvpmodel -q` (only on the machine itself, root '/'), for images without the status file. */
export function queryNvpModel(io: SysfsIo): Promise<{ name?: string; id?: number }> {
  if (io.root !== '/') return Promise.resolve({});
  return new Promise((resolve) => {
    execFile('nvpmodel', ['-q'], { timeout: 5000 }, (err, stdout) => resolve(err ? {} : parseNvpModelQuery(stdout)));
  });
}

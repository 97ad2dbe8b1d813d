import { join } from 'node:path';
import type { Device } from '../core/device.ts';
import { PolyThrottleError } from '../core/errors.ts';
import type { BackendOptions } from './backend-options.ts';
import { type DeviceSpec, formatDeviceSpec, parseDeviceSpec } from './device-spec.ts';
import { JetsonDevice, detectJetson } from './jetson/index.ts';
import { LinuxCpuDevice, hasCpufreq } from './linux-cpu/index.ts';
import { NvidiaDevice, nvidiaSmiWorks } from './nvidia/index.ts';
import { rememberOpened } from './opened.ts';
import type { BoardSpec } from './sim/board-spec.ts';
import { FsSysfsIo } from './sysfs.ts';

export interface OpenDeviceOptions extends BackendOptions {
  /** Allow locking clocks on a desktop/server NVIDIA GPU (`--allow-clock-changes`). */
  readonly allowClockChanges?: boolean;
  /** nvidia-smi GPU index (default 0). */
  readonly gpuIndex?: number;
  /** sim: the board spec to simulate instead of the named board's file (a runtime or a calibration applied). */
  readonly simBoard?: BoardSpec;
}

export const DEFAULT_SIM_SPEC = 'sim:orin-agx';

/** The file-tree root: the option, else $POLYTHROTTLE_SYSFS_ROOT, else '/'. */
export function resolveRoot(root?: string): string {
  return root ?? process.env.POLYTHROTTLE_SYSFS_ROOT ?? '/';
}

/** What `auto` would pick here, with the reason for each backend it passed over. */
export interface Detection {
  readonly spec: string;
  readonly checks: readonly { readonly backend: string; readonly found: boolean; readonly detail: string }[];
}

export async function detectDevice(opts: { root?: string } = {}): Promise<Detection> {
  const root = resolveRoot(opts.root);
  const io = new FsSysfsIo(root);
  const checks: { backend: string; found: boolean; detail: string }[] = [];
  const jetson = await detectJetson(io);
  checks.push({
    backend: 'jetson',
    found: jetson !== undefined,
    detail: jetson ? `${jetson.family} (${jetson.soc})` : `no Tegra SoC in ${join(root, 'proc/device-tree/compatible')}`,
  });
  const smi = jetson ? false : await nvidiaSmiWorks();
  checks.push({
    backend: 'nvidia',
    found: smi,
    detail: jetson ? 'skipped on a Jetson (the iGPU is driven through sysfs)' : smi ? 'nvidia-smi lists a GPU' : 'nvidia-smi not on PATH or lists no GPU',
  });
  const cpu = await hasCpufreq(io);
  checks.push({
    backend: 'linux-cpu',
    found: cpu && !jetson,
    detail: !cpu
      ? `no cpufreq policies under ${join(root, 'sys/devices/system/cpu/cpufreq')}`
      : jetson
        ? 'cpufreq found; the jetson backend drives it'
        : 'cpufreq policies found',
  });
  const spec = jetson ? 'jetson' : smi ? 'nvidia' : cpu ? 'linux-cpu' : DEFAULT_SIM_SPEC;
  return { spec, checks };
}

async function openSim(board: string, spec?: BoardSpec): Promise<Device> {
  // Imported lazily so that real-hardware commands do not load the twin.
  const { createSimDevice } = await import('./sim/index.ts');
  if (spec !== undefined && spec.name !== board) throw new PolyThrottleError('INTERNAL', `board spec ${spec.name} given for sim:${board}`);
  return createSimDevice(spec ?? board);
}

/**
 * `auto` for a command that changes clocks unattended: a Jetson when there is one, else the twin
 * (a desktop GPU or CPU must be named). `passedOver`: the device `auto` found and this did not take.
 */
export async function resolveJetsonOrTwin(spec: DeviceSpec, opts: { root?: string } = {}): Promise<{ spec: DeviceSpec; passedOver?: string }> {
  if (spec.kind !== 'auto') return { spec };
  const d = await detectDevice(opts);
  if (d.spec === 'jetson') return { spec: { kind: 'jetson' } };
  const twin = parseDeviceSpec(DEFAULT_SIM_SPEC);
  return d.spec === DEFAULT_SIM_SPEC ? { spec: twin } : { spec: twin, passedOver: d.spec };
}

/**
 * Open a device by spec: `auto` (Jetson → nvidia → linux-cpu → the simulated AGX Orin), `jetson`,
 * `nvidia`, `linux-cpu`, or `sim:<board>` (text, or parsed with parseDeviceSpec).
 */
export async function openDevice(spec: string | DeviceSpec, opts: OpenDeviceOptions = {}): Promise<Device> {
  const root = resolveRoot(opts.root);
  const device = await openBySpec(typeof spec === 'string' ? parseDeviceSpec(spec) : spec, { ...opts, root });
  return rememberOpened(device, { root, dryRun: opts.dryRun === true });
}

async function openBySpec(spec: DeviceSpec, o: OpenDeviceOptions): Promise<Device> {
  if (spec.kind === 'auto') spec = parseDeviceSpec((await detectDevice({ root: o.root! })).spec);
  switch (spec.kind) {
    case 'sim':
      return openSim(spec.board, o.simBoard);
    case 'jetson':
      return JetsonDevice.open(o);
    case 'linux-cpu':
      return LinuxCpuDevice.open(o);
    case 'nvidia':
      return NvidiaDevice.open({
        ...(o.gpuIndex === undefined ? {} : { index: o.gpuIndex }),
        ...(o.allowClockChanges ? { allowClockChanges: true } : {}),
        ...(o.dryRun ? { dryRun: true } : {}),
        ...(o.print ? { print: o.print } : {}),
      });
    case 'landscape':
      throw new PolyThrottleError('BAD_INPUT', `${formatDeviceSpec(spec)} replays measurements; it has no clocks to set`, {
        hint: 'use it with `tune` or `npm run bench:tuner -- --landscape <grid.csv>`',
      });
    case 'auto':
      throw new PolyThrottleError('INTERNAL', `device detection named no device (${formatDeviceSpec(spec)})`);
  }
}

import { Option } from 'commander';
import type { Device } from '../../core/device.ts';
import { badInput } from '../../core/errors.ts';
import type { TwinProfileRecord } from '../../core/tuning-run.ts';
import type { DType } from '../../core/workload-profile.ts';
import { type DeviceSpec, formatDeviceSpec, parseDeviceSpec } from '../../device/device-spec.ts';
import type { BoardSpec } from '../../device/sim/board-spec.ts';
import { RUNTIMES } from '../../device/sim/runtime-names.ts';
import { type OpenDeviceOptions, openDevice } from '../../device/open.ts';
import { deviceSpec } from './flag-parsers.ts';

/** Options shared by every command that opens a device. */
export interface DeviceCliOptions {
  device?: string | DeviceSpec;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
  /** sim: the board spec to simulate (`--runtime` / `--twin-profile`, see twinFromOptions). */
  simBoard?: BoardSpec;
}

/** `--device <spec>`, parsed into a DeviceSpec (the default too, shown in --help as its text). */
export function deviceOption(description: string, defaultSpec?: string): Option {
  const o = new Option('--device <spec>', description).argParser(deviceSpec('--device'));
  return defaultSpec === undefined ? o : o.default(parseDeviceSpec(defaultSpec), defaultSpec);
}

/** Open the device a command's --device, --sysfs-root, --dry-run and --allow-clock-changes name. */
export function openDeviceFromOptions(o: DeviceCliOptions): Promise<Device> {
  return openDevice(o.device ?? 'auto', {
    ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.allowClockChanges ? { allowClockChanges: true } : {}),
    ...(o.simBoard ? { simBoard: o.simBoard } : {}),
  });
}

/** The options of a command that writes clocks: where the hardware files are, and whether to only print the writes. */
export interface DeviceWriteCliOptions {
  sysfsRoot?: string;
  dryRun?: boolean;
}

/** Adds `--sysfs-root <dir>` and `--dry-run` (every command that can write a clock has both). */
export function addDeviceWriteOptions<C extends { option(flags: string, description: string): C }>(cmd: C): C {
  return cmd
    .option('--sysfs-root <dir>', 'read and write hardware files under this root instead of / (env POLYTHROTTLE_SYSFS_ROOT)')
    .option('--dry-run', 'print each clock write instead of doing it (no snapshot, no lock; the clocks stay as they are)');
}

/** openDevice's options from --sysfs-root and --dry-run. */
export function deviceWriteOptions(o: DeviceWriteCliOptions): OpenDeviceOptions {
  return { ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}), ...(o.dryRun ? { dryRun: true } : {}) };
}

/** `--runtime` and `--twin-profile`: what shapes the twin behind `--device sim:<board>`. */
export interface TwinCliOptions {
  runtime?: string;
  twinProfile?: string;
  dtype?: DType;
  model?: string | undefined;
}

/** The twin as `--runtime` / `--twin-profile` shape it: the board spec to simulate and what to record. */
export interface TwinSelection {
  /** The board to simulate (runtime and calibration applied); undefined: the board as loaded. */
  readonly board?: BoardSpec;
  /** The runtime named by either flag (recorded in the run). */
  readonly runtime?: string;
  /** Precision to profile the model in when --dtype is absent (the runtime's default, or the calibrated one). */
  readonly dtype?: DType;
  /** The twin profile file given. */
  readonly twinProfile?: string;
  /** The model the twin profile was calibrated for. */
  readonly model?: string;
  /** What a run records of the twin profile (path, content hash, coefficients). */
  readonly twinProfileRecord?: TwinProfileRecord;
}

/** Adds `--runtime <name>` and `--twin-profile <file>` (every command that takes `--device sim:…`). */
export function addTwinOptions<C extends { addOption(o: Option): C; option(flags: string, description: string): C }>(cmd: C): C {
  return cmd
    .addOption(
      new Option(
        '--runtime <name>',
        'sim: the execution stack the twin models: tensorrt (fused engine, the default), onnxruntime or pytorch (eager); sets the default --dtype',
      ).choices([...RUNTIMES]),
    )
    .option('--twin-profile <file>', 'sim: a calibrated twin profile (`polythrottle calibrate --out`): the twin behaves as the measured board');
}

/**
 * The twin `--runtime` / `--twin-profile` select for a device spec; nothing when neither flag was
 * given. A twin profile must be for this board, model, runtime and precision.
 */
export async function twinFromOptions(spec: DeviceSpec, o: TwinCliOptions): Promise<TwinSelection> {
  if (o.runtime === undefined && o.twinProfile === undefined) return {};
  if (spec.kind !== 'sim')
    throw badInput(`--runtime and --twin-profile shape the device twin; '${formatDeviceSpec(spec)}' is not a simulated board`, 'use --device sim:<board>');
  // Imported lazily so that real-hardware commands do not load the twin.
  const sim = await import('../../device/sim/index.ts');
  const { applyTwinProfile, loadTwinProfileFile } = await import('../../device/sim/calibrate/index.ts');
  const board = sim.loadBoard(spec.board);
  if (o.twinProfile === undefined) {
    const runtime = o.runtime!;
    return { board: sim.applyRuntime(board, runtime), runtime, dtype: o.dtype ?? sim.runtimePrecision(runtime) };
  }
  const { profile: tp, record } = loadTwinProfileFile(o.twinProfile);
  const at = `twin profile ${o.twinProfile}`;
  if (tp.board !== spec.board) throw badInput(`${at} is for sim:${tp.board}, not sim:${spec.board}`);
  if (o.runtime !== undefined && o.runtime !== tp.runtime) throw badInput(`${at} was calibrated for runtime ${tp.runtime}, not ${o.runtime}`);
  if (o.dtype !== undefined && o.dtype !== tp.dtype) throw badInput(`${at} was calibrated in ${tp.dtype}, not ${o.dtype}`);
  if (o.model !== undefined && o.model !== tp.model)
    throw badInput(`${at} was calibrated for model ${tp.model}, not ${o.model}`, 'calibrate the twin for this model: polythrottle calibrate');
  return { board: applyTwinProfile(board, tp), runtime: tp.runtime, dtype: tp.dtype, twinProfile: o.twinProfile, model: tp.model, twinProfileRecord: record };
}

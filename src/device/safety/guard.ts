import type { Device, DeviceSnapshot, FrequencyConfig } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { openedWith } from '../opened.ts';
import { defaultSnapshotPath, removeSnapshotFile, writeSnapshotFile } from './snapshot-file.ts';

export interface GuardOptions {
  /** Snapshot file (default: one per device in the state directory). */
  readonly file?: string;
  /** Report lines (restore progress); stderr by default. */
  readonly log?: (line: string) => void;
}

/** The knob values that differ between two snapshots (file → [expected, found]). */
export function snapshotDiff(want: DeviceSnapshot, got: DeviceSnapshot): Record<string, [string, string | undefined]> {
  const out: Record<string, [string, string | undefined]> = {};
  for (const [k, v] of Object.entries(want.values)) if (got.values[k] !== v) out[k] = [v, got.values[k]];
  return out;
}

/** Restore a snapshot and read everything back; throws (naming each file) when something did not return. */
export async function restoreAndVerify(device: Device, snapshot: DeviceSnapshot): Promise<void> {
  await device.restore(snapshot);
  if (device.kind === 'nvidia' || device.kind === 'sim') return; // nothing to read back file by file
  const diff = snapshotDiff(snapshot, await device.snapshot());
  const bad = Object.entries(diff);
  if (bad.length > 0)
    throw new PolyThrottleError('HARDWARE', `restore incomplete: ${bad.map(([f, [w, g]]) => `${f} is ${g ?? '(unreadable)'}, expected ${w}`).join('; ')}`, {
      hint: 'run `polythrottle restore` again as root; the snapshot file is kept',
    });
}

/**
 * A Device that snapshots every knob (and persists the snapshot to a file) before its first write,
 * and puts everything back on `restore()`. Dry-run devices and the twin write no snapshot file.
 */
export class GuardedDevice implements Device {
  readonly id: string;
  readonly kind: Device['kind'];
  readonly file: string;
  private taken: DeviceSnapshot | undefined;
  private persisting: Promise<void> | undefined;
  private readonly log: (line: string) => void;

  constructor(
    readonly inner: Device,
    opts: GuardOptions = {},
  ) {
    this.id = inner.id;
    this.kind = inner.kind;
    this.file = opts.file ?? defaultSnapshotPath(inner.id);
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** True once a snapshot was taken (a write happened or is about to). */
  get armed(): boolean {
    return this.taken !== undefined;
  }

  private ensureSnapshot(): Promise<void> {
    this.persisting ??= (async () => {
      const snap = await this.inner.snapshot();
      const how = openedWith(this.inner);
      if (this.kind !== 'sim' && !how?.dryRun)
        await writeSnapshotFile(this.file, { format: 'polythrottle-snapshot/1', spec: this.kind, root: how?.root ?? '/', pid: process.pid, snapshot: snap });
      this.taken = snap;
    })();
    return this.persisting;
  }

  describe = () => this.inner.describe();
  domains = () => this.inner.domains();
  readClocks = () => this.inner.readClocks();
  powerSources = () => this.inner.powerSources();
  snapshot = () => this.inner.snapshot();

  async apply(clocks: FrequencyConfig) {
    await this.ensureSnapshot();
    return this.inner.apply(clocks);
  }

  /** Restore an explicit snapshot (Device contract), or the one taken before the first write. */
  async restore(snapshot?: DeviceSnapshot): Promise<void> {
    const snap = snapshot ?? this.taken;
    if (!snap) return;
    await restoreAndVerify(this.inner, snap);
    if (!snapshot || snapshot === this.taken) {
      this.taken = undefined;
      this.persisting = undefined;
      await removeSnapshotFile(this.file);
    }
  }

  /** Restore what was there before the run, logging it. Safe to call more than once. */
  async restoreOriginal(reason: string): Promise<void> {
    if (!this.taken) return;
    this.log(`restoring ${this.id} clocks (${reason})`);
    await this.restore();
  }

  /** Restore what was there before the run, then close the device (even when restoring failed). */
  async close(reason = 'close'): Promise<void> {
    try {
      await this.restoreOriginal(reason);
    } finally {
      await this.inner.close();
    }
  }
}

export function guardDevice(device: Device, opts: GuardOptions = {}): GuardedDevice {
  return device instanceof GuardedDevice ? device : new GuardedDevice(device, opts);
}

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Restore the device on SIGINT, SIGTERM, an uncaught error and at the end of the event loop.
 * Returns a function that removes the handlers. (A hard kill cannot be caught: `polythrottle
 * restore` puts the device back from the snapshot file.)
 */
export function installRestoreHandlers(guard: GuardedDevice, opts: { log?: (line: string) => void } = {}): () => void {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let restoring: Promise<void> | undefined;
  const restoreOnce = (why: string) => {
    restoring ??= guard.restoreOriginal(why).catch((e: unknown) => {
      log(`error: could not restore ${guard.id}: ${(e as Error).message}`);
      log(`hint: run \`polythrottle restore --snapshot ${guard.file}\``);
      process.exitCode = 4;
    });
    return restoring;
  };
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => () => {
    void restoreOnce(sig).then(() => process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : SIGNAL_EXIT[sig]));
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  const onFatal = (e: unknown) => {
    log(`error: ${(e as Error)?.stack ?? String(e)}`);
    void restoreOnce('uncaught error').then(() => process.exit(1));
  };
  const onBeforeExit = () => {
    if (guard.armed) void restoreOnce('exit');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  process.on('beforeExit', onBeforeExit);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    process.off('beforeExit', onBeforeExit);
  };
}

/**
 * Run `fn` with a guarded device: snapshot before the first write, restore when `fn` returns or
 * throws, and on SIGINT / SIGTERM / uncaught errors meanwhile.
 */
export async function withDeviceGuard<T>(device: Device, fn: (device: GuardedDevice) => Promise<T>, opts: GuardOptions = {}): Promise<T> {
  const guard = guardDevice(device, opts);
  const uninstall = installRestoreHandlers(guard, opts.log ? { log: opts.log } : {});
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let result: T;
  try {
    result = await fn(guard);
  } catch (runError) {
    // The run's own error is the one to report; a failed restore is logged beside it.
    await guard.restoreOriginal('run failed').catch((e: unknown) => {
      log(`error: could not restore ${guard.id}: ${(e as Error).message} (run \`polythrottle restore --snapshot ${guard.file}\`)`);
    });
    uninstall();
    throw runError;
  }
  try {
    await guard.restoreOriginal('end of run');
  } finally {
    uninstall();
  }
  return result;
}

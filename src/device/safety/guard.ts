import type { Device, DeviceSnapshot, FrequencyConfig } from '../../core/device.ts';
import { PolyThrottleError, isPolyThrottleError } from '../../core/errors.ts';
import { openedWith } from '../opened.ts';
import { type HeldLock, acquireLock, lockPathFor, pidAlive } from './owner-lock.ts';
import { restoreFromSnapshotFiles } from './restore-file.ts';
import { restoreAndVerify } from './restore-verify.ts';
import { type SnapshotFile, defaultSnapshotPath, readSnapshotFile, removeSnapshotFile, writeSnapshotFile } from './snapshot-file.ts';

export { restoreAndVerify, snapshotDiff } from './restore-verify.ts';

export interface GuardOptions {
  /** Snapshot file (default: one per device in the state directory). The device's lock goes beside it. */
  readonly file?: string;
  /** Report lines (restore progress, a lock taken over, an earlier run's clocks put back); stderr by default. */
  readonly log?: (line: string) => void;
}

/**
 * A Device that, before its first write, takes the device's lock (one owner per device), puts back
 * the clocks of an earlier run that was killed before it could (its snapshot file is never
 * overwritten: the oldest snapshot is the truth), snapshots every knob and persists the snapshot;
 * `restore()` puts everything back and lets the lock go. Dry-run devices and the twin write no
 * snapshot file and take no lock.
 */
export class GuardedDevice implements Device {
  readonly id: string;
  readonly kind: Device['kind'];
  readonly file: string;
  private taken: DeviceSnapshot | undefined;
  private persisting: Promise<void> | undefined;
  private lock: HeldLock | undefined;
  /** Applies in flight (settled promises), so that a restore waits for them. */
  private readonly pending = new Set<Promise<void>>();
  /** Set once restoreOriginal began: no write is taken after it. */
  private endReason: string | undefined;
  private restoring: Promise<void> | undefined;
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

  /** The lock file of this device (held from the first write until the clocks are restored). */
  get lockFile(): string {
    return lockPathFor(this.file);
  }

  /** Whether writes go to the device (not a dry run, not the twin): only then is there a lock and a snapshot file. */
  private get writesHardware(): boolean {
    return this.kind !== 'sim' && openedWith(this.inner)?.dryRun !== true;
  }

  /**
   * Take the device's lock now instead of at the first write (a command that will write clocks
   * refuses before it starts its work). No-op on a dry run, on the twin, or when already held.
   */
  async acquire(): Promise<void> {
    if (!this.writesHardware || this.lock) return;
    this.lock = await acquireLock(this.lockFile, { what: this.id, log: this.log });
    try {
      await this.restoreLeftover();
    } catch (e) {
      await this.releaseLock();
      throw e;
    }
  }

  private async releaseLock(): Promise<void> {
    const l = this.lock;
    this.lock = undefined;
    await l?.release();
  }

  /** An earlier run's snapshot that was never restored: put it back first (the oldest snapshot is the truth), or refuse. */
  private async restoreLeftover(): Promise<void> {
    let left: SnapshotFile;
    try {
      left = await readSnapshotFile(this.file);
    } catch (e) {
      if (isPolyThrottleError(e) && e.code === 'NOT_FOUND') return;
      throw new PolyThrottleError('BAD_INPUT', `${(e as Error).message}; it is not overwritten`, {
        hint: `look at it, then run \`polythrottle restore --snapshot ${this.file}\` or remove it`,
        cause: e,
      });
    }
    if (left.pid !== process.pid && pidAlive(left.pid))
      throw new PolyThrottleError('BAD_INPUT', `${this.id} is in use: the run that wrote ${this.file} (pid ${left.pid}) is still running`, {
        hint: 'wait for it to finish, or stop it with Ctrl-C or kill (not kill -9)',
      });
    const n = Object.keys(left.snapshot.values).length;
    this.log(`an earlier run (pid ${left.pid}) left ${left.snapshot.deviceId} changed without restoring it: restoring its snapshot ${this.file} first`);
    const how = openedWith(this.inner);
    try {
      if (left.spec === this.kind && left.root === (how?.root ?? '/') && left.spec !== 'nvidia') {
        await restoreAndVerify(this.inner, left.snapshot);
        await removeSnapshotFile(this.file);
      } else await restoreFromSnapshotFiles({ file: this.file, force: true });
    } catch (e) {
      throw new PolyThrottleError(
        'HARDWARE',
        `could not put back the earlier run's clocks from ${this.file}: ${(e as Error).message}; nothing else was written`,
        {
          hint: `run \`polythrottle restore --snapshot ${this.file}\` (as root), then start again`,
          cause: e,
        },
      );
    }
    this.log(`restored ${left.snapshot.deviceId} (${n} values) from the earlier run's snapshot`);
  }

  private ensureSnapshot(): Promise<void> {
    this.persisting ??= (async () => {
      try {
        if (this.writesHardware) await this.acquire();
        else if (this.kind !== 'sim')
          await readSnapshotFile(this.file).then(
            (s) => this.log(`note: ${this.file} holds clocks an earlier run (pid ${s.pid}) never restored; \`polythrottle restore\` puts them back`),
            () => {},
          );
        const snap = await this.inner.snapshot();
        const how = openedWith(this.inner);
        if (this.writesHardware)
          await writeSnapshotFile(this.file, { format: 'polythrottle-snapshot/1', spec: this.kind, root: how?.root ?? '/', pid: process.pid, snapshot: snap });
        this.taken = snap;
      } catch (e) {
        this.persisting = undefined;
        if (!this.taken) await this.releaseLock();
        throw e;
      }
    })();
    return this.persisting;
  }

  describe = () => this.inner.describe();
  domains = () => this.inner.domains();
  readClocks = () => this.inner.readClocks();
  powerSources = () => this.inner.powerSources();
  snapshot = () => this.inner.snapshot();

  async apply(clocks: FrequencyConfig) {
    // A restore that has begun (a signal, the end of the run) is final: a write after it, or one
    // racing it, would leave the clocks changed with no snapshot left to put them back.
    if (this.endReason !== undefined) throw new PolyThrottleError('INTERNAL', `${this.id} is being restored (${this.endReason}): no more clock changes`);
    const write = (async () => {
      await this.ensureSnapshot();
      return this.inner.apply(clocks);
    })();
    const settled = write.then(
      () => {},
      () => {},
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return write;
  }

  /** Restore an explicit snapshot (Device contract), or the one taken before the first write. */
  async restore(snapshot?: DeviceSnapshot): Promise<void> {
    const snap = snapshot ?? this.taken;
    if (!snap) return;
    const original = !snapshot || snapshot === this.taken;
    try {
      await restoreAndVerify(this.inner, snap);
    } catch (e) {
      // The snapshot file stays and now carries the duty: the next run puts it back before anything
      // else (it refuses while this process lives), or `polythrottle restore` does.
      if (original) await this.releaseLock();
      throw e;
    }
    if (original) {
      this.taken = undefined;
      this.persisting = undefined;
      await removeSnapshotFile(this.file);
      await this.releaseLock();
    }
  }

  /**
   * Restore what was there before the run, logging it, after any apply in flight; from then on the
   * guard refuses writes. Safe to call more than once (and at once: the calls share one restore).
   */
  async restoreOriginal(reason: string): Promise<void> {
    this.endReason ??= reason;
    this.restoring ??= (async () => {
      // Let a write in flight finish first (SIGINT in the middle of an apply), then put everything back.
      await Promise.all([...this.pending]);
      if (!this.taken) return;
      this.log(`restoring ${this.id} clocks (${reason})`);
      await this.restore();
    })().finally(() => {
      this.restoring = undefined;
    });
    return this.restoring;
  }

  /** Restore what was there before the run, then close the device (even when restoring failed). */
  async close(reason = 'close'): Promise<void> {
    try {
      await this.restoreOriginal(reason);
    } finally {
      // A failed restore keeps the snapshot file: the next run (or `restore`) puts it back first.
      await this.releaseLock();
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
  let restoreFailed = false;
  const restoreOnce = (why: string) => {
    restoring ??= guard.restoreOriginal(why).catch((e: unknown) => {
      log(`error: could not restore ${guard.id}: ${(e as Error).message}`);
      log(`hint: run \`polythrottle restore --snapshot ${guard.file}\``);
      restoreFailed = true;
      process.exitCode = 4;
    });
    return restoring;
  };
  // The exit code is the signal's unless the restore failed (a run refused a write meanwhile: not its failure).
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => () => {
    void restoreOnce(sig).then(() => process.exit(restoreFailed ? 4 : SIGNAL_EXIT[sig]));
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

/**
 * One owner per device (DESIGN §5): a lock file naming the process that changes the clocks (PID,
 * the process's start time, the command, since when). A lock whose PID is gone, or whose PID now
 * belongs to a process that started at another time (the PID was reused), is stale and is taken
 * over, saying so. A live one is refused with one line naming the holder.
 */
import { readFileSync, rmSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PolyThrottleError } from '../../core/errors.ts';

export interface LockOwner {
  readonly format: 'polythrottle-lock/1';
  readonly pid: number;
  /** Start time of the process (Linux: clock ticks since boot, /proc/<pid>/stat field 22); null where unknown. */
  readonly startTime: string | null;
  /** What holds it, e.g. "polythrottle tune --device jetson". */
  readonly command: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  /** What the lock guards (a device id, a tuning run). */
  readonly what: string;
}

/** The start time of a process, as the kernel records it (null when it cannot be read: not Linux, or no such process). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields after it start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall = index 19 after pid, comm
  } catch {
    return null;
  }
}

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process that wrote this lock is still the one running under its PID. */
export function ownerAlive(o: Pick<LockOwner, 'pid' | 'startTime'>): boolean {
  if (!pidAlive(o.pid)) return false;
  if (o.startTime === null) return true;
  const now = processStartTime(o.pid);
  return now === null || now === o.startTime;
}

/** The command line of this process, shortened for a message ("polythrottle tune --device jetson …"). */
export function thisCommand(): string {
  const args = process.argv.slice(2).filter((a) => !/\.(ts|js|mjs)$/.test(a) || a.includes(' '));
  const line = `polythrottle ${args.join(' ')}`.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** "polythrottle tune (pid 123, since 2026-12-04 21:09:14 UTC)". */
export function describeOwner(o: LockOwner): string {
  return `${o.command} (pid ${o.pid}, since ${o.since
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC')})`;
}

/** Read a lock file; undefined when there is none, a placeholder owner (pid 0: stale) when it is unreadable. */
export async function readLock(path: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (o.format === 'polythrottle-lock/1' && typeof o.pid === 'number')
      return {
        format: o.format,
        pid: o.pid,
        startTime: typeof o.startTime === 'string' ? o.startTime : null,
        command: String(o.command ?? 'unknown command'),
        since: String(o.since ?? 'unknown time'),
        what: String(o.what ?? ''),
      };
  } catch {
    // a torn or foreign file: nobody can be shown to hold it
  }
  return { format: 'polythrottle-lock/1', pid: 0, startTime: null, command: 'an unreadable lock file', since: 'unknown time', what: '' };
}

export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Remove the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** What the lock guards, for the messages ("jetson:tegra234"). */
  readonly what: string;
  /** Told when a stale lock is taken over. */
  readonly log?: (line: string) => void;
  /** The holder's command (default: this process's command line). */
  readonly command?: string;
  /** The refusal's hint (default: wait or stop the holder). */
  readonly hint?: string;
}

/**
 * Take the lock at `path`, or throw BAD_INPUT (exit 2) naming the live holder. The file is
 * created whole (written to a temp file, then hard-linked into place), so a reader never sees
 * half a lock and two takers never both win.
 */
export async function acquireLock(path: string, opts: AcquireOptions): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true });
  const owner: LockOwner = {
    format: 'polythrottle-lock/1',
    pid: process.pid,
    startTime: processStartTime(process.pid),
    command: opts.command ?? thisCommand(),
    since: new Date().toISOString(),
    what: opts.what,
  };
  const text = `${JSON.stringify(owner, null, 2)}\n`;
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await link(tmp, path);
        return heldLock(path, owner, text);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readLock(path);
      if (!holder) continue; // released meanwhile: try again
      if (holder.pid === process.pid && holder.startTime === owner.startTime)
        throw new PolyThrottleError('BAD_INPUT', `${opts.what} is already in use by this process (${describeOwner(holder)})`, {
          hint: 'close the other guard on this device first',
        });
      if (ownerAlive(holder))
        throw new PolyThrottleError('BAD_INPUT', `${opts.what} is in use by ${describeOwner(holder)}`, {
          hint: opts.hint ?? `wait for it to finish, or stop it with Ctrl-C or \`kill ${holder.pid}\` (it restores the clocks it changed)`,
        });
      // Stale: move it aside under a name of our own (only one taker's rename succeeds), then retry.
      const aside = `${path}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
      try {
        await rename(path, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = await readLock(aside);
      if (moved && moved.pid !== holder.pid && ownerAlive(moved)) {
        // A live owner took it between our read and our rename: put theirs back.
        await link(aside, path).catch(() => {});
        await rm(aside, { force: true });
        continue;
      }
      await rm(aside, { force: true });
      opts.log?.(
        `taking over the lock on ${opts.what} from ${describeOwner(holder)}: ${holder.pid === 0 ? 'the lock file was unreadable' : 'that process is gone'}`,
      );
    }
    throw new PolyThrottleError('INTERNAL', `could not take the lock ${path} (it kept changing hands)`);
  } finally {
    await rm(tmp, { force: true });
  }
}

function heldLock(path: string, owner: LockOwner, text: string): HeldLock {
  let released = false;
  // A process that exits without releasing (process.exit after a signal's restore) lets it go on the way out.
  const onExit = () => {
    try {
      if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
    } catch {
      // gone already
    }
  };
  process.on('exit', onExit);
  return {
    path,
    owner,
    async release() {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      // Only remove the file when it is still ours (a --force elsewhere may have replaced it).
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now === text) await rm(path, { force: true });
    },
  };
}

/** Remove a lock whose holder is gone; returns the stale owner (undefined when there was none or it is alive). */
export async function removeStaleLock(path: string): Promise<LockOwner | undefined> {
  const holder = await readLock(path);
  if (!holder || ownerAlive(holder)) return undefined;
  await rm(path, { force: true });
  return holder;
}

/** The lock file that goes with a snapshot file: `snapshot-<device>.json` → `snapshot-<device>.lock`. */
export function lockPathFor(snapshotFile: string): string {
  return `${snapshotFile.replace(/\.json$/, '')}.lock`;
}

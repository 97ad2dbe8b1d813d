/**
 * One owner per device (DESIGN §5): a lock file naming the process that changes the clocks (PID,
 * the process's start time, the command, since when). A lock whose PID is gone, or whose PID now
 * belongs to a process that started at another time (the PID was reused), is stale and is taken
 * over, saying so. A live one is refused with one line naming the holder.
 */
import { readFileSync, rmSync } from 'node:fs';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
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
  // argv: node, the script (bin/polythrottle or src/cli/main.ts), then the command and its flags
  const line = `polythrottle ${process.argv.slice(2).join(' ')}`.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** "polythrottle tune (pid 123, since 2026-12-04 21:09:14 UTC)". */
export function describeOwner(o: LockOwner): string {
  return `${o.command} (pid ${o.pid}, since ${o.since
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC')})`;
}

/** Parse a lock file's text; a placeholder owner (pid 0: stale) when it is unreadable. */
function parseLock(text: string): LockOwner {
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

async function readLockText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Read a lock file; undefined when there is none, a placeholder owner (pid 0: stale) when it is unreadable. */
export async function readLock(path: string): Promise<LockOwner | undefined> {
  const text = await readLockText(path);
  return text === undefined ? undefined : parseLock(text);
}

/** A takeover mutex older than this was left by a process killed mid-takeover. */
const TAKEOVER_STALE_MS = 5000;

/**
 * Remove the lock file if it still holds exactly `staleText`. Takers serialise on a second file
 * (`<lock>.takeover`, created exclusively), so two of them never both remove a lock and then both
 * think they took it: a lock is only created by an exclusive link, and only removed here (stale)
 * or by its live owner. Returns false when another taker is busy (try again).
 */
async function removeIfUnchanged(path: string, staleText: string): Promise<boolean> {
  const mutex = `${path}.takeover`;
  try {
    await writeFile(mutex, `${process.pid}\n`, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await stat(mutex).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) await rm(mutex, { force: true });
    return false;
  }
  try {
    if ((await readLockText(path)) === staleText) await rm(path, { force: true });
    return true;
  } finally {
    await rm(mutex, { force: true });
  }
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
    let staleHolder: LockOwner | undefined;
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await link(tmp, path);
        if (staleHolder)
          opts.log?.(
            `taking over the lock on ${opts.what} from ${describeOwner(staleHolder)}: ${staleHolder.pid === 0 ? 'the lock file was unreadable' : 'that process is gone'}`,
          );
        return heldLock(path, owner, text);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const found = await readLockText(path);
      if (found === undefined) continue; // released meanwhile: try again
      const holder = parseLock(found);
      if (holder.pid === process.pid && holder.startTime === owner.startTime)
        throw new PolyThrottleError('BAD_INPUT', `${opts.what} is already in use by this process (${describeOwner(holder)})`, {
          hint: 'close the other guard on this device first',
        });
      if (ownerAlive(holder))
        throw new PolyThrottleError('BAD_INPUT', `${opts.what} is in use by ${describeOwner(holder)}`, {
          hint: opts.hint ?? `wait for it to finish, or stop it with Ctrl-C or \`kill ${holder.pid}\` (it restores the clocks it changed)`,
        });
      staleHolder = holder;
      if (!(await removeIfUnchanged(path, found))) await sleep(5 + Math.random() * 10);
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
  for (let attempt = 0; attempt < 200; attempt++) {
    const text = await readLockText(path);
    if (text === undefined) return undefined;
    const holder = parseLock(text);
    if (ownerAlive(holder)) return undefined;
    if (await removeIfUnchanged(path, text)) return holder;
    await sleep(5 + Math.random() * 10);
  }
  return undefined;
}

/** The lock file that goes with a snapshot file: `snapshot-<device>.json` → `snapshot-<device>.lock`. */
export function lockPathFor(snapshotFile: string): string {
  return `${snapshotFile.replace(/\.json$/, '')}.lock`;
}

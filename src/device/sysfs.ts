import { constants } from 'node:fs';
import { access, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { PolyThrottleError } from '../core/errors.ts';

/**
 * File access below a root directory ('/' on a real machine, a fake tree in tests). Every path a
 * backend passes is relative to the root ("sys/class/devfreq"), so the same code runs on both.
 */
export interface SysfsIo {
  readonly root: string;
  /** The file's text as the kernel returns it (untrimmed). Throws the OS error (code EACCES, ENOENT…). */
  read(rel: string): Promise<string>;
  /** Write one value, the way `echo value > file` does. Throws the OS error (EINVAL, EACCES…). */
  write(rel: string, value: string): Promise<void>;
  exists(rel: string): Promise<boolean>;
  list(rel: string): Promise<string[]>;
  /** The path with symlinks resolved, relative to the root. */
  resolve(rel: string): Promise<string>;
  /** Whether the current user may write the file (access(W_OK)). */
  writable(rel: string): Promise<boolean>;
}

/** Plain file-system access under `root`. */
export class FsSysfsIo implements SysfsIo {
  readonly root: string;
  constructor(root = '/') {
    this.root = root;
  }
  abs(rel: string): string {
    return join(this.root, rel);
  }
  read(rel: string): Promise<string> {
    return readFile(this.abs(rel), 'utf8');
  }
  async write(rel: string, value: string): Promise<void> {
    // Never create a file: a knob that is not there is an error, as it is on sysfs.
    await access(this.abs(rel), constants.F_OK);
    // One write() per value with a trailing newline, as `echo value > file` does (O_TRUNC is a no-op on sysfs).
    await writeFile(this.abs(rel), `${value}\n`);
  }
  async exists(rel: string): Promise<boolean> {
    try {
      await access(this.abs(rel), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }
  async list(rel: string): Promise<string[]> {
    try {
      return (await readdir(this.abs(rel))).sort();
    } catch {
      return [];
    }
  }
  async resolve(rel: string): Promise<string> {
    const real = await realpath(this.abs(rel));
    const rootReal = await realpath(this.root);
    const r = relative(rootReal, real);
    if (r.startsWith('..') || isAbsolute(r)) return rel;
    return r.split(sep).join('/');
  }
  async writable(rel: string): Promise<boolean> {
    try {
      await access(this.abs(rel), constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
}

/** One write a backend made (or, in dry-run mode, would have made). */
export interface WriteRecord {
  readonly path: string;
  readonly value: string;
}

/**
 * Dry-run: reads go to the real files, writes are printed (and remembered, so that a read-back sees
 * the value that would have been written) instead of being done.
 */
export class DryRunIo implements SysfsIo {
  readonly root: string;
  readonly writes: WriteRecord[] = [];
  private readonly overlay = new Map<string, string>();
  constructor(
    private readonly inner: SysfsIo,
    private readonly print: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {
    this.root = inner.root;
  }
  read(rel: string): Promise<string> {
    const v = this.overlay.get(rel);
    return v === undefined ? this.inner.read(rel) : Promise.resolve(`${v}\n`);
  }
  async write(rel: string, value: string): Promise<void> {
    this.writes.push({ path: rel, value });
    this.overlay.set(rel, value);
    this.print(`dry-run: would write ${JSON.stringify(value)} to ${join(this.root, rel)}`);
  }
  exists(rel: string): Promise<boolean> {
    return this.inner.exists(rel);
  }
  list(rel: string): Promise<string[]> {
    return this.inner.list(rel);
  }
  resolve(rel: string): Promise<string> {
    return this.inner.resolve(rel);
  }
  /** Whether a real run could write it (a dry run itself writes nothing). */
  writable(rel: string): Promise<boolean> {
    return this.inner.writable(rel);
  }
}

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Read a file and trim it; NUL bytes (device-tree strings) become spaces. */
export async function readText(io: SysfsIo, rel: string): Promise<string> {
  return (await io.read(rel)).replace(/\0/g, ' ').trim();
}

/** Read a file, or undefined when it is missing or unreadable. */
export async function tryReadText(io: SysfsIo, rel: string): Promise<string | undefined> {
  try {
    return await readText(io, rel);
  } catch {
    return undefined;
  }
}

export async function readNumber(io: SysfsIo, rel: string): Promise<number> {
  const t = await readText(io, rel);
  const n = Number(t);
  if (t === '' || !Number.isFinite(n)) throw new PolyThrottleError('HARDWARE', `${join(io.root, rel)} holds "${t}", not a number`);
  return n;
}

export async function tryReadNumber(io: SysfsIo, rel: string): Promise<number | undefined> {
  try {
    return await readNumber(io, rel);
  } catch {
    return undefined;
  }
}

/** Whitespace-separated numbers, ascending and de-duplicated. */
export function parseNumberList(text: string): number[] {
  const xs = text
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
  return [...new Set(xs)].sort((a, b) => a - b);
}

/** The only files a backend may ever write (DESIGN §5: never write outside the known knob files). */
export const KNOB_FILE_NAMES: ReadonlySet<string> = new Set([
  'min_freq',
  'max_freq',
  'scaling_min_freq',
  'scaling_max_freq',
  'mrq_rate_locked',
  'rate',
  'state',
  'bwmgr_halt',
  'clk_update_rate',
  'clk_state',
  'railgate_enable',
]);

/**
 * Write a knob file, turning OS errors into one clear line that names the file and what to do.
 * EINVAL means the kernel refused the value; the caller decides whether that is fatal.
 */
export async function writeKnob(io: SysfsIo, rel: string, value: string | number): Promise<void> {
  const file = join(io.root, rel);
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (!KNOB_FILE_NAMES.has(name)) throw new PolyThrottleError('INTERNAL', `refusing to write ${file}: not a known knob file`);
  try {
    await io.write(rel, String(value));
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new PolyThrottleError('PERMISSION', `cannot write ${file}: permission denied`, {
        hint: 'clock changes need root: run with sudo, or add --dry-run to print the writes instead',
        cause: e,
      });
    if (code === 'ENOENT') throw new PolyThrottleError('HARDWARE', `cannot write ${file}: the file does not exist`, { cause: e });
    if (code === 'EINVAL')
      throw new PolyThrottleError('HARDWARE', `the kernel refused ${JSON.stringify(String(value))} for ${file} (EINVAL)`, {
        cause: e,
      });
    throw new PolyThrottleError('HARDWARE', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** The table value nearest to `v` (ties go down). */
export function nearest(table: readonly number[], v: number): number | undefined {
  let best: number | undefined;
  for (const t of table) if (best === undefined || Math.abs(t - v) < Math.abs(best - v)) best = t;
  return best;
}

import { DryRunIo, FsSysfsIo, type SysfsIo } from './sysfs.ts';

/** Options every real backend takes. */
export interface BackendOptions {
  /** Root of the file tree ('/' on the machine itself; a fake tree in tests). */
  readonly root?: string;
  /** Print each write instead of doing it. */
  readonly dryRun?: boolean;
  /** Where dry-run lines go (stderr by default). */
  readonly print?: (line: string) => void;
  /** Use this file access instead of the plain file system (tests inject a fake kernel here). */
  readonly io?: SysfsIo;
}

export function openSysfsIo(opts: BackendOptions): SysfsIo {
  const base = opts.io ?? new FsSysfsIo(opts.root ?? '/');
  return opts.dryRun ? new DryRunIo(base, opts.print) : base;
}

import { type ChildProcess, spawn } from 'node:child_process';
import { z } from 'zod';

/**
 * A fine-tuning command from the server's configuration file. Only these can run: the HTTP API
 * names a command, it never sends one.
 */
export const commandSpecSchema = z
  .object({
    argv: z.array(z.string().min(1)).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** Model being fine-tuned (zoo name): the predictor's step features. */
    model: z.string().min(1),
    microBatch: z.number().int().positive(),
  })
  .strict();
export type CommandSpec = z.infer<typeof commandSpecSchema>;

export const commandsSchema = z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'command names are letters, digits, . _ -'), commandSpecSchema);

export interface CommandExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One external training process, run only in the gaps between inference batches: it is spawned in
 * its own process group and stopped at once (SIGSTOP), resumed (SIGCONT) for a time slice when the
 * scheduler grants one, and stopped again before the next batch. Its exit is reported with the
 * status (or the signal) it died of.
 */
export class CommandProcess {
  readonly pid: number;
  private readonly child: ChildProcess;
  private running = false;
  private exited: CommandExit | undefined;
  private readonly exitWaiters: ((e: CommandExit) => void)[] = [];
  readonly output: string[] = [];

  /** Throws when the program cannot be started (not found, not executable). */
  constructor(spec: CommandSpec, onExit: (e: CommandExit) => void) {
    this.child = spawn(spec.argv[0]!, spec.argv.slice(1), {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    this.child.on('error', (e) => {
      spawnError = e;
    });
    if (this.child.pid === undefined) throw new Error(`could not start ${spec.argv[0]}${spawnError ? `: ${spawnError.message}` : ''}`);
    this.pid = this.child.pid;
    const keep = (b: Buffer) => {
      this.output.push(...b.toString().split('\n').filter(Boolean));
      if (this.output.length > 50) this.output.splice(0, this.output.length - 50);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.signal('SIGSTOP');
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.running = false;
      for (const w of this.exitWaiters.splice(0)) w(this.exited);
      onExit(this.exited);
    });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }
  get isRunning(): boolean {
    return this.running;
  }

  resume(): void {
    if (!this.alive || this.running) return;
    this.signal('SIGCONT');
    this.running = true;
  }

  pause(): void {
    if (!this.alive || !this.running) return;
    this.signal('SIGSTOP');
    this.running = false;
  }

  /** Run for `ms` and stop again; resolves with the time it actually ran (less if it exited). */
  async slice(ms: number): Promise<number> {
    const t0 = performance.now();
    this.resume();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms));
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.pause();
    return performance.now() - t0;
  }

  /** Terminate the process group (SIGTERM, then SIGKILL after `graceMs`). */
  async terminate(graceMs = 2000): Promise<CommandExit> {
    if (this.exited) return this.exited;
    const done = new Promise<CommandExit>((resolve) => this.exitWaiters.push(resolve));
    this.signal('SIGTERM');
    this.signal('SIGCONT'); // a stopped process only acts on SIGTERM once continued
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await done;
    clearTimeout(timer);
    return e;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      // The group is gone: the exit event reports it.
    }
  }
}

/** Exit status as the job records it: the code, or the signal's name. */
export function exitStatusOf(e: CommandExit): number | string {
  return e.code ?? e.signal ?? 'unknown';
}

/**
 * `command` workload runner: any benchmark program (trtexec on a TensorRT engine, a vendor tool, a
 * script) run once per measurement. The command line is a template (`{batch}`, `{model}`,
 * `{duration}` …). Latency comes from the program's output through a pattern, one sample per
 * matching line; without a pattern each run of the program is one batch and its wall time is the
 * latency. A non-zero exit fails the run with the program's last lines.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { badInput } from '../core/errors.ts';
import { checkRunRequest } from './backend-runner.ts';
import { ErrorTally, type RunRequest, type RunResult, type WorkloadRunner } from './runner.ts';

export type LatencyUnit = 'us' | 'ms' | 's';

export interface CommandRunnerOptions {
  /** Command line template, run by /bin/sh. */
  readonly command: string;
  /** Values for the template's own placeholders (e.g. { model: 'engine.plan' }). */
  readonly vars?: Readonly<Record<string, string | number>>;
  /**
   * Regular expression matched against each output line (stdout and stderr); the named group
   * `latency` or else the first group is one latency sample. Absent: wall time per run.
   */
  readonly latencyPattern?: string;
  readonly latencyUnit?: LatencyUnit;
  /** Batches each matching line stands for (e.g. 10 for trtexec's "Average on 10 runs"; default 1). */
  readonly batchesPerMatch?: number;
  /** Kill the program after this many seconds (default: 120 s beyond the requested duration). */
  readonly timeoutS?: number;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Placeholders filled by the runner itself. */
export const COMMAND_PLACEHOLDERS = ['batch', 'duration', 'durationMs', 'batches', 'concurrency'] as const;

const UNIT_MS: Record<LatencyUnit, number> = { us: 1e-3, ms: 1, s: 1000 };

/** Quotes a value for /bin/sh unless it is plainly safe. */
export function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Fills `{name}` placeholders; an unknown placeholder is an error naming the known ones. Shell
 * parameter expansions (`${HOME}`) are left to the shell.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/(?<!\$)\{(\w+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined)
      throw badInput(
        `the command template uses {${name}}, which has no value`,
        `known placeholders: ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(' ')}`,
      );
    return shellQuote(String(v));
  });
}

/** Compiles the latency pattern; it must have a capture group. */
export function compileLatencyPattern(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw badInput(`the latency pattern is not a valid regular expression: ${(e as Error).message}`);
  }
  const groups = new RegExp(`${pattern}|`).exec('')!.length - 1;
  if (groups < 1) throw badInput(`the latency pattern /${pattern}/ has no capture group for the number`, 'e.g. "latency: ([0-9.]+) ms"');
  return re;
}

interface ProgramRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly lastLines: readonly string[];
  readonly wallMs: number;
}

export class CommandRunner implements WorkloadRunner {
  readonly kind = 'command';
  readonly description: string;
  private readonly pattern: RegExp | undefined;
  private readonly unitMs: number;
  private readonly batchesPerMatch: number;
  private readonly children = new Set<number>();

  constructor(private readonly o: CommandRunnerOptions) {
    if (!o.command.trim()) throw badInput('the command is empty');
    this.pattern = o.latencyPattern === undefined ? undefined : compileLatencyPattern(o.latencyPattern);
    this.unitMs = UNIT_MS[o.latencyUnit ?? 'ms'];
    if (!this.unitMs) throw badInput(`latency unit must be us, ms or s, got ${o.latencyUnit}`);
    this.batchesPerMatch = o.batchesPerMatch ?? 1;
    if (!(this.batchesPerMatch > 0)) throw badInput(`batches per match must be positive, got ${o.batchesPerMatch}`);
    if (o.timeoutS !== undefined && !(o.timeoutS > 0)) throw badInput(`timeout must be positive, got ${o.timeoutS}`);
    // Fail on a bad template now, not at the first trial.
    this.commandLine({ batch: 1, length: { durationS: 1 } });
    this.description = `command ${o.command}${this.pattern ? ` · latency /${o.latencyPattern}/` : ' · wall time per run'}`;
  }

  /** Mean batch latency of the last run that measured one, ms: how long a count of batches takes. */
  private lastBatchMs: number | undefined;

  private commandLine(req: RunRequest): string {
    const batches = 'batches' in req.length ? req.length.batches : undefined;
    // A count of batches (the warm-up, a probe) still fills {duration} and {durationMs}, as a timed
    // run does: the time the count is expected to take at the last measured batch latency, at
    // least 1 s (an empty value would break the program's flag, e.g. trtexec --duration=).
    const durationS = this.programS(req);
    return fillTemplate(this.o.command, {
      ...this.o.vars,
      batch: req.batch,
      duration: Math.max(1, Math.ceil(durationS)),
      durationMs: Math.round(durationS * 1000),
      batches: batches ?? '',
      concurrency: req.concurrency ?? 1,
    });
  }

  /** How long the program is asked to run, s: the window, or the time a count of batches is expected to take (≥ 1 s). */
  private programS(req: RunRequest): number {
    return 'durationS' in req.length ? req.length.durationS : Math.max(1, (req.length.batches * (this.lastBatchMs ?? 0)) / 1000);
  }

  private remember(latencies: readonly number[]): void {
    if (latencies.length > 0) this.lastBatchMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  }

  /** Runs the program once, feeding each output line to `onLine`. */
  private exec(cmd: string, timeoutS: number, onLine: (line: string, at: number) => void, signal?: AbortSignal): Promise<ProgramRun> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn('/bin/sh', ['-c', cmd], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout kills the program's children too
        ...(this.o.cwd === undefined ? {} : { cwd: this.o.cwd }),
        env: { ...process.env, ...this.o.env },
      });
      const pid = child.pid;
      if (pid !== undefined) this.children.add(pid);
      const last: string[] = [];
      let timedOut = false;
      const killGroup = (sig: NodeJS.Signals) => {
        if (pid === undefined) return;
        try {
          process.kill(-pid, sig);
        } catch {
          // already gone
        }
      };
      const stop = () => {
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), 2000).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutS * 1000);
      signal?.addEventListener('abort', stop, { once: true });
      const feed = (stream: NodeJS.ReadableStream) => {
        let buf = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          buf += chunk;
          let i = buf.indexOf('\n');
          while (i >= 0) {
            const line = buf.slice(0, i).replace(/\r$/, '');
            buf = buf.slice(i + 1);
            last.push(line);
            if (last.length > 20) last.shift();
            onLine(line, performance.now());
            i = buf.indexOf('\n');
          }
        });
        stream.on('end', () => {
          if (buf) {
            last.push(buf);
            if (last.length > 20) last.shift();
            onLine(buf, performance.now());
          }
        });
      };
      feed(child.stdout);
      feed(child.stderr);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(badInput(`cannot start /bin/sh for the command: ${e.message}`));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        if (pid !== undefined) this.children.delete(pid);
        resolve({ code, signal: sig, timedOut, lastLines: last.filter((l) => l.trim()).slice(-5), wallMs: performance.now() - t0 });
      });
    });
  }

  private failure(run: ProgramRun, timeoutS: number): string | undefined {
    const tail = run.lastLines.length ? `; last lines:\n${run.lastLines.join('\n')}` : ' (no output)';
    if (run.timedOut) return `the command was killed after the ${timeoutS} s timeout${tail}`;
    if (run.code !== 0) return `the command exited with ${run.code === null ? `signal ${run.signal}` : `code ${run.code}`}${tail}`;
    return undefined;
  }

  async run(req: RunRequest): Promise<RunResult> {
    checkRunRequest(req);
    const cmd = this.commandLine(req);
    const durationS = 'durationS' in req.length ? req.length.durationS : undefined;
    const timeoutS = this.o.timeoutS ?? this.programS(req) + 120;
    const errors = new ErrorTally();
    const latencies: number[] = [];
    if (this.pattern) {
      const re = this.pattern;
      let first: number | undefined;
      let lastAt = 0;
      let matches = 0;
      const run = await this.exec(
        cmd,
        timeoutS,
        (line, at) => {
          const m = re.exec(line);
          if (!m) return;
          const raw = m.groups?.latency ?? m[1];
          const v = raw === undefined ? Number.NaN : Number.parseFloat(raw);
          if (!Number.isFinite(v)) return;
          latencies.push(v * this.unitMs);
          matches++;
          lastAt = at;
          if (first === undefined) {
            first = at;
            req.onStart?.();
          }
        },
        req.signal,
      );
      const failed = this.failure(run, timeoutS);
      if (!failed) this.remember(latencies);
      if (failed) errors.add(failed);
      else if (matches === 0)
        errors.add(
          `the command printed no line matching /${this.pattern.source}/${run.lastLines.length ? `; last lines:\n${run.lastLines.join('\n')}` : ' (no output)'}`,
        );
      // The measured part runs from the first matching line to the last; the batch behind the first
      // line ran before it, so it is not counted in `served` (its latency still is a sample).
      const servedBatches = Math.max(0, matches - 1) * this.batchesPerMatch;
      return {
        batch: req.batch,
        batchLatenciesMs: failed ? [] : latencies,
        served: failed ? 0 : Math.round(servedBatches * req.batch),
        errors: errors.count,
        errorReasons: errors.reasons,
        wallS: first === undefined ? run.wallMs / 1000 : (lastAt - first) / 1000,
      };
    }
    // Wall time per run: the program is one batch; repeat it for the window or the count.
    const limit = 'batches' in req.length ? req.length.batches : Number.POSITIVE_INFINITY;
    req.onStart?.();
    const t0 = performance.now();
    const deadline = durationS === undefined ? Number.POSITIVE_INFINITY : t0 + durationS * 1000;
    while (latencies.length < limit && performance.now() < deadline && !req.signal?.aborted) {
      const run = await this.exec(cmd, timeoutS, () => {}, req.signal);
      const failed = this.failure(run, timeoutS);
      if (failed) {
        errors.add(failed);
        break;
      }
      latencies.push(run.wallMs);
    }
    if (!errors.count) this.remember(latencies);
    return {
      batch: req.batch,
      batchLatenciesMs: errors.count ? [] : latencies,
      served: errors.count ? 0 : latencies.length * req.batch,
      errors: errors.count,
      errorReasons: errors.reasons,
      wallS: (performance.now() - t0) / 1000,
    };
  }

  /** Kills any program still running (their whole process groups). */
  async close(): Promise<void> {
    for (const pid of this.children) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.children.clear();
  }
}

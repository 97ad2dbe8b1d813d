import type { Config } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import { type CommandProcess as CommandProcessT, CommandProcess, type CommandSpec, exitStatusOf } from './command-runner.ts';
import type { Job, JobSpec } from './job.ts';
import { FinetuneScheduler, type SchedulerEvent, type SchedulerOptions, type GrantPart, type StepGrant } from './scheduler.ts';

/** What the service needs from the inference server (the dynamic batcher and the serving context). */
export interface ServingHost {
  /** Run `task` while no batch runs; batches wait for it. */
  runWhenIdle(task: () => Promise<void>): Promise<void>;
  /** The device fell idle; `budgetMs` it may be lent for (0 or Infinity when nothing is queued). */
  onIdle(fn: (budgetMs: number) => void): void;
  /** A batch finished. */
  onBatch(fn: (serviceMs: number, requests: number) => void): void;
  /** The SLO was changed (PUT /v1/slo). */
  onSlo(fn: (slo: Slo) => void): void;
  /** Apply a configuration (clocks + batch size) for inference. */
  applyConfig(config: Config): Promise<void>;
  /**
   * Someone else (an operator through PUT /v1/config) changed knobs of the configuration being
   * served (`config`: all of it as read back; `changed`: the knobs set): they become part of the
   * scheduler's base, the configuration it returns to after a job. Not called for `applyConfig`.
   */
  onConfig?(fn: (config: Config, changed: readonly (keyof Config)[]) => void): void;
  /**
   * The scheduler's own decisions (admission, re-admission after a load or SLO change) held the event
   * loop this long: the server counts it as explained host work, not as lag that goes on delaying requests.
   */
  accountWork?(ms: number): void;
}

export interface FinetuneServiceOptions extends Omit<SchedulerOptions, 'onEvent'> {
  readonly host: ServingHost;
  /** Commands from the configuration file, by name. */
  readonly commands?: Readonly<Record<string, CommandSpec>>;
  /** Duration of one simulated step at a configuration (the twin), ms; without it sim jobs are refused. */
  readonly simStepMs?: (config: Config, model: string, microBatch: number, part?: GrantPart) => number;
  /** A gate step not reported done after this long is counted as done, ms (default 60 s). */
  readonly gateStepTimeoutMs?: number;
  readonly onEvent?: (e: SchedulerEvent) => void;
  /** Where errors of background work go (a failed clock switch…). */
  readonly log?: (msg: string) => void;
  /**
   * Re-estimate the arrival rate from the batches served over this window (ms, default 10 s) and tell
   * the scheduler when it moved by more than `loadChangeShare` (default 0.25). 0 disables.
   */
  readonly loadWindowMs?: number;
  readonly loadChangeShare?: number;
}

/**
 * The scheduler wired into a running server: steps run as idle tasks of the batcher (batches wait
 * for a step in flight, as on a time-shared GPU), gate steps are handed to the waiting training
 * loop, command jobs are resumed for a slice, simulated jobs hold the device for the twin's step
 * time; SLO changes re-select the configuration; configuration switches are applied.
 */
export class FinetuneService {
  readonly scheduler: FinetuneScheduler;
  private readonly o: FinetuneServiceOptions;
  private readonly procs = new Map<string, CommandProcessT>();
  private readonly gateDone = new Map<string, (ms: number) => void>();
  private busy = false;
  private closed = false;
  private windowStart: number;
  private windowRequests = 0;

  constructor(o: FinetuneServiceOptions) {
    this.o = o;
    const { host } = o;
    this.windowStart = o.clock();
    this.scheduler = new FinetuneScheduler({
      ...o,
      environment: {
        ...o.environment,
        validate: (spec) => {
          o.environment.validate?.(spec);
          if (spec.kind === 'command' && !o.commands?.[spec.command ?? ''])
            throw new RangeError(
              `no command named '${spec.command}' in the server configuration${o.commands && Object.keys(o.commands).length ? ` (configured: ${Object.keys(o.commands).join(', ')})` : ' (none configured)'}`,
            );
          if (spec.kind === 'sim' && !o.simStepMs) throw new RangeError('simulated jobs need a simulated device (serve --device sim:…)');
        },
      },
      onEvent: (e) => this.onEvent(e),
    });
    host.onIdle(() => this.pump());
    host.onBatch((ms, n) =>
      this.timed(() => {
        this.scheduler.batchDone(ms, n);
        this.trackLoad(n);
      }),
    );
    host.onConfig?.((config, changed) => {
      // Knobs the operator did not touch keep their base value (not a job's switched one).
      const base: Config = { ...this.scheduler.baseConfig };
      for (const k of changed) (base as Record<keyof Config, number | undefined>)[k] = config[k];
      this.timed(() => this.scheduler.setConfig(base));
      this.pump();
    });
    host.onSlo((slo) => {
      if (slo.latencyMs !== this.scheduler.currentSlo.latencyMs || slo.quantile !== this.scheduler.currentSlo.quantile)
        this.timed(() => this.scheduler.setSlo(slo));
      this.pump();
    });
    // A job recovered from the store (running when the server stopped) was admitted again by the
    // scheduler's start: offer it the device now, not at the next batch or submission, which may
    // never come. After the constructor, so the caller has finished wiring.
    setImmediate(() => this.pump());
  }

  /** The configured command's model and micro-batch (defaults for a command job). */
  commandDefaults(name: string): { model: string; microBatch: number } | undefined {
    const c = this.o.commands?.[name];
    return c ? { model: c.model, microBatch: c.microBatch } : undefined;
  }

  /** Run one of the scheduler's decisions and report the event-loop time it took to the host. */
  private timed<T>(f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.o.host.accountWork?.(performance.now() - t0);
    }
  }

  submit(spec: JobSpec): Job {
    const j = this.timed(() => this.scheduler.submit(spec));
    this.pump();
    return j;
  }

  /** Long-poll for a gate step; resolves null after `waitMs` without a grant. */
  async requestStep(jobId: string, waitMs: number): Promise<StepGrant | null> {
    const p = this.scheduler.requestStep(jobId);
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs);
    });
    const r = await Promise.race([p, timeout]);
    clearTimeout(timer);
    if (r === null) {
      this.scheduler.abandonStep(jobId);
      p.catch(() => {});
    }
    return r;
  }

  /** The training loop reports its step's duration. */
  stepDone(jobId: string, durationMs: number): Job {
    const fin = this.gateDone.get(jobId);
    if (!fin) throw new RangeError(`job ${jobId} has no step in flight`);
    this.gateDone.delete(jobId);
    fin(durationMs);
    return this.scheduler.get(jobId)!;
  }

  complete(jobId: string, exitStatus: number | string = 0): Job {
    this.gateDone.get(jobId)?.(0);
    this.gateDone.delete(jobId);
    return this.scheduler.complete(jobId, exitStatus);
  }

  cancel(jobId: string): Job {
    const j = this.timed(() => this.scheduler.cancel(jobId));
    this.pump();
    return j;
  }

  /** Stop every command process (server shutdown); queued jobs stay in the store. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.procs.values()].map((p) => p.terminate()));
  }

  /** Measured arrival rate over the last window; a large move re-takes the fine-tuning decision. */
  private trackLoad(requests: number): void {
    const win = this.o.loadWindowMs ?? 10_000;
    if (!(win > 0)) return;
    this.windowRequests += requests;
    const now = this.o.clock();
    if (now - this.windowStart < win) return;
    const rate = (this.windowRequests * 1000) / (now - this.windowStart);
    this.windowStart = now;
    this.windowRequests = 0;
    const prev = this.scheduler.rateRps;
    if (prev > 0 ? Math.abs(rate - prev) / prev > (this.o.loadChangeShare ?? 0.25) : rate > 0) {
      this.scheduler.setLoad(Number(rate.toPrecision(2)));
      this.pump();
    }
  }

  /** Offer the device to the running job if it is idle-eligible. */
  private pump(): void {
    if (this.busy || this.closed) return;
    const s = this.scheduler;
    if (!s.runningJobId || s.stepInFlight) return;
    const job = s.get(s.runningJobId)!;
    if (job.kind === 'command' && !this.procs.get(job.id)?.alive) return;
    if (job.kind === 'gate' && !s.hasStepRequest(job.id)) return;
    this.busy = true;
    this.o.host
      .runWhenIdle(async () => {
        const grant = s.gap(Number.POSITIVE_INFINITY);
        if (!grant) return;
        await this.runStep(grant);
      })
      .catch((e: unknown) => this.o.log?.(`fine-tuning step failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.busy = false;
        setImmediate(() => this.pump());
      });
  }

  private async runStep(g: StepGrant): Promise<void> {
    const s = this.scheduler;
    if (g.kind === 'sim') {
      const job = s.get(g.jobId)!;
      const ms = this.o.simStepMs!(s.config, job.model, g.microBatch, g.part);
      await new Promise((r) => setTimeout(r, ms));
      this.report(g.jobId, ms);
      return;
    }
    if (g.kind === 'command') {
      const p = this.procs.get(g.jobId);
      if (!p?.alive) return;
      const ran = await p.slice(Math.max(1, g.expectedMs));
      this.report(g.jobId, ran);
      return;
    }
    // Gate: the loop runs its step now; the device stays lent until it reports (or times out).
    const timeoutMs = this.o.gateStepTimeoutMs ?? 60_000;
    const t0 = performance.now();
    const ms = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        this.gateDone.delete(g.jobId);
        this.o.log?.(`job ${g.jobId}: step not reported within ${timeoutMs} ms; counting it as done`);
        resolve(performance.now() - t0);
      }, timeoutMs);
      this.gateDone.set(g.jobId, (d) => {
        clearTimeout(timer);
        resolve(d);
      });
    });
    this.report(g.jobId, ms);
  }

  /** Count a finished step, also when its job was suspended meanwhile; not when it ended. */
  private report(jobId: string, ms: number): void {
    try {
      this.scheduler.stepDone(jobId, ms);
    } catch {
      // The job ended (cancelled, failed) while its step ran.
    }
  }

  private onEvent(e: SchedulerEvent): void {
    try {
      if (e.type === 'job-started' && e.job.kind === 'command') this.ensureProcess(e.job);
      if (e.type === 'job-ended' && e.job.kind === 'command') {
        const p = this.procs.get(e.job.id);
        this.procs.delete(e.job.id);
        if (p?.alive) void p.terminate();
      }
      if (e.type === 'pause') this.procs.get(e.jobId)?.pause();
      if (e.type === 'config-switch')
        this.o.host
          .applyConfig(e.to)
          .catch((err: unknown) => this.o.log?.(`could not switch configuration: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      this.o.onEvent?.(e);
    }
  }

  private ensureProcess(job: Job): void {
    if (this.procs.get(job.id)?.alive) return;
    const spec = this.o.commands?.[job.command ?? ''];
    if (!spec) {
      queueMicrotask(() => this.scheduler.fail(job.id, `command '${job.command}' is no longer in the server configuration`));
      return;
    }
    try {
      const p = new CommandProcess(spec, (exit) => {
        if (this.procs.get(job.id) !== p) return;
        this.procs.delete(job.id);
        this.scheduler.complete(job.id, exitStatusOf(exit));
        this.pump();
      });
      this.procs.set(job.id, p);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      queueMicrotask(() => {
        this.scheduler.fail(job.id, msg);
        this.pump();
      });
    }
  }
}

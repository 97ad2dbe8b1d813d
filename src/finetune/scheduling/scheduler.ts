import { randomUUID } from 'node:crypto';
import { type Config, configKey } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import { type Admission, decideAdmission, type InferenceBaseline } from './admission.ts';
import type { InterferenceFeatures } from '../prediction/features.ts';
import { isTerminal, JOB_KINDS, type Job, type JobSpec } from './job.ts';
import type { JobStore } from './job-store.ts';
import type { LatencyPredictor } from '../prediction/predictor.ts';

/** What the scheduler needs to know about the device and the inference service. */
export interface SchedulerEnvironment {
  /** Inference alone at a configuration, SLO and load. */
  baseline(config: Config, slo: Slo, rateRps: number): InferenceBaseline;
  /** Predictor features: the inference batch at `config` and a step of `model` at `microBatch`. */
  features(config: Config, model: string, microBatch: number): InterferenceFeatures;
  /** Configurations to switch to while a job runs (the profile's Pareto set). */
  candidates(): readonly Config[];
  /** The inference-only configuration for an SLO and load, from stored surrogates (no measurement). */
  selectForSlo(slo: Slo, rateRps: number): Config;
  /** Fit the predictor for a configuration if it has no model yet; false when impossible. */
  ensureModel(config: Config): boolean;
  /** Throws a clear error when a job cannot run here (unknown model, unknown command…). */
  validate?(spec: JobSpec): void;
}

export interface StepGrant {
  readonly jobId: string;
  readonly kind: Job['kind'];
  readonly microBatch: number;
  /** The predictor's expected step duration at the running configuration, ms. */
  readonly expectedMs: number;
  readonly grantedAt: number;
}

export type SchedulerEvent =
  | { readonly type: 'job-started'; readonly t: number; readonly job: Job; readonly admission: Admission & { fits: true } }
  | { readonly type: 'job-waiting'; readonly t: number; readonly job: Job; readonly reason: string }
  | { readonly type: 'job-suspended'; readonly t: number; readonly job: Job; readonly reason: string }
  | { readonly type: 'job-ended'; readonly t: number; readonly job: Job }
  | { readonly type: 'config-switch'; readonly t: number; readonly from: Config; readonly to: Config; readonly reason: string }
  | { readonly type: 'slo-changed'; readonly t: number; readonly slo: Slo; readonly config: Config }
  | { readonly type: 'step-granted'; readonly t: number; readonly grant: StepGrant }
  | { readonly type: 'pause'; readonly t: number; readonly jobId: string };

export interface SchedulerOptions {
  readonly store: JobStore;
  readonly predictor: LatencyPredictor;
  readonly environment: SchedulerEnvironment;
  readonly slo: Slo;
  readonly rateRps: number;
  /**
   * The configuration inference runs at now (the server's: given by the user or the profile's
   * recommendation). The scheduler starts there, leaves it only while a job needs another Pareto
   * configuration, and returns to it after. Default: the environment's choice for the SLO and load.
   */
  readonly initialConfig?: Config;
  /** Milliseconds clock (virtual in replays, `performance.now` in the server). */
  readonly clock: () => number;
  /** Look for a Pareto-set configuration / smaller micro-batch when a job does not fit. Default true. */
  readonly allowSwitch?: boolean;
  /** Try smaller fine-tuning micro-batches when the requested one does not fit. Default true. */
  readonly shrinkMicroBatch?: boolean;
  readonly onEvent?: (e: SchedulerEvent) => void;
  /** Wall-clock timestamps for the store (ISO). Default: now. */
  readonly now?: () => string;
}

interface Running {
  readonly jobId: string;
  readonly admission: Admission & { fits: true };
  readonly features: InterferenceFeatures;
  inFlight?: StepGrant;
  /** Duration of the step that ended last, waiting to be paired with the next batch. */
  pendingStepMs?: number;
  queriesSwitched: number;
}

interface GateWaiter {
  resolve(g: StepGrant): void;
  reject(e: Error): void;
}

/**
 * FIFO fine-tuning scheduler: one job at a time, admitted only when the predicted inference tail
 * latency with its steps interleaved meets the SLO (optionally at a switched Pareto configuration or
 * smaller micro-batch), steps granted only in gaps between inference batches, re-checked when the
 * SLO, the load or the configuration changes. Event-driven with an explicit clock, so the same code
 * runs in the server and in virtual-time replays.
 */
export class FinetuneScheduler {
  private slo: Slo;
  private rate: number;
  private base: Config;
  private active: Config;
  private running: Running | undefined;
  /** The job of the last step granted and not yet reported (survives a suspension). */
  private lastGranted: string | undefined;
  private readonly gateWaiters = new Map<string, GateWaiter>();
  private readonly ids = new Set<string>();
  private readonly o: SchedulerOptions;

  constructor(opts: SchedulerOptions) {
    this.o = opts;
    this.slo = opts.slo;
    this.rate = opts.rateRps;
    this.base = opts.initialConfig ?? opts.environment.selectForSlo(opts.slo, opts.rateRps);
    this.active = this.base;
    this.evaluate('start');
  }

  /** The configuration inference should run at now. */
  get config(): Config {
    return this.active;
  }
  /** The inference-only configuration: the one served when no job needs a switch. */
  get baseConfig(): Config {
    return this.base;
  }
  get currentSlo(): Slo {
    return this.slo;
  }
  get rateRps(): number {
    return this.rate;
  }
  get runningJobId(): string | undefined {
    return this.running?.jobId;
  }
  /** Extra inference energy the running job's switched configuration has cost so far, J. */
  get runningSwitchEnergyJ(): number {
    const r = this.running;
    return r ? r.queriesSwitched * r.admission.extraEnergyPerQueryJ : 0;
  }
  get stepInFlight(): StepGrant | undefined {
    return this.running?.inFlight;
  }

  list(): Job[] {
    return this.o.store.list();
  }
  get(id: string): Job | undefined {
    return this.o.store.get(id);
  }

  submit(spec: JobSpec): Job {
    validateSpec(spec);
    this.o.environment.validate?.(spec);
    let id = randomUUID().slice(0, 8);
    while (this.ids.has(id) || this.o.store.get(id)) id = randomUUID().slice(0, 8);
    this.ids.add(id);
    const job = this.o.store.insert(id, spec, this.stamp());
    this.evaluate('submit');
    return this.o.store.get(job.id)!;
  }

  cancel(id: string): Job {
    const j = this.o.store.get(id);
    if (!j) throw new RangeError(`no fine-tuning job ${id}`);
    if (isTerminal(j.state)) return j;
    if (this.running?.jobId === id) this.finish('cancelled', { reason: 'cancelled by the user' });
    else this.o.store.update(id, { state: 'cancelled', finishedAt: this.stamp(), reason: 'cancelled by the user' });
    this.next(`job ${id} cancelled`);
    return this.o.store.get(id)!;
  }

  // ---- events from the serving side -------------------------------------------------------------

  /** The SLO changed: re-select the inference configuration from the stored surrogates, re-decide. */
  setSlo(slo: Slo): Config {
    if (!(slo.latencyMs > 0) || !(slo.quantile > 0 && slo.quantile < 1)) throw new RangeError(`invalid SLO ${JSON.stringify(slo)}`);
    this.slo = slo;
    this.reselect('SLO changed');
    this.emit({ type: 'slo-changed', t: this.o.clock(), slo, config: this.active });
    return this.active;
  }

  /**
   * The arrival rate changed (requests/s): the fine-tuning decision is re-taken at the new load (a
   * running job may move to another Pareto configuration or be suspended; a waiting one may start).
   * The inference-only configuration stays what the server serves: a measured load estimate is not
   * a reason to override it.
   */
  setLoad(rateRps: number): void {
    if (!(rateRps >= 0)) throw new RangeError(`invalid load ${rateRps}`);
    this.rate = rateRps;
    this.recheck('load changed');
  }

  /** The inference configuration was changed by someone else (an operator, a new profile). */
  setConfig(config: Config): void {
    this.base = config;
    if (this.running) this.suspend('configuration changed');
    this.active = config;
    this.evaluate('config changed');
  }

  /**
   * The device is idle (no batch ready); `gapMs` until the batcher must dispatch (Infinity when the
   * queue is empty), `oldestWaitMs` how long the oldest queued request has waited. Returns a step grant
   * when the running job may take the device now.
   */
  gap(gapMs: number, oldestWaitMs = 0): StepGrant | null {
    const r = this.running;
    if (!r || r.inFlight) return null;
    const job = this.o.store.get(r.jobId)!;
    if (job.kind === 'gate' && !this.gateWaiters.has(job.id)) return null;
    const expectedMs = Math.max(0, r.admission.option.prediction.meanMs - r.admission.option.baseline.serviceMs);
    // Runtime guard: a queued request must still meet the SLO after this step and its batch.
    if (Number.isFinite(gapMs) && oldestWaitMs + r.admission.option.prediction.meanMs > this.slo.latencyMs) return null;
    const grant: StepGrant = { jobId: job.id, kind: job.kind, microBatch: r.admission.option.microBatch, expectedMs, grantedAt: this.o.clock() };
    r.inFlight = grant;
    this.lastGranted = job.id;
    this.emit({ type: 'step-granted', t: grant.grantedAt, grant });
    const w = this.gateWaiters.get(job.id);
    if (w) {
      this.gateWaiters.delete(job.id);
      w.resolve(grant);
    }
    return grant;
  }

  /** A batch is about to run: a preemptible step (a command job) must pause now. */
  preempt(): void {
    const r = this.running;
    if (r?.inFlight && r.inFlight.kind === 'command') this.emit({ type: 'pause', t: this.o.clock(), jobId: r.jobId });
  }

  /** A step (or a command job's time slice) ended after `durationMs`. */
  stepDone(jobId: string, durationMs: number): Job {
    const r = this.running;
    if (!(durationMs >= 0)) throw new RangeError(`step duration must be ≥ 0 ms, got ${durationMs}`);
    if (!r || r.jobId !== jobId || !r.inFlight) {
      // A step granted before the job was suspended still ran: count it.
      const j = this.o.store.get(jobId);
      if (j && j.state === 'queued' && this.lastGranted === jobId) {
        this.lastGranted = undefined;
        return this.o.store.update(jobId, { stepsDone: j.stepsDone + 1 });
      }
      throw new RangeError(`job ${jobId} has no step in flight`);
    }
    this.lastGranted = undefined;
    r.inFlight = undefined;
    r.pendingStepMs = durationMs;
    const job = this.o.store.update(jobId, { stepsDone: this.o.store.get(jobId)!.stepsDone + 1 });
    if (job.steps !== undefined && job.stepsDone >= job.steps) {
      this.finish('done');
      this.next(`job ${jobId} done`);
    }
    return this.o.store.get(jobId)!;
  }

  /**
   * A batch finished after `serviceMs` of service with `queries` requests. The step that ran just
   * before it and this batch form one live co-run observation for the predictor.
   */
  batchDone(serviceMs: number, queries: number): void {
    const r = this.running;
    if (!r) return;
    if (configKey(this.active) !== configKey(this.base)) r.queriesSwitched += queries;
    if (r.pendingStepMs !== undefined) {
      const job = this.o.store.get(r.jobId)!;
      const o = r.admission.option;
      this.o.predictor.observe({ config: o.config, model: job.model, microBatch: o.microBatch, features: r.features }, r.jobId, r.pendingStepMs + serviceMs);
      r.pendingStepMs = undefined;
    }
  }

  /** A job's training loop (gate) or process (command) says it finished. */
  complete(jobId: string, exitStatus: number | string = 0): Job {
    const reason = exitStatus === 0 ? undefined : `process exited with ${typeof exitStatus === 'number' ? `status ${exitStatus}` : `signal ${exitStatus}`}`;
    if (this.running?.jobId !== jobId) {
      const j = this.o.store.get(jobId);
      if (!j) throw new RangeError(`no fine-tuning job ${jobId}`);
      if (isTerminal(j.state)) return j;
      // It ended while suspended or queued (a process that died while stopped).
      return this.o.store.update(jobId, { state: reason ? 'failed' : 'done', finishedAt: this.stamp(), exitStatus, ...(reason ? { reason } : {}) });
    }
    if (reason === undefined) this.finish('done', { exitStatus: 0 });
    else this.finish('failed', { exitStatus, reason });
    this.next(`job ${jobId} ended`);
    return this.o.store.get(jobId)!;
  }

  /** A job failed for a reason other than its exit status (could not spawn, …). */
  fail(jobId: string, reason: string): void {
    if (this.running?.jobId === jobId) {
      this.finish('failed', { reason });
      this.next(`job ${jobId} failed`);
    } else if (!isTerminal(this.o.store.get(jobId)?.state ?? 'done')) this.o.store.update(jobId, { state: 'failed', reason, finishedAt: this.stamp() });
  }

  /** Cooperative gate: resolves when the job may run its next step (after its admission and in a gap). */
  requestStep(jobId: string): Promise<StepGrant> {
    const j = this.o.store.get(jobId);
    if (!j) return Promise.reject(new RangeError(`no fine-tuning job ${jobId}`));
    if (j.kind !== 'gate') return Promise.reject(new RangeError(`job ${jobId} is a ${j.kind} job, not a step gate`));
    if (isTerminal(j.state)) return Promise.reject(new RangeError(`job ${jobId} is ${j.state}`));
    if (this.running?.jobId === jobId && this.running.inFlight)
      return Promise.reject(new RangeError(`job ${jobId} already has a step in flight; report it done first`));
    this.gateWaiters.get(jobId)?.reject(new RangeError('superseded by a newer step request'));
    return new Promise((resolve, reject) => this.gateWaiters.set(jobId, { resolve, reject }));
  }

  /** A gate job's loop is waiting for a step. */
  hasStepRequest(jobId: string): boolean {
    return this.gateWaiters.has(jobId);
  }

  /** Give up a pending gate request (the HTTP client went away). */
  abandonStep(jobId: string): void {
    this.gateWaiters.delete(jobId);
  }

  /** The admission decision the head-of-queue job would get now (for listings and the CLI). */
  probe(jobId: string): Admission {
    const j = this.o.store.get(jobId);
    if (!j) throw new RangeError(`no fine-tuning job ${jobId}`);
    return this.admit(j);
  }

  // ---- internals -------------------------------------------------------------------------------

  private admit(job: Job): Admission {
    const env = this.o.environment;
    return decideAdmission({
      slo: this.slo,
      rateRps: this.rate,
      current: this.base,
      microBatch: job.microBatch,
      predictor: this.o.predictor,
      context: job.id,
      baseline: (c) => env.baseline(c, this.slo, this.rate),
      features: (c, mb) => env.features(c, job.model, mb),
      model: job.model,
      candidates: this.o.allowSwitch === false ? [] : env.candidates(),
      shrinkMicroBatch: this.o.shrinkMicroBatch ?? true,
      ensureModel: (c) => env.ensureModel(c),
    });
  }

  private reselect(why: string): void {
    this.base = this.o.environment.selectForSlo(this.slo, this.rate);
    this.recheck(why);
  }

  /** Re-take the decision at the base configuration: keep, move or suspend the running job; else start the head. */
  private recheck(why: string): void {
    const next = this.base;
    const wasRunning = this.running;
    if (wasRunning) {
      const job = this.o.store.get(wasRunning.jobId)!;
      const a = this.admit(job);
      if (!a.fits) this.suspend(`${why}: ${a.reason}`);
      else if (configKey(a.option.config) !== configKey(wasRunning.admission.option.config) || a.option.microBatch !== wasRunning.admission.option.microBatch) {
        // Keep running, at the configuration that fits now.
        this.running = { ...wasRunning, admission: a, features: this.o.environment.features(a.option.config, job.model, a.option.microBatch) };
        this.o.store.update(job.id, { runMicroBatch: a.option.microBatch });
        this.switchTo(a.option.config, `${why}: job ${job.id} continues here`);
      }
      if (this.running) return;
    }
    this.switchTo(next, why);
    this.evaluate(why);
  }

  private suspend(reason: string): void {
    const r = this.running;
    if (!r) return;
    if (r.inFlight?.kind === 'command') this.emit({ type: 'pause', t: this.o.clock(), jobId: r.jobId });
    this.running = undefined;
    const job = this.o.store.update(r.jobId, { state: 'queued', reason: `suspended: ${reason}` });
    this.o.predictor.forget(r.jobId);
    this.emit({ type: 'job-suspended', t: this.o.clock(), job, reason });
    this.switchTo(this.base, 'fine-tuning suspended');
  }

  private finish(state: 'done' | 'failed' | 'cancelled', extra: { reason?: string; exitStatus?: number | string } = {}): void {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    this.gateWaiters.get(r.jobId)?.reject(new RangeError(`job ${r.jobId} is ${state}`));
    this.gateWaiters.delete(r.jobId);
    const switchEnergyJ = r.queriesSwitched * r.admission.extraEnergyPerQueryJ;
    const job = this.o.store.update(r.jobId, {
      state,
      finishedAt: this.stamp(),
      ...(r.admission.switched ? { switchEnergyJ } : {}),
      // The running note ("running at a switched configuration") no longer applies.
      reason: extra.reason,
      ...(extra.exitStatus === undefined ? {} : { exitStatus: extra.exitStatus }),
    });
    this.o.predictor.forget(r.jobId);
    this.emit({ type: 'job-ended', t: this.o.clock(), job });
  }

  /** After a job ended: start the next one, or go back to the inference-only configuration. */
  private next(why: string): void {
    this.evaluate(why);
    if (!this.running) this.switchTo(this.base, why);
  }

  /** Start the head of the queue if it fits; otherwise record why it waits. */
  private evaluate(why: string): void {
    if (this.running) return;
    const head = this.o.store.list().find((j) => j.state === 'queued' || j.state === 'running');
    if (!head) return;
    const a = this.admit(head);
    if (!a.fits) {
      const reason = `waiting (${why}): ${a.reason}`;
      if (head.reason !== reason) {
        const job = this.o.store.update(head.id, { state: 'queued', reason });
        this.emit({ type: 'job-waiting', t: this.o.clock(), job, reason: a.reason });
      }
      return;
    }
    this.running = {
      jobId: head.id,
      admission: a,
      features: this.o.environment.features(a.option.config, head.model, a.option.microBatch),
      queriesSwitched: 0,
    };
    const job = this.o.store.update(head.id, {
      state: 'running',
      startedAt: head.startedAt ?? this.stamp(),
      runMicroBatch: a.option.microBatch,
      reason: a.switched
        ? `running at a switched configuration (+${(a.extraEnergyPerQueryJ * 1000).toFixed(2)} mJ/query)`
        : a.option.microBatch < head.microBatch
          ? `running with micro-batch ${a.option.microBatch}`
          : undefined,
    });
    if (a.switched) this.switchTo(a.option.config, `job ${head.id} fits only here`);
    this.emit({ type: 'job-started', t: this.o.clock(), job, admission: a });
  }

  private switchTo(config: Config, reason: string): void {
    if (configKey(config) === configKey(this.active)) return;
    const from = this.active;
    this.active = config;
    this.emit({ type: 'config-switch', t: this.o.clock(), from, to: config, reason });
  }

  private emit(e: SchedulerEvent): void {
    this.o.onEvent?.(e);
  }

  private stamp(): string {
    return this.o.now ? this.o.now() : new Date().toISOString();
  }
}

export function validateSpec(spec: JobSpec): void {
  if (!JOB_KINDS.includes(spec.kind)) throw new RangeError(`job kind must be one of ${JOB_KINDS.join(', ')}, got ${String(spec.kind)}`);
  if (!spec.model) throw new RangeError('a job needs the model it fine-tunes (its FLOPs and bytes drive the predictor)');
  if (!(Number.isInteger(spec.microBatch) && spec.microBatch >= 1)) throw new RangeError(`micro-batch must be a positive integer, got ${spec.microBatch}`);
  if (spec.steps !== undefined && !(Number.isInteger(spec.steps) && spec.steps >= 1))
    throw new RangeError(`steps must be a positive integer, got ${spec.steps}`);
  if (spec.kind === 'sim' && spec.steps === undefined) throw new RangeError('a simulated job needs a number of steps');
  if (spec.kind === 'command' && !spec.command) throw new RangeError('a command job names a command from the server configuration file');
  if (spec.kind !== 'command' && spec.command) throw new RangeError('only command jobs take a command name');
}

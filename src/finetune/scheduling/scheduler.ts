import { randomUUID } from 'node:crypto';
import { type Config, configKey } from '../../core/config.ts';
import type { Slo } from '../../core/slo.ts';
import { type Admission, decideAdmission, type InferenceBaseline } from './admission.ts';
import type { InterferenceFeatures } from '../prediction/features.ts';
import { isTerminal, JOB_KINDS, type Job, type JobSpec } from './job.ts';
import type { JobStore } from './job-store.ts';
import type { LatencyPredictor } from '../prediction/predictor.ts';
import { partAt, partsPerStep, type StepGranularity } from './granularity.ts';
import { coRunBoundMs, partMayStart } from './step-guard.ts';

/** What the scheduler needs to know about the device and the inference service. */
export interface SchedulerEnvironment {
  /** Inference alone at a configuration, SLO and load. */
  baseline(config: Config, slo: Slo, rateRps: number): InferenceBaseline;
  /**
   * Predictor features: the inference batch at `config` and a step of `model` at `microBatch` (or one
   * part of it: a 1/`chunks` layer group, with or without the optimizer update).
   */
  features(config: Config, model: string, microBatch: number, part?: { chunks: number; optimizer: boolean }): InterferenceFeatures;
  /** Configurations to switch to while a job runs (the profile's Pareto set). */
  candidates(): readonly Config[];
  /** The inference-only configuration for an SLO and load, from stored surrogates (no measurement). */
  selectForSlo(slo: Slo, rateRps: number): Config;
  /** Fit the predictor for a configuration if it has no model yet; false when impossible. */
  ensureModel(config: Config): boolean;
  /** Throws a clear error when a job cannot run here (unknown model, unknown command…). */
  validate?(spec: JobSpec): void;
}

/** Which part of an optimizer step a grant is (see `StepGranularity`). */
export interface GrantPart {
  /** Part index within the optimizer step, 0-based, of `count`. */
  readonly index: number;
  readonly count: number;
  /** Micro-batch within the step (gradient accumulation), 0-based, of `accumulation`. */
  readonly micro: number;
  readonly accumulation: number;
  /** Layer-group chunk within the micro-batch, 0-based, of `chunks`. */
  readonly chunk: number;
  readonly chunks: number;
  /** Apply (this chunk's share of) the optimizer update after this part. */
  readonly optimizer: boolean;
  /** The optimizer step is complete after this part. */
  readonly last: boolean;
}

export interface StepGrant {
  readonly jobId: string;
  readonly kind: Job['kind'];
  /** Samples of the forward + backward pass this part belongs to. */
  readonly microBatch: number;
  /** The part of the optimizer step to run now (one part = the whole step unless it was shrunk). */
  readonly part: GrantPart;
  /** The predictor's expected step duration at the running configuration, ms. */
  readonly expectedMs: number;
  readonly grantedAt: number;
}

export type SchedulerEvent =
  | { readonly type: 'job-started'; readonly t: number; readonly job: Job; readonly admission: Admission & { fits: true } }
  | { readonly type: 'job-waiting'; readonly t: number; readonly job: Job; readonly reason: string }
  /** A running job continues at another step size or configuration (the load, the SLO or its measured steps changed). */
  | { readonly type: 'job-resized'; readonly t: number; readonly job: Job; readonly admission: Admission & { fits: true } }
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
  /** Features of that part (parts without the optimizer update are shorter). */
  pendingFeatures?: InterferenceFeatures;
  queriesSwitched: number;
  /** Upper bound of the longest part's co-run latency the decision was taken with, ms. */
  admittedUpperMs: number;
}

function granularityKey(g: StepGranularity): string {
  return `${g.microBatch}x${g.accumulation}/${g.chunks}`;
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
  /** The last step part granted and not yet reported (survives a suspension). */
  private lastGranted: StepGrant | undefined;
  /** Parts of the current optimizer step already done, per job (a suspended job resumes mid-step). */
  private readonly progress = new Map<string, { key: string; next: number }>();
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
    const o = r.admission.option;
    const g = o.granularity;
    const prog = this.progress.get(job.id);
    const index = prog && prog.key === granularityKey(g) ? prog.next : 0;
    const at = partAt(g, index);
    // Runtime guard at the live upper bound of the longest part: the oldest queued request (or, with
    // nothing queued, the next arrival) must still meet the SLO after the part and its batch.
    const live = this.livePrediction(r);
    const bound = coRunBoundMs(live, this.slo.quantile);
    if (!partMayStart({ sloMs: this.slo.latencyMs, coRunUpperMs: bound, oldestWaitMs: Number.isFinite(gapMs) ? oldestWaitMs : 0 })) return null;
    const part: GrantPart = {
      index,
      count: partsPerStep(g),
      micro: at.micro,
      accumulation: g.accumulation,
      chunk: at.chunk,
      chunks: g.chunks,
      optimizer: at.optimizer,
      last: at.last,
    };
    const expectedMs = Math.max(0, live.meanMs - o.baseline.serviceMs);
    const grant: StepGrant = { jobId: job.id, kind: job.kind, microBatch: g.microBatch, part, expectedMs, grantedAt: this.o.clock() };
    r.inFlight = grant;
    this.lastGranted = grant;
    this.emit({ type: 'step-granted', t: grant.grantedAt, grant });
    const w = this.gateWaiters.get(job.id);
    if (w) {
      this.gateWaiters.delete(job.id);
      w.resolve(grant);
    }
    return grant;
  }

  /** The predictor's current view (with the job's live residuals) of the running job's longest part beside a batch. */
  private livePrediction(r: Running) {
    const job = this.o.store.get(r.jobId)!;
    const o = r.admission.option;
    const part = { chunks: o.granularity.chunks, optimizer: true };
    return this.o.predictor.predict({ config: o.config, model: job.model, microBatch: o.microBatch, features: r.features, part }, r.jobId);
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
      // A part granted before the job was suspended still ran: count it.
      const j = this.o.store.get(jobId);
      const g = this.lastGranted;
      if (j && j.state === 'queued' && g?.jobId === jobId) {
        this.lastGranted = undefined;
        return this.partDone(jobId, g);
      }
      throw new RangeError(`job ${jobId} has no step in flight`);
    }
    const grant = r.inFlight;
    this.lastGranted = undefined;
    r.inFlight = undefined;
    r.pendingStepMs = durationMs;
    const o = r.admission.option;
    r.pendingFeatures = this.o.environment.features(o.config, this.o.store.get(jobId)!.model, o.microBatch, {
      chunks: grant.part.chunks,
      optimizer: grant.part.optimizer,
    });
    const job = this.partDone(jobId, grant);
    if (job.steps !== undefined && job.stepsDone >= job.steps) {
      this.finish('done');
      this.next(`job ${jobId} done`);
    }
    return this.o.store.get(jobId)!;
  }

  /** Count one part; the job's step count advances when the optimizer step's last part is done. */
  private partDone(jobId: string, grant: StepGrant): Job {
    const p = grant.part;
    if (!p.last) {
      const key = `${grant.microBatch}x${p.accumulation}/${p.chunks}`;
      this.progress.set(jobId, { key, next: p.index + 1 });
      return this.o.store.get(jobId)!;
    }
    this.progress.delete(jobId);
    return this.o.store.update(jobId, { stepsDone: this.o.store.get(jobId)!.stepsDone + 1 });
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
      this.o.predictor.observe(
        { config: o.config, model: job.model, microBatch: o.microBatch, features: r.pendingFeatures ?? r.features },
        r.jobId,
        r.pendingStepMs + serviceMs,
      );
      r.pendingStepMs = undefined;
      r.pendingFeatures = undefined;
      // Parts longer than admission assumed: re-take the decision (a finer step, another configuration, or wait).
      if (coRunBoundMs(this.livePrediction(r), this.slo.quantile) > 1.1 * r.admittedUpperMs) this.recheck(`job ${job.id}'s steps run longer than predicted`);
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
      features: (c, mb, part) => env.features(c, job.model, mb, part),
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
      else {
        const changed =
          configKey(a.option.config) !== configKey(wasRunning.admission.option.config) ||
          granularityKey(a.option.granularity) !== granularityKey(wasRunning.admission.option.granularity);
        // Keep running, at the configuration and step size that fit now.
        this.running = {
          ...wasRunning,
          admission: a,
          admittedUpperMs: a.option.coRunBoundMs,
          features: this.partFeatures(a, job.model),
        };
        if (changed) {
          this.o.store.update(job.id, { runMicroBatch: a.option.microBatch, reason: this.runningNote(a, job) });
          this.emit({ type: 'job-resized', t: this.o.clock(), job: this.o.store.get(job.id)!, admission: a });
          this.switchTo(a.option.config, `${why}: job ${job.id} continues here`);
        }
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
    this.progress.delete(r.jobId);
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
      features: this.partFeatures(a, head.model),
      queriesSwitched: 0,
      admittedUpperMs: a.option.coRunBoundMs,
    };
    const job = this.o.store.update(head.id, {
      state: 'running',
      startedAt: head.startedAt ?? this.stamp(),
      runMicroBatch: a.option.microBatch,
      reason: this.runningNote(a, head),
    });
    if (a.switched) this.switchTo(a.option.config, `job ${head.id} fits only here`);
    this.emit({ type: 'job-started', t: this.o.clock(), job, admission: a });
  }

  /** Features of the running option's longest part (the chunk with the optimizer update). */
  private partFeatures(a: Admission & { fits: true }, model: string): InterferenceFeatures {
    const o = a.option;
    return this.o.environment.features(o.config, model, o.microBatch, { chunks: o.granularity.chunks, optimizer: true });
  }

  /** A running job's note: the step-size decision when the step was shrunk, the switch energy when switched. */
  private runningNote(a: Admission & { fits: true }, job: Job): string | undefined {
    const notes: string[] = [];
    if (a.option.action !== 'whole') notes.push(`running ${a.decision}`);
    else if (a.option.microBatch < job.microBatch) notes.push(`running with micro-batch ${a.option.microBatch}`);
    if (a.switched) notes.push(`running at a switched configuration (+${(a.extraEnergyPerQueryJ * 1000).toFixed(2)} mJ/query)`);
    return notes.length ? notes.join('; ') : undefined;
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

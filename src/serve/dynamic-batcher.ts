/**
 * Dynamic batcher for every model the server hosts. Requests queue per model; one batch runs on
 * the device at a time (edge GPUs time-share); a model's batch is dispatched when it is full, when
 * its oldest request has waited the queue delay (derived from the SLO and the measured service
 * time, see batching-policy.ts), or at once while draining. Among ready models the one whose
 * oldest request arrived first goes next.
 *
 * Hooks for co-located work (the fine-tuning scheduler): `idle` fires when the device falls idle
 * with the time budget it may be lent for without breaking the SLO; `gap` fires when the next
 * batch starts, with the idle gap's length; `runWhenIdle(task)` runs a task while no batch runs
 * (batches wait for it).
 */
import type { InferenceBackend, Tensor } from '../core/inference.ts';
import { latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import { predictedLatencyMs, type QueuedWork, queueDelayMs, retryAfterS } from './batching-policy.ts';
import type { HostCostEstimator } from './host-cost.ts';
import { HttpError, OverloadedError } from './http-error.ts';
import { ServiceTimeEstimator } from './service-time.ts';
import { concatRows, sliceRows } from './tensor-data.ts';

export interface BatchedModel {
  /** Largest batch (rows) dispatched at once: the profile's batch size. */
  readonly maxBatch: number;
  /** Most rows that may wait in this model's queue (hard memory bound). */
  readonly maxQueueRows?: number;
}

export interface DynamicBatcherOptions {
  readonly backend: InferenceBackend;
  readonly models: Readonly<Record<string, BatchedModel>>;
  readonly slo: Slo;
  /** Share of the SLO kept as safety margin (0.1). */
  readonly margin?: number;
  /** Upper bound on the queue delay, ms (none by default: the SLO bounds it). */
  readonly maxQueueDelayMs?: number;
  /** Default hard bound on queued rows per model (1024). */
  readonly maxQueueRows?: number;
  /** Shared service-time estimator (the server seeds it from the profile and the warm-up). */
  readonly serviceTimes?: ServiceTimeEstimator;
  /** Monotonic clock in ms (performance.now). */
  readonly now?: () => number;
  /**
   * Refuse (503) a queued request at dispatch when it has waited so long that its batch cannot
   * finish inside the SLO any more, instead of serving it late (true). Only under contention (more
   * queued than one batch takes), and never when one batch alone exceeds the budget.
   */
  readonly dropLate?: boolean;
  /**
   * The server's own scheduling delay now, ms (event-loop lateness): taken off the SLO budget, so
   * a starved server admits less instead of answering late. None by default.
   */
  readonly schedulingDelayMs?: () => number;
  /**
   * Host-side cost per request (parsing, encoding), measured by the server. With it, admission and
   * the queue delay count the event-loop work ahead of a request and behind its batch, requests
   * reserve their place while their body is read (so a burst is refused at its excess, not admitted
   * whole), and the service-time estimate follows the backend's own execution time (the event
   * loop's share is accounted here instead). Without it: the device-only model.
   */
  readonly hostCosts?: HostCostEstimator;
}

export interface SubmitOptions {
  /** When the request arrived (before its body was read and parsed), on the batcher's clock. */
  readonly startedAt?: number;
}

export interface AdmissionOptions {
  /** Estimated host work (parsing) this request still needs before it can queue, ms. */
  readonly hostMs?: number;
}

export interface DropEvent {
  readonly model: string;
  /** Requests refused because they could no longer meet the SLO. */
  readonly requests: number;
}

export interface BatchEvent {
  readonly model: string;
  /** Rows in the batch. */
  readonly size: number;
  readonly requests: number;
  /** Rows of each request in the batch. */
  readonly rowsPerRequest: readonly number[];
  /** Wall time of the backend call, ms. */
  readonly serviceMs: number;
  /** Execution time the backend reported, ms. */
  readonly backendMs: number;
  /** Energy the backend attributed to the batch, J (the twin); undefined when it cannot. */
  readonly energyJ: number | undefined;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly failed: boolean;
}

export interface IdleEvent {
  readonly at: number;
  /** How long the device may be lent out now without delaying a batch past its queue delay, ms. */
  readonly budgetMs: number;
}

export interface GapEvent {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly gapMs: number;
}

export interface BatchedResult {
  /** This request's rows of every output. */
  readonly outputs: readonly Tensor[];
  readonly batchSize: number;
  readonly queueMs: number;
  readonly serviceMs: number;
}

interface Pending {
  readonly model: string;
  readonly inputs: readonly Tensor[];
  readonly rows: number;
  readonly signature: string;
  /** When the request arrived at the server (its latency clock starts here). */
  readonly arrivedAt: number;
  /** When it entered the queue. */
  readonly queuedAt: number;
  readonly resolve: (r: BatchedResult) => void;
  readonly reject: (e: unknown) => void;
}

interface Listeners {
  batch: ((e: BatchEvent) => void)[];
  drop: ((e: DropEvent) => void)[];
  idle: ((e: IdleEvent) => void)[];
  gap: ((e: GapEvent) => void)[];
}

const DEFAULT_MAX_QUEUE_ROWS = 1024;

/** Milliseconds for a message: to 0.1 ms below 100 ms (so 45.4 does not read "45"), whole numbers as they are. */
const ms = (x: number): string => {
  const r = Math.abs(x) < 100 ? Math.round(x * 10) / 10 : Math.round(x);
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
};

export class DynamicBatcher {
  readonly serviceTimes: ServiceTimeEstimator;
  readonly #backend: InferenceBackend;
  readonly #models = new Map<string, BatchedModel>();
  readonly #queues = new Map<string, Pending[]>();
  readonly #queuedRows = new Map<string, number>();
  readonly #now: () => number;
  readonly #margin: number;
  readonly #maxDelay: number | undefined;
  readonly #defaultMaxQueueRows: number;
  readonly #listeners: Listeners = { batch: [], drop: [], idle: [], gap: [] };
  readonly #dropLate: boolean;
  readonly #schedulingDelay: () => number;
  readonly #tasks: { run: () => Promise<void>; resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #host: HostCostEstimator | undefined;
  /** Rows admitted whose body is still being read or parsed, per model. */
  readonly #reservedRows = new Map<string, number>();
  /** Host work (parsing) admitted and not done yet, ms. */
  #hostBacklogMs = 0;
  #slo: Slo;
  #running: { model: string; startedAt: number; expectedMs: number } | null = null;
  #taskRunning = false;
  #idleSince: number | null;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #closing = false;
  #drained: (() => void) | null = null;

  constructor(opts: DynamicBatcherOptions) {
    this.#backend = opts.backend;
    this.#slo = opts.slo;
    this.#margin = opts.margin ?? SLO_MARGINS.serving;
    this.#maxDelay = opts.maxQueueDelayMs;
    this.#defaultMaxQueueRows = opts.maxQueueRows ?? DEFAULT_MAX_QUEUE_ROWS;
    this.#now = opts.now ?? (() => performance.now());
    this.#dropLate = opts.dropLate ?? true;
    this.#schedulingDelay = opts.schedulingDelayMs ?? (() => 0);
    this.serviceTimes = opts.serviceTimes ?? new ServiceTimeEstimator();
    this.#host = opts.hostCosts;
    for (const [name, m] of Object.entries(opts.models)) this.setModel(name, m);
    this.#idleSince = this.#now();
  }

  on<K extends keyof Listeners>(event: K, fn: Listeners[K][number]): () => void {
    const list = this.#listeners[event] as unknown[];
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  #emit<K extends keyof Listeners>(event: K, e: Parameters<Listeners[K][number]>[0]): void {
    for (const fn of this.#listeners[event]) {
      try {
        (fn as (x: typeof e) => void)(e);
      } catch {
        // a listener's failure must not stop serving
      }
    }
  }

  /** Add a model or change its batching limits. */
  setModel(name: string, m: BatchedModel): void {
    if (!Number.isInteger(m.maxBatch) || m.maxBatch < 1) throw new Error(`maxBatch of '${name}' must be a positive integer`);
    this.#models.set(name, m);
    if (!this.#queues.has(name)) {
      this.#queues.set(name, []);
      this.#queuedRows.set(name, 0);
    }
    this.#schedule();
  }

  get slo(): Slo {
    return this.#slo;
  }

  setSlo(slo: Slo): void {
    this.#slo = slo;
    this.#schedule();
  }

  maxBatch(model: string): number | undefined {
    return this.#models.get(model)?.maxBatch;
  }

  queuedRows(model: string): number {
    return this.#queuedRows.get(model) ?? 0;
  }

  /** Most rows the model's queue holds (undefined for a model not served): a request over it can never be admitted. */
  queueCapacity(model: string): number | undefined {
    const m = this.#models.get(model);
    return m ? (m.maxQueueRows ?? this.#defaultMaxQueueRows) : undefined;
  }

  /** Estimated service time of one full batch, ms (undefined before any measurement or prior). */
  fullBatchMs(model: string): number | undefined {
    const m = this.#models.get(model);
    return m ? this.serviceTimes.estimate(model, m.maxBatch) : undefined;
  }

  /** The queue delay in force for a model, ms: 0 until its service time is known. */
  queueDelayMs(model: string): number {
    const s = this.fullBatchMs(model);
    if (s === undefined || this.#closing) return 0;
    return Math.max(
      0,
      queueDelayMs(this.#slo, s, { margin: this.#margin, maxDelayMs: this.#maxDelay }) - this.#schedulingDelay() - this.hostAfterDispatchMs(model),
    );
  }

  /**
   * Event-loop work between a batch's dispatch and its last answer leaving: the dispatch timer may
   * fire behind one piece of host work (a parse in progress), and the batch's answers are encoded
   * one after another. 0 without host costs.
   */
  hostAfterDispatchMs(model: string): number {
    if (!this.#host) return 0;
    return this.#host.longestMs + (this.#models.get(model)?.maxBatch ?? 1) * this.#host.encodeMs(model);
  }

  /** Rows admitted whose body is still being read or parsed. */
  reservedRows(model: string): number {
    return this.#reservedRows.get(model) ?? 0;
  }

  /** Host work admitted and not yet done (bodies to parse), ms. */
  get hostBacklogMs(): number {
    return this.#hostBacklogMs;
  }

  /**
   * Hold a place for an admitted request while its body is read and parsed: its rows count as
   * queued and its parse as host work ahead of later arrivals. Release (idempotent) when it is
   * submitted or fails.
   */
  reserve(model: string, rows: number, hostMs: number): () => void {
    if (!this.#models.has(model)) return () => {};
    const h = Math.max(0, hostMs);
    this.#reservedRows.set(model, this.reservedRows(model) + rows);
    this.#hostBacklogMs += h;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#reservedRows.set(model, Math.max(0, this.reservedRows(model) - rows));
      this.#hostBacklogMs = Math.max(0, this.#hostBacklogMs - h);
    };
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Queue a request; resolves with its rows of the batch's outputs. Throws OverloadedError (503)
   * when the queue is full, when the prediction says it would miss the SLO, or while draining.
   */
  submit(model: string, inputs: readonly Tensor[], rows: number, signature = '', opts: SubmitOptions = {}): Promise<BatchedResult> {
    const m = this.#models.get(model);
    if (!m) return Promise.reject(new HttpError(404, `unknown model '${model}'`));
    if (this.#closing) return Promise.reject(new OverloadedError('the server is shutting down', 1));
    const now = this.#now();
    const arrivedAt = Math.min(now, opts.startedAt ?? now);
    try {
      // its own parse is done; the bodies admitted after it were counted when they were admitted
      this.#admit(model, m, rows, { elapsedMs: now - arrivedAt, hostMs: 0, aheadMs: 0 });
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<BatchedResult>((resolve, reject) => {
      this.#queues.get(model)!.push({ model, inputs, rows, signature, arrivedAt, queuedAt: now, resolve, reject });
      this.#queuedRows.set(model, this.queuedRows(model) + rows);
      this.#schedule();
    });
  }

  /**
   * Throw the 503 that `submit` would throw for a request of `rows` rows, without queueing
   * anything: lets the server shed load before it parses a request body.
   */
  checkAdmission(model: string, rows = 1, opts: AdmissionOptions = {}): void {
    const m = this.#models.get(model);
    if (!m) return;
    if (this.#closing) throw new OverloadedError('the server is shutting down', 1);
    this.#admit(model, m, rows, { elapsedMs: 0, hostMs: opts.hostMs ?? 0, aheadMs: this.#hostBacklogMs });
  }

  #admit(model: string, m: BatchedModel, rows: number, req: { elapsedMs: number; hostMs: number; aheadMs: number }): void {
    const cap = m.maxQueueRows ?? this.#defaultMaxQueueRows;
    const queued = this.queuedRows(model) + this.reservedRows(model);
    const budget = this.#budgetMs();
    const work = new Map<string, QueuedWork>();
    let othersQueued = 0;
    for (const [name, mm] of this.#models) {
      const q = this.queuedRows(name) + this.reservedRows(name);
      if (name !== model) othersQueued += q;
      if (this.serviceTimes.estimate(name, mm.maxBatch) !== undefined)
        work.set(name, { queuedRows: q, maxBatch: mm.maxBatch, serviceMs: (r) => this.serviceTimes.estimate(name, r) ?? 0 });
    }
    const running = this.#running ? Math.max(0, this.#running.expectedMs - (this.#now() - this.#running.startedAt)) : 0;
    // every batch boundary ahead costs the event loop's lateness once more (the budget holds one)
    let boundaries = this.#running ? 1 : 0;
    for (const [name, w] of work) boundaries += Math.ceil((name === model ? w.queuedRows + rows : w.queuedRows) / w.maxBatch);
    // host work: what has waited already, the bodies admitted ahead still to parse, its own parse,
    // and what runs on the event loop after its batch is dispatched
    const host = this.#host ? req.elapsedMs + req.aheadMs + req.hostMs + this.hostAfterDispatchMs(model) : 0;
    const predicted = work.has(model) ? host + predictedLatencyMs(model, rows, work, running) + Math.max(0, boundaries - 1) * this.#schedulingDelay() : 0;
    if (queued + rows > cap)
      throw new OverloadedError(`queue for model '${model}' is full (${queued} rows waiting, limit ${cap})`, retryAfterS(predicted, budget));
    // An idle device with nothing queued always admits: refusing then would serve nothing at all
    // when one service time alone exceeds the budget. Under load the prediction decides, so
    // requests are admitted only when their batch can still finish inside the budget.
    const idle = !this.#running && !this.#taskRunning && queued === 0 && othersQueued === 0;
    if (!idle && predicted > budget)
      throw new OverloadedError(
        `overloaded: model '${model}' would answer in about ${ms(predicted)} ms, over the ${ms(budget)} ms budget (${this.#budgetWords()})`,
        retryAfterS(predicted, budget),
      );
  }

  /** Run `task` while no batch runs; batches wait until it settles. */
  runWhenIdle(task: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#tasks.push({ run: task, resolve, reject });
      this.#schedule();
    });
  }

  /** Stop accepting, run everything queued without waiting to fill, resolve when idle. */
  close(): Promise<void> {
    this.#closing = true;
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#schedule();
      this.#checkDrained();
    });
  }

  #checkDrained(): void {
    if (!this.#closing || !this.#drained) return;
    if (this.#running || this.#taskRunning || this.#tasks.length > 0) return;
    for (const q of this.#queues.values()) if (q.length > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const done = this.#drained;
    this.#drained = null;
    done();
  }

  /** The ready model whose oldest request arrived first, or the earliest time one becomes ready. */
  #pick(now: number): { model: string } | { wakeAt: number } | null {
    let best: { model: string; arrivedAt: number } | null = null;
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const [name, q] of this.#queues) {
      const head = q[0];
      if (!head) continue;
      const m = this.#models.get(name)!;
      const readyAt = head.arrivedAt + this.queueDelayMs(name);
      const ready = this.#closing || this.queuedRows(name) >= m.maxBatch || readyAt <= now;
      if (ready) {
        if (!best || head.arrivedAt < best.arrivedAt) best = { model: name, arrivedAt: head.arrivedAt };
      } else wakeAt = Math.min(wakeAt, readyAt);
    }
    if (best) return { model: best.model };
    return Number.isFinite(wakeAt) ? { wakeAt } : null;
  }

  #schedule(): void {
    if (this.#running || this.#taskRunning) return;
    const now = this.#now();
    const pick = this.#pick(now);
    if (pick && 'model' in pick) {
      if (this.#dropHopeless(pick.model, now) && this.queuedRows(pick.model) === 0) {
        this.#schedule();
        return;
      }
      this.#clearTimer();
      this.#dispatch(pick.model, now);
      return;
    }
    const task = this.#tasks.shift();
    if (task) {
      this.#clearTimer();
      this.#taskRunning = true;
      this.#markBusy(now);
      task
        .run()
        .then(task.resolve, task.reject)
        .finally(() => {
          this.#taskRunning = false;
          this.#afterWork();
        });
      return;
    }
    if (pick && 'wakeAt' in pick) this.#setTimer(pick.wakeAt, now);
    else this.#clearTimer();
  }

  #setTimer(at: number, now: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#schedule();
      },
      Math.max(0, Math.ceil(at - now)),
    );
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #markBusy(now: number): void {
    if (this.#idleSince !== null) {
      const gap = { startedAt: this.#idleSince, endedAt: now, gapMs: now - this.#idleSince };
      this.#idleSince = null;
      this.#emit('gap', gap);
    }
  }

  #afterWork(): void {
    this.#schedule();
    if (!this.#running && !this.#taskRunning) {
      const now = this.#now();
      this.#idleSince = now;
      this.#emit('idle', { at: now, budgetMs: this.#idleBudget(now) });
    }
    this.#checkDrained();
  }

  #idleBudget(now: number): number {
    if (this.#closing) return 0;
    let budget = Number.POSITIVE_INFINITY;
    for (const [name, q] of this.#queues) {
      const d = this.queueDelayMs(name);
      const head = q[0];
      budget = Math.min(budget, head ? Math.max(0, head.arrivedAt + d - now) : d);
    }
    return Number.isFinite(budget) ? budget : 0;
  }

  /** What a request may spend in the server: the SLO less the margin and the scheduling delay, ms. */
  #budgetMs(): number {
    return latencyLimitMs(this.#slo, this.#margin) - this.#schedulingDelay();
  }

  /** What the budget is, in words: "SLO 50 ms less the 10 % margin[ and 0.4 ms of event-loop lateness]". */
  #budgetWords(): string {
    const lag = this.#schedulingDelay();
    return `SLO ${ms(this.#slo.latencyMs)} ms less the ${+(this.#margin * 100).toFixed(1)} % margin${lag >= 0.05 ? ` and ${ms(lag)} ms of event-loop lateness` : ''}`;
  }

  /** Refuse the queued requests of `model` that cannot finish inside the SLO any more; true if any. */
  #dropHopeless(model: string, now: number): boolean {
    if (!this.#dropLate || this.#closing) return false;
    const s = this.fullBatchMs(model);
    if (s === undefined || s > this.#budgetMs()) return false;
    // Only under contention: when everything queued fits in this one batch, serving a late request
    // costs no one else anything, and a late answer beats a refusal.
    let othersQueued = 0;
    for (const [name, rows] of this.#queuedRows) if (name !== model) othersQueued += rows;
    if (othersQueued === 0 && this.queuedRows(model) <= this.#models.get(model)!.maxBatch) return false;
    const q = this.#queues.get(model)!;
    // the scheduling delay still lies ahead of it (the answer goes out through the same event loop)
    const limit = this.#slo.latencyMs - this.#schedulingDelay();
    const late = q.filter((p) => now - p.arrivedAt + s > limit);
    if (late.length === 0) return false;
    const err = new OverloadedError(
      `overloaded: the request waited ${(now - late[0]!.arrivedAt).toFixed(0)} ms in the queue and could no longer finish inside the ${this.#slo.latencyMs} ms SLO`,
      1,
    );
    let rows = 0;
    for (const p of late) {
      q.splice(q.indexOf(p), 1);
      rows += p.rows;
      p.reject(err);
    }
    this.#queuedRows.set(model, this.queuedRows(model) - rows);
    this.#emit('drop', { model, requests: late.length });
    return true;
  }

  #take(model: string): Pending[] {
    const q = this.#queues.get(model)!;
    const max = this.#models.get(model)!.maxBatch;
    const sig = q[0]!.signature;
    const batch: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < q.length && rows < max; ) {
      const p = q[i]!;
      if (p.signature === sig && rows + p.rows <= max) {
        batch.push(p);
        rows += p.rows;
        q.splice(i, 1);
      } else i++;
    }
    this.#queuedRows.set(model, this.queuedRows(model) - rows);
    return batch;
  }

  #dispatch(model: string, now: number): void {
    const batch = this.#take(model);
    const rows = batch.reduce((s, p) => s + p.rows, 0);
    const expectedMs = this.serviceTimes.estimate(model, rows) ?? 0;
    this.#running = { model, startedAt: now, expectedMs };
    this.#markBusy(now);
    void this.#execute(model, batch, rows, now).finally(() => {
      this.#running = null;
      this.#afterWork();
    });
  }

  async #execute(model: string, batch: Pending[], rows: number, startedAt: number): Promise<void> {
    const busyAtStart = this.#host?.busyMs ?? 0;
    let backendMs = 0;
    let energyJ: number | undefined;
    let failed = false;
    try {
      const first = batch[0]!;
      const inputs = batch.length === 1 ? first.inputs : first.inputs.map((_, i) => concatRows(batch.map((p) => p.inputs[i]!)));
      const result = await this.#backend.infer(model, inputs);
      const endedAt = this.#now();
      backendMs = result.serviceMs;
      energyJ = result.energyJ;
      const serviceMs = endedAt - startedAt;
      // with host costs accounted apart, the estimate leaves out the accounted host work (parsing,
      // encoding) that ran while the batch did and delayed seeing its end; what the event loop adds
      // otherwise (a starved CPU) stays in, it is paid on every batch. Never below the backend's own time.
      const explained = this.#host ? this.#host.busyMs - busyAtStart : 0;
      this.serviceTimes.record(model, rows, this.#host ? Math.max(result.serviceMs, serviceMs - explained) : serviceMs);
      for (const o of result.outputs) {
        if (batch.length > 1 && o.shape[0] !== rows) throw new Error(`backend returned output '${o.name}' with ${o.shape[0]} rows for a batch of ${rows}`);
      }
      let offset = 0;
      for (const p of batch) {
        const outputs = batch.length === 1 ? result.outputs : result.outputs.map((o) => sliceRows(o, offset, p.rows));
        offset += p.rows;
        p.resolve({ outputs, batchSize: rows, queueMs: startedAt - p.queuedAt, serviceMs });
      }
    } catch (e) {
      failed = true;
      const status = (e as { statusCode?: unknown })?.statusCode;
      const err =
        e instanceof HttpError
          ? e
          : new HttpError(
              typeof status === 'number' && status >= 400 && status < 600 ? status : 500,
              `inference failed for model '${model}': ${(e as Error)?.message ?? String(e)}`,
            );
      for (const p of batch) p.reject(err);
    } finally {
      const endedAt = this.#now();
      this.#emit('batch', {
        model,
        size: rows,
        requests: batch.length,
        rowsPerRequest: batch.map((p) => p.rows),
        serviceMs: endedAt - startedAt,
        backendMs,
        energyJ,
        startedAt,
        endedAt,
        failed,
      });
    }
  }
}

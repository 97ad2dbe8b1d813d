import type { Config } from '../../core/config.ts';
import { nearestRankQuantile } from '../../numerics/stats.ts';
import type { Slo } from '../../core/slo.ts';
import type { JobSpec } from '../scheduling/job.ts';
import { createRandom } from '../../numerics/random.ts';
import type { FinetuneScheduler } from '../scheduling/scheduler.ts';
import type { StepPart } from '../../device/sim/fine-tune.ts';
import { batchFillDelayMs } from '../scheduling/step-queue.ts';

/** Noise-free costs of work on the device at a configuration (the twin, in replays). */
export interface DeviceCosts {
  /** One inference batch of `model` at the configuration's batch size. */
  inferenceBatch(config: Config, model: string): { readonly serviceMs: number; readonly energyJ: number };
  /**
   * One fine-tuning step of `model` at a micro-batch, or one part of it: layer group `chunk` of
   * `chunks`, with or without the optimizer update (a micro-batch that only accumulates gradients).
   */
  finetuneStep(config: Config, model: string, microBatch: number, part?: StepPart): { readonly stepMs: number; readonly energyJ: number };
  /** Board power while idle at the configuration, W. */
  idlePowerW(config: Config): number;
}

/**
 * Longest wait of the oldest queued request for its batch to fill — the server's batching policy:
 * D = clamp(0.9·L − 2·S, 0, ∞), so a request waits D, at most one running batch, then its own.
 */
export function defaultQueueDelayMs(slo: Slo, serviceMs: number): number {
  return batchFillDelayMs(slo.latencyMs, serviceMs);
}

export interface SimRequest {
  readonly arrivalMs: number;
  readonly doneMs: number;
  readonly latencyMs: number;
  /** The SLO in force when the request arrived. */
  readonly sloMs: number;
  /** A fine-tuning job was running (admitted) while the request was in the server. */
  readonly duringFinetune: boolean;
}

export interface SimStep {
  readonly jobId: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly microBatch: number;
  /** Training samples this part completes (micro-batch ÷ chunks). */
  readonly samples: number;
  /** This part ended an optimizer step. */
  readonly stepEnd: boolean;
}

export interface SimResult {
  readonly requests: readonly SimRequest[];
  readonly steps: readonly SimStep[];
  readonly batches: number;
  /** Energy of inference batches + idle time, J. */
  readonly inferenceEnergyJ: number;
  readonly finetuneEnergyJ: number;
  readonly endMs: number;
  /** Mean batch service time, ms. */
  readonly meanServiceMs: number;
}

export interface SimOptions {
  /** The model served. */
  readonly model: string;
  readonly arrivalsMs: readonly number[];
  readonly costs: DeviceCosts;
  /** Multiplicative log-normal noise on service and step times (log-sd), e.g. 0.03. */
  readonly noise: number;
  readonly seed: number;
  /** Without a scheduler: the fixed configuration and SLO. */
  readonly config?: Config;
  readonly slo: Slo;
  readonly scheduler?: FinetuneScheduler;
  /** SLO changes pushed to the scheduler (PUT /v1/slo). */
  readonly sloChanges?: readonly { readonly atMs: number; readonly slo: Slo }[];
  /** Jobs submitted to the scheduler at given times. */
  readonly submissions?: readonly { readonly atMs: number; readonly spec: JobSpec }[];
  /** No new steps start after this (ms). Default: the last arrival. */
  readonly finetuneUntilMs?: number;
  readonly queueDelayMs?: (slo: Slo, serviceMs: number) => number;
  /** Told the virtual time before each event is handled (drives the scheduler's clock). */
  readonly clockSink?: (tMs: number) => void;
}

/**
 * Virtual-time emulation of the server with fine-tuning: Poisson (or given) arrivals, one device that
 * runs one thing at a time, the dynamic batcher (dispatch when full or when the oldest request has
 * waited the queue delay), and the scheduler granting fine-tuning steps in the gaps. Steps are not
 * preemptible: a batch that becomes ready during a step waits for it.
 */
export function simulateCoRun(o: SimOptions): SimResult {
  const rng = createRandom(o.seed, 'mulberry32');
  const sched = o.scheduler;
  const arrivals = o.arrivalsMs;
  const changes = [...(o.sloChanges ?? [])].sort((a, b) => a.atMs - b.atMs);
  const subs = [...(o.submissions ?? [])].sort((a, b) => a.atMs - b.atMs);
  const ftUntil = o.finetuneUntilMs ?? (arrivals.length > 0 ? arrivals[arrivals.length - 1]! : 0);
  const requests: SimRequest[] = [];
  const steps: SimStep[] = [];
  const queue: { arrivalMs: number; sloMs: number; ft: boolean }[] = [];
  let slo = sched ? sched.currentSlo : o.slo;
  const configNow = (): Config => {
    const c = sched ? sched.config : o.config;
    if (!c) throw new RangeError('simulateCoRun needs a configuration or a scheduler');
    return c;
  };
  let ai = 0;
  let ci = 0;
  let si = 0;
  let t = 0;
  let busy: { kind: 'batch'; endMs: number; reqs: typeof queue; serviceMs: number } | { kind: 'step'; endMs: number; step: SimStep } | undefined;
  let inferenceEnergyJ = 0;
  let finetuneEnergyJ = 0;
  let batches = 0;
  let serviceSum = 0;
  const serviceMsAt = (c: Config) => o.costs.inferenceBatch(c, o.model).serviceMs;
  const delayFn = o.queueDelayMs ?? defaultQueueDelayMs;

  for (;;) {
    // Next event time.
    let next = Number.POSITIVE_INFINITY;
    if (ai < arrivals.length) next = Math.min(next, arrivals[ai]!);
    if (ci < changes.length) next = Math.min(next, changes[ci]!.atMs);
    if (si < subs.length) next = Math.min(next, subs[si]!.atMs);
    if (busy) next = Math.min(next, busy.endMs);
    else if (queue.length > 0) {
      const c = configNow();
      next = Math.min(next, queue.length >= c.batch ? t : queue[0]!.arrivalMs + delayFn(slo, serviceMsAt(c)));
    }
    if (!Number.isFinite(next)) break;
    if (!busy) inferenceEnergyJ += (o.costs.idlePowerW(configNow()) * Math.max(0, next - t)) / 1000;
    t = Math.max(t, next);
    o.clockSink?.(t);

    if (busy && busy.endMs <= t) {
      const b = busy;
      busy = undefined;
      if (b.kind === 'batch') {
        for (const r of b.reqs)
          requests.push({
            arrivalMs: r.arrivalMs,
            doneMs: t,
            latencyMs: t - r.arrivalMs,
            sloMs: r.sloMs,
            duringFinetune: r.ft || sched?.runningJobId !== undefined,
          });
        sched?.batchDone(b.serviceMs, b.reqs.length);
      } else {
        steps.push(b.step);
        if (sched && !['done', 'failed', 'cancelled'].includes(sched.get(b.step.jobId)?.state ?? 'done'))
          sched.stepDone(b.step.jobId, b.step.endMs - b.step.startMs);
      }
    }
    while (ci < changes.length && changes[ci]!.atMs <= t) {
      slo = changes[ci]!.slo;
      sched?.setSlo(slo);
      ci++;
    }
    while (si < subs.length && subs[si]!.atMs <= t) {
      sched?.submit(subs[si]!.spec);
      si++;
    }
    while (ai < arrivals.length && arrivals[ai]! <= t) {
      queue.push({ arrivalMs: arrivals[ai]!, sloMs: slo.latencyMs, ft: sched?.runningJobId !== undefined });
      ai++;
    }
    if (busy) continue;
    const c = configNow();
    const sMs = serviceMsAt(c);
    const ready = queue.length > 0 && (queue.length >= c.batch || t >= queue[0]!.arrivalMs + delayFn(slo, sMs) - 1e-9);
    if (ready) {
      sched?.preempt();
      const reqs = queue.splice(0, c.batch);
      const cost = o.costs.inferenceBatch(c, o.model);
      const f = rng.factor(o.noise);
      const serviceMs = cost.serviceMs * f;
      inferenceEnergyJ += cost.energyJ * f;
      serviceSum += serviceMs;
      batches++;
      busy = { kind: 'batch', endMs: t + serviceMs, reqs, serviceMs };
      continue;
    }
    if (!sched || t >= ftUntil) continue;
    const gapMs = queue.length > 0 ? queue[0]!.arrivalMs + delayFn(slo, sMs) - t : Number.POSITIVE_INFINITY;
    const grant = sched.gap(gapMs, queue.length > 0 ? t - queue[0]!.arrivalMs : 0);
    if (!grant) continue;
    const job = sched.get(grant.jobId)!;
    const p = grant.part;
    const cost = o.costs.finetuneStep(c, job.model, grant.microBatch, p ? { chunks: p.chunks, chunk: p.chunk, optimizer: p.optimizer } : undefined);
    const f = rng.factor(o.noise);
    finetuneEnergyJ += cost.energyJ * f;
    for (const r of queue) r.ft = true;
    const endMs = t + cost.stepMs * f;
    busy = {
      kind: 'step',
      endMs,
      step: { jobId: grant.jobId, startMs: t, endMs, microBatch: grant.microBatch, samples: grant.microBatch / (p?.chunks ?? 1), stepEnd: p?.last ?? true },
    };
  }
  return { requests, steps, batches, inferenceEnergyJ, finetuneEnergyJ, endMs: t, meanServiceMs: batches > 0 ? serviceSum / batches : 0 };
}

/** Quantile of request latencies (nearest-rank). */
export function latencyQuantile(requests: readonly SimRequest[], q: number): number {
  if (requests.length === 0) return 0;
  return nearestRankQuantile(
    requests.map((r) => r.latencyMs).sort((a, b) => a - b),
    q,
  );
}

/** Fraction of requests that met the SLO in force when they arrived. */
export function sloAttainment(requests: readonly SimRequest[]): number {
  if (requests.length === 0) return 1;
  let ok = 0;
  for (const r of requests) if (r.latencyMs <= r.sloMs) ok++;
  return ok / requests.length;
}

export interface TimelinePoint {
  /** Seconds from the start. */
  readonly t: number;
  readonly sloMs: number;
  /** Worst request latency completed in the bucket, ms (null when none completed). */
  readonly latencyMs: number | null;
  readonly finetuneRunning: boolean;
}

/** Bucketed timeline for the report's fine-tuning chart (paper Fig. 14). */
export function timeline(result: SimResult, sloAt: (tMs: number) => number, durationMs: number, bucketMs = 500): TimelinePoint[] {
  const n = Math.ceil(durationMs / bucketMs);
  const worst = new Array<number | null>(n).fill(null);
  const ft = new Array<boolean>(n).fill(false);
  for (const r of result.requests) {
    const i = Math.floor(r.doneMs / bucketMs);
    if (i < n) worst[i] = Math.max(worst[i] ?? 0, r.latencyMs);
  }
  for (const s of result.steps) for (let i = Math.floor(s.startMs / bucketMs); i <= Math.min(n - 1, Math.floor(s.endMs / bucketMs)); i++) ft[i] = true;
  return Array.from({ length: n }, (_, i) => ({
    t: Number(((i * bucketMs) / 1000).toFixed(3)),
    sloMs: sloAt(i * bucketMs),
    latencyMs: worst[i] === null ? null : Number(worst[i]!.toFixed(2)),
    finetuneRunning: ft[i]!,
  }));
}

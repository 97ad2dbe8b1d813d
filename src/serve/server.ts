/**
 * `createServer(options)`: a fastify instance serving KServe v2 over an InferenceBackend with
 * dynamic batching, Prometheus metrics and an admin API. A small core; every route group is a
 * plugin. The caller owns the backend and the device (see serve-session.ts for the whole life
 * cycle: apply the configuration, listen, drain, restore).
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Device } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { InferenceBackend, ModelMetadata, Tensor, TensorDatatype } from '../core/inference.ts';
import { latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import type { PowerMeter } from '../measure/power-meter.ts';
import { type BatchEvent, DynamicBatcher } from './dynamic-batcher.ts';
import { DriftRetuner, type DriftRetunerOptions } from './drift-retuner.ts';
import { HostCostEstimator } from './host-cost.ts';
import { onClientError, sendHttpError, toHttpError } from './http-error.ts';
import { parseInferRequest } from './infer-request.ts';
import { parseInferJson } from './json-fast-path.ts';
import { Metrics } from './metrics.ts';
import { adminPlugin } from './plugins/admin.ts';
import { LoopLag } from './loop-lag.ts';
import { healthPlugin } from './plugins/health.ts';
import { inferencePlugin } from './plugins/inference.ts';
import { metricsPlugin } from './plugins/metrics-route.ts';
import { ServiceTimeEstimator } from './service-time.ts';
import { ServingContext, type ServingProfile } from './serving-context.ts';
import { elementCount, toJsonData } from './tensor-data.ts';

export interface ServerOptions {
  readonly backend: InferenceBackend;
  readonly slo: Slo;
  /** Batch size limit: one for every model, or per model name (models not named get 1). */
  readonly batch: number | Readonly<Record<string, number>>;
  /** The device being served on: clocks for /metrics and the admin API. */
  readonly device?: Device;
  /** Board power meter; without it energy comes from the backend (the twin) or is not metered. */
  readonly powerMeter?: PowerMeter;
  readonly profile?: ServingProfile;
  /** Clocks as applied at start (shown by the admin API). */
  readonly applied?: ServingContext['applied'];
  /** Admin API token; the admin API is off without one. */
  readonly adminToken?: string;
  readonly adminPlugins?: readonly FastifyPluginAsync[];
  /** Largest request body, bytes (8 MiB). */
  readonly bodyLimitBytes?: number;
  /** Most rows queued per model (1024). */
  readonly maxQueueRows?: number;
  /** Safety margin, share of the SLO (0.1). */
  readonly margin?: number;
  readonly maxQueueDelayMs?: number;
  /** Refuse queued requests that can no longer meet the SLO instead of serving them late (true). */
  readonly dropLate?: boolean;
  /** Take the event loop's measured lateness (p90, last second) off the SLO budget (true). */
  readonly loopLagAware?: boolean;
  /**
   * Account each request's host-side work (body parsing and answer encoding, measured online per
   * model and body kind) in admission and in the queue delay, and hold an admitted request's place
   * while its body is parsed (true). False: the device-only admission model.
   */
  readonly hostCostAware?: boolean;
  /**
   * Drift detection and re-tuning (drift-retuner.ts): watch the model's batch service time and
   * energy with a sequential test, and on drift re-select a configuration from the tuning run's
   * surrogates (refreshed with probe trials when that is not enough). Off when absent.
   */
  readonly retune?: Omit<DriftRetunerOptions, 'ctx' | 'model' | 'limitMs'> & {
    /** The watched model (the first the backend serves by default). */
    readonly model?: string;
    /** What a selected configuration must be predicted to meet, ms: SLO × (1 − the recommendation margin) by default. */
    readonly limitMs?: number;
  };
  /** Service time measured beforehand per model (the profile's), used until batches are measured. */
  readonly priorServiceMs?: Readonly<Record<string, { batch: number; ms: number }>>;
  /**
   * Warm-up batches per model and size (at batch 1 and at the limit) before ready: they measure the
   * service-time curve. 3 by default (the first is discarded as a cold start); 0 disables.
   */
  readonly warmupBatches?: number;
  readonly logger?: boolean;
  /** Time limits on each connection (see ConnectionTimeouts); every one is bounded by default. */
  readonly timeouts?: Partial<ConnectionTimeouts>;
}

/**
 * Limits that keep a slow or silent client from holding a connection (and with it a shutdown)
 * open forever. Milliseconds; 0 turns a limit off.
 */
export interface ConnectionTimeouts {
  /** Request line and headers must arrive within this (Node `headersTimeout`): 10 s. */
  readonly headersMs: number;
  /** The whole request, body included, must arrive within this (Node `requestTimeout`): 30 s. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this (`keepAliveTimeout`): 5 s. */
  readonly keepAliveMs: number;
  /** A connection on which nothing moves for this long is closed (fastify `connectionTimeout`): 120 s. */
  readonly idleMs: number;
}

/** Longest timer Node keeps (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, idleMs: 120_000 };

/** The timeouts with defaults filled in; throws when one is negative or headers may take longer than the whole request. */
export function connectionTimeouts(t: Partial<ConnectionTimeouts> = {}): ConnectionTimeouts {
  const out = { ...DEFAULT_TIMEOUTS, ...Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) } as ConnectionTimeouts;
  for (const [k, v] of Object.entries(out))
    if (!(Number.isInteger(v) && v >= 0 && v <= MAX_TIMER_MS)) throw badInput(`timeout ${k} must be a whole number of ms in [0, ${MAX_TIMER_MS}], got ${v}`);
  if (out.requestMs > 0 && (out.headersMs === 0 || out.headersMs > out.requestMs))
    throw badInput(
      `the headers timeout (${out.headersMs} ms) must not exceed the request timeout (${out.requestMs} ms): the headers are part of the request`,
      'give --headers-timeout at most --request-timeout',
    );
  return out;
}

/** What a bounded close needs to know about a server: its drain, and the requests being answered. */
interface DrainState {
  /** Requests whose body was read and whose answer is not finished. */
  answering: number;
  /** Settles when the batcher has drained (set by the preClose hook). */
  drained: Promise<void> | undefined;
  /** Called whenever `answering` drops to 0. */
  onIdle: (() => void)[];
}
const drains = new WeakMap<FastifyInstance, DrainState>();

declare module 'fastify' {
  interface FastifyInstance {
    polythrottle: ServingContext;
  }
}

const ZERO: Record<TensorDatatype, () => number | bigint | boolean | string> = {
  FP32: () => 0,
  FP16: () => 0,
  FP64: () => 0,
  INT64: () => 0n,
  INT32: () => 0,
  INT8: () => 0,
  UINT8: () => 0,
  BOOL: () => false,
  BYTES: () => '',
};

/** Zero inputs of `rows` rows, or undefined when a non-batch dimension is dynamic. */
export function zeroInputs(m: ModelMetadata, rows: number): Tensor[] | undefined {
  const out: Tensor[] = [];
  for (const spec of m.inputs) {
    const shape = spec.shape.map((d, i) => (i === 0 && d === -1 ? rows : d));
    if (shape.some((d) => d < 0)) return undefined;
    const n = elementCount(shape);
    const z = ZERO[spec.datatype];
    let data: Tensor['data'];
    switch (spec.datatype) {
      case 'FP32':
      case 'FP16':
        data = new Float32Array(n);
        break;
      case 'FP64':
        data = new Float64Array(n);
        break;
      case 'INT64':
        data = new BigInt64Array(n);
        break;
      case 'INT32':
        data = new Int32Array(n);
        break;
      case 'INT8':
        data = new Int8Array(n);
        break;
      case 'UINT8':
        data = new Uint8Array(n);
        break;
      default:
        data = Array.from({ length: n }, z) as boolean[] | string[];
    }
    out.push({ name: spec.name, datatype: spec.datatype, shape, data });
  }
  return out;
}

function batchLimits(models: readonly ModelMetadata[], batch: ServerOptions['batch']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of models) {
    const batchable = m.inputs.every((i) => i.shape[0] === -1);
    const want = typeof batch === 'number' ? batch : (batch[m.name] ?? 1);
    if (!Number.isInteger(want) || want < 1) throw new Error(`batch size for '${m.name}' must be a positive integer, got ${want}`);
    out[m.name] = batchable ? want : 1;
  }
  if (typeof batch !== 'number')
    for (const name of Object.keys(batch))
      if (!models.some((m) => m.name === name)) throw new Error(`batch size given for '${name}', which the backend does not serve`);
  return out;
}

async function meterBatch(ctx: ServingContext, e: BatchEvent, rowsPerRequest: readonly number[]): Promise<void> {
  const m = ctx.metrics;
  const labels = { model: e.model };
  m.batchLatency.observe(labels, e.serviceMs / 1000);
  m.batchSize.observe(labels, e.size);
  if (e.failed) return;
  let j = e.energyJ;
  if (j === undefined && ctx.powerMeter) j = await ctx.powerMeter.energyBetween(e.startedAt, e.endedAt);
  else if (j !== undefined && !ctx.powerMeter && e.serviceMs > 0) m.setPower(j / (e.serviceMs / 1000));
  // Nothing to meter with (no device, no energy from the backend): no energy series at all.
  if (j === undefined && !ctx.powerMeter && !ctx.device) return;
  if (j === undefined || !Number.isFinite(j)) {
    m.countUnmetered(e.model);
    return;
  }
  const joules = j;
  m.countEnergy(
    e.model,
    joules,
    rowsPerRequest.map((r) => (joules * r) / e.size),
  );
}

/**
 * First host-cost estimates before any request: parse a zero-filled batch-1 request of the model as
 * JSON and as the binary extension (what the route does), so the first requests of a heavy-body
 * model are admitted with their parse time counted. Real requests replace these as they come.
 */
function seedHostCosts(host: HostCostEstimator, m: ModelMetadata, maxBatch: number): void {
  const inputs = zeroInputs(m, 1);
  if (!inputs) return;
  const json = Buffer.from(JSON.stringify({ inputs: inputs.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: toJsonData(t.data) })) }));
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    try {
      parseInferRequest(parseInferJson(json), m, maxBatch);
    } catch {
      return;
    }
    host.recordParse(m.name, 'json', json.length, performance.now() - t0);
  }
}

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const models = opts.backend.models();
  if (models.length === 0) throw new Error(`the ${opts.backend.kind} backend serves no models`);
  const limits = batchLimits(models, opts.batch);
  const serviceTimes = new ServiceTimeEstimator({ quantile: opts.slo.quantile });
  for (const [name, p] of Object.entries(opts.priorServiceMs ?? {})) serviceTimes.setPrior(name, p.batch, p.ms);
  const hostCosts = opts.hostCostAware === false ? undefined : new HostCostEstimator();
  const lag = opts.loopLagAware === false ? undefined : new LoopLag(hostCosts ? { explainedMs: () => hostCosts.busyMs } : {});
  const batcher = new DynamicBatcher({
    backend: opts.backend,
    models: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { maxBatch: v }])),
    slo: opts.slo,
    margin: opts.margin,
    maxQueueDelayMs: opts.maxQueueDelayMs,
    maxQueueRows: opts.maxQueueRows,
    ...(opts.dropLate === undefined ? {} : { dropLate: opts.dropLate }),
    serviceTimes,
    ...(lag ? { schedulingDelayMs: () => lag.ms } : {}),
    ...(hostCosts ? { hostCosts } : {}),
  });
  const metrics = new Metrics();
  const ctx = new ServingContext({
    backend: opts.backend,
    batcher,
    metrics,
    device: opts.device,
    powerMeter: opts.powerMeter,
    profile: opts.profile,
    applied: opts.applied,
    hostCosts,
  });
  ctx.setSlo(opts.slo);
  if (opts.applied) metrics.setClocks(opts.applied.applied);
  batcher.on('batch', (e) => void meterBatch(ctx, e, e.rowsPerRequest));
  batcher.on('drop', (e) => metrics.lateDrops.inc({ model: e.model }, e.requests));
  if (opts.retune) {
    const r = opts.retune;
    const drift = new DriftRetuner({
      ...r,
      ctx,
      model: r.model ?? models[0]!.name,
      limitMs: r.limitMs ?? latencyLimitMs(opts.slo, SLO_MARGINS.recommendation),
    });
    ctx.drift = drift;
    batcher.on('batch', (e) => drift.onBatch(e));
  }

  const t = connectionTimeouts(opts.timeouts);
  // Node checks the headers and request timeouts every connectionsCheckingInterval (30 s by default)
  const checkEveryMs = Math.max(25, Math.min(1000, Math.floor(Math.min(...[t.headersMs, t.requestMs].filter((x) => x > 0), 4000) / 4)));
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? 8 * 1024 * 1024,
    // while closing, requests still reach the routes: the batcher answers 503 with the protocol's body
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: { headersTimeout: t.headersMs, requestTimeout: t.requestMs, keepAliveTimeout: t.keepAliveMs, connectionsCheckingInterval: checkEveryMs },
    clientErrorHandler: onClientError,
    // fastify's own answers (bad URL, over-long parameter) in the same body as every other error
    frameworkErrors: (err, _req, reply) => {
      sendHttpError(reply, err);
    },
  });
  // fastify treats 0 as "its default" (72 s keep-alive); 0 means off here
  if (t.keepAliveMs === 0) app.server.keepAliveTimeout = 0;
  if (t.idleMs === 0) app.server.setTimeout(0);
  const drain: DrainState = { answering: 0, drained: undefined, onIdle: [] };
  drains.set(app, drain);
  app.decorate('polythrottle', ctx);
  app.setErrorHandler((err, _req, reply) => {
    const h = toHttpError(err);
    if (h.statusCode >= 500 && h.statusCode !== 503) app.log.error(err);
    return reply.code(h.statusCode).headers(h.headers).send({ error: h.message });
  });
  // Requests being answered (body read, handler running or reply being written): a drain waits for
  // these; a connection still sending its body holds nothing the drain must wait for.
  app.addHook('preValidation', async (req) => {
    drain.answering++;
    (req as { polythrottleAnswering?: boolean }).polythrottleAnswering = true;
  });
  const answered = async (req: object) => {
    const r = req as { polythrottleAnswering?: boolean };
    if (!r.polythrottleAnswering) return;
    r.polythrottleAnswering = false;
    if (--drain.answering === 0) for (const f of drain.onIdle.splice(0)) f();
  };
  app.addHook('onResponse', answered);
  app.addHook('onRequestAbort', answered);
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  await app.register(healthPlugin(ctx));
  await app.register(inferencePlugin(ctx));
  await app.register(metricsPlugin(ctx));
  if (opts.adminToken !== undefined) await app.register(adminPlugin(ctx, { token: opts.adminToken, plugins: opts.adminPlugins ?? [] }), { prefix: '/v1' });
  else if (opts.adminPlugins?.length) throw new Error('admin plugins need an admin token');

  const warmups = opts.warmupBatches ?? 3;
  app.addHook('onReady', async () => {
    for (const m of models) {
      // the limit in force now: a plugin registered before ready may have changed it
      const limit = batcher.maxBatch(m.name) ?? limits[m.name]!;
      const points: { batch: number; ms: number }[] = [];
      // the service-time curve at batch 1 and at the limit; the first run of each is a cold start
      for (const rows of limit > 1 ? [1, limit] : [1]) {
        const inputs = warmups > 0 ? zeroInputs(m, rows) : undefined;
        if (!inputs) continue;
        const ms: number[] = [];
        for (let i = 0; i < warmups; i++) {
          const t0 = performance.now();
          try {
            await opts.backend.infer(m.name, inputs);
          } catch (e) {
            throw new Error(`warm-up of model '${m.name}' at batch ${rows} failed: ${(e as Error).message}`, { cause: e });
          }
          if (i > 0 || warmups === 1) ms.push(performance.now() - t0);
        }
        ms.sort((a, b) => a - b);
        const mid = Math.floor(ms.length / 2);
        // the median (of an even count: the mean of the middle two, not the larger one)
        points.push({ batch: rows, ms: ms.length % 2 === 1 ? ms[mid]! : (ms[mid - 1]! + ms[mid]!) / 2 });
      }
      if (points.length > 0) serviceTimes.setBaseline(m.name, points);
      if (hostCosts && warmups > 0) seedHostCosts(hostCosts, m, batcher.maxBatch(m.name) ?? 1);
    }
    ctx.ready = true;
  });
  // Drain before the listener closes: queued and running batches finish, new requests get 503.
  app.addHook('preClose', async () => {
    ctx.ready = false;
    drain.drained ??= batcher.close();
    await drain.drained;
  });
  app.addHook('onClose', async () => {
    lag?.close();
    ctx.drift?.close();
  });
  return app;
}

export interface CloseServerOptions {
  /** Longest wait for queued and running requests before the remaining connections are cut, ms. */
  readonly drainTimeoutMs: number;
  readonly log?: (line: string) => void;
}

/**
 * Close a server made by createServer within a deadline: stop accepting at once, let queued and
 * running requests finish and their answers go out, then close every remaining connection (a client
 * still sending a body, an idle keep-alive one) — at the latest when `drainTimeoutMs` has passed.
 * Resolves with whether the deadline cut the drain short; never waits past the deadline.
 */
export async function closeServer(app: FastifyInstance, o: CloseServerOptions): Promise<{ timedOut: boolean }> {
  const http = app.server;
  const drain = drains.get(app);
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  const deadline = new Promise<'deadline'>((r) => {
    timer = setTimeout(() => {
      over = true;
      r('deadline');
    }, o.drainTimeoutMs);
  });
  // stop accepting now (fastify would only after the drain); its own close then finds it closed
  if (http.listening) http.close(() => {});
  http.closeIdleConnections();
  const closed = app.close();
  closed.catch(() => {});
  const answered = (async () => {
    // the preClose hook starts the drain; wait for it to have started, then for it and the answers
    while (drain && !drain.drained && !over) await new Promise((r) => setImmediate(r));
    await drain?.drained;
    if (drain && drain.answering > 0) await new Promise<void>((r) => drain.onIdle.push(r));
  })();
  const first = await Promise.race([answered.then(() => 'drained' as const), deadline]);
  if (first === 'deadline') o.log?.(`drain deadline (${o.drainTimeoutMs} ms) passed: closing the remaining connections`);
  http.closeAllConnections();
  // the rest of fastify's close (its onClose hooks) is quick once no connection is left; never past the deadline
  await Promise.race([closed.catch(() => {}), deadline]);
  clearTimeout(timer);
  if (first === 'drained') o.log?.(`drained in ${(performance.now() - t0).toFixed(0)} ms`);
  return { timedOut: first === 'deadline' };
}

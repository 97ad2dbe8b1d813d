/**
 * Fine-tuning admin routes, a fastify plugin the server registers inside its admin scope (`/v1`,
 * behind the bearer token):
 *   GET    /finetune/jobs                 the queue, FIFO order
 *   POST   /finetune/jobs                 submit {kind, name?, model, microBatch, steps?, command?}
 *   GET    /finetune/jobs/:id             one job, with the admission decision it would get now
 *   DELETE /finetune/jobs/:id             cancel
 *   POST   /finetune/jobs/:id/step        gate: wait (long poll, ?waitMs=) for permission to run a step
 *   POST   /finetune/jobs/:id/step/done   gate: report the step's duration {durationMs}
 *   POST   /finetune/jobs/:id/complete    gate: the loop finished {exitStatus?}
 *   GET    /finetune/status               SLO, configuration, running job, step in flight
 *   PUT    /slo                           only with `sloRoute: true` (the server's admin API has its own)
 * Command jobs name a command of the server's configuration file; no command line travels over HTTP.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { formatConfig } from '../../core/config.ts';
import type { FinetuneService } from '../scheduling/finetune-service.ts';
import { JOB_KINDS } from '../scheduling/job.ts';

class RouteError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const jobBody = z
  .object({
    kind: z.enum(JOB_KINDS as [string, ...string[]]),
    name: z.string().min(1).max(200).optional(),
    model: z.string().min(1).optional(),
    microBatch: z.number().int().positive().optional(),
    steps: z.number().int().positive().optional(),
    command: z.string().min(1).optional(),
  })
  .strict();
const doneBody = z.object({ durationMs: z.number().nonnegative() }).strict();
const completeBody = z.object({ exitStatus: z.union([z.number().int(), z.string().min(1)]).optional() }).strict();
const sloBody = z.object({ latencyMs: z.number().positive(), quantile: z.number().gt(0).lt(1).optional() }).strict();

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success)
    throw new RouteError(
      400,
      r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
        .join('; '),
    );
  return r.data;
}

/** Scheduler errors are RangeErrors: unknown job → 404, a job in the wrong state → 409, else 400. */
function http(e: unknown): never {
  if (e instanceof RouteError) throw e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/^no (fine-tuning )?job /.test(msg)) throw new RouteError(404, msg);
  if (/in flight|is (done|failed|cancelled)|not a step gate/.test(msg)) throw new RouteError(409, msg);
  throw new RouteError(400, msg);
}

export interface FinetuneRoutesOptions {
  readonly service: FinetuneService;
  /** Require this bearer token (when the plugin is not registered inside an authenticated scope). */
  readonly token?: string;
  /** Also serve PUT /slo (standalone use; the server's admin API has its own and calls the service). */
  readonly sloRoute?: boolean;
  /** Defaults for a job without them (the served model, micro-batch 8). */
  readonly defaultModel?: string;
  readonly defaultMicroBatch?: number;
  /** Longest gate long poll, ms (default 30 s). */
  readonly maxWaitMs?: number;
}

export function finetuneRoutes(o: FinetuneRoutesOptions): FastifyPluginAsync {
  const svc = o.service;
  const s = svc.scheduler;
  return async (app) => {
    if (o.token !== undefined) {
      const expected = Buffer.from(o.token);
      app.addHook('onRequest', async (req) => {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
        const given = Buffer.from(m?.[1] ?? '');
        if (!m || given.length !== expected.length || !timingSafeEqual(given, expected)) throw new RouteError(401, 'missing or wrong bearer token');
      });
    }

    app.get('/finetune/jobs', async () => ({ jobs: s.list() }));

    app.post('/finetune/jobs', async (req, reply) => {
      const b = parse(jobBody, req.body);
      const fromCommand = b.kind === 'command' && b.command ? svc.commandDefaults(b.command) : undefined;
      const model = b.model ?? fromCommand?.model ?? o.defaultModel;
      if (!model) throw new RouteError(400, 'model: the model being fine-tuned is required');
      try {
        const job = svc.submit({
          kind: b.kind as (typeof JOB_KINDS)[number],
          name: b.name ?? `${b.kind}-${model}`,
          model,
          microBatch: b.microBatch ?? fromCommand?.microBatch ?? o.defaultMicroBatch ?? 8,
          ...(b.steps === undefined ? {} : { steps: b.steps }),
          ...(b.command === undefined ? {} : { command: b.command }),
        });
        return reply.code(201).send({ job: s.get(job.id) });
      } catch (e) {
        http(e);
      }
    });

    app.get<{ Params: { id: string } }>('/finetune/jobs/:id', async (req) => {
      const job = s.get(req.params.id);
      if (!job) throw new RouteError(404, `no job ${req.params.id}`);
      if (job.state !== 'queued') return { job };
      const a = s.probe(job.id);
      return {
        job,
        admission: a.fits
          ? { fits: true, config: formatConfig(a.option.config), microBatch: a.option.microBatch, predictedTailMs: a.option.tailUpperMs, switched: a.switched }
          : { fits: false, reason: a.reason },
      };
    });

    app.delete<{ Params: { id: string } }>('/finetune/jobs/:id', async (req) => {
      try {
        return { job: svc.cancel(req.params.id) };
      } catch (e) {
        http(e);
      }
    });

    app.post<{ Params: { id: string }; Querystring: { waitMs?: string } }>('/finetune/jobs/:id/step', async (req, reply) => {
      const max = o.maxWaitMs ?? 30_000;
      const waitMs = req.query.waitMs === undefined ? max : Number(req.query.waitMs);
      if (!(waitMs >= 0)) throw new RouteError(400, `waitMs must be a non-negative number of milliseconds, got ${req.query.waitMs}`);
      let grant: Awaited<ReturnType<FinetuneService['requestStep']>>;
      try {
        grant = await svc.requestStep(req.params.id, Math.min(waitMs, max));
      } catch (e) {
        http(e);
      }
      if (!grant) {
        const job = s.get(req.params.id)!;
        return reply.code(200).send({ granted: false, state: job.state, reason: job.reason ?? 'waiting for a gap between inference batches' });
      }
      return { granted: true, microBatch: grant.microBatch, expectedMs: grant.expectedMs };
    });

    app.post<{ Params: { id: string } }>('/finetune/jobs/:id/step/done', async (req) => {
      const b = parse(doneBody, req.body);
      try {
        return { job: svc.stepDone(req.params.id, b.durationMs) };
      } catch (e) {
        http(e);
      }
    });

    app.post<{ Params: { id: string } }>('/finetune/jobs/:id/complete', async (req) => {
      const b = parse(completeBody, req.body);
      try {
        return { job: svc.complete(req.params.id, b.exitStatus ?? 0) };
      } catch (e) {
        http(e);
      }
    });

    app.get('/finetune/status', async () => ({
      slo: s.currentSlo,
      rateRps: s.rateRps,
      config: s.config,
      configText: formatConfig(s.config),
      running: s.runningJobId ? s.get(s.runningJobId) : null,
      stepInFlight: s.stepInFlight ?? null,
    }));

    if (o.sloRoute)
      app.put('/slo', async (req) => {
        const b = parse(sloBody, req.body);
        const config = s.setSlo({ latencyMs: b.latencyMs, quantile: b.quantile ?? s.currentSlo.quantile });
        return { slo: s.currentSlo, config, configText: formatConfig(config), jobs: s.list() };
      });
  };
}

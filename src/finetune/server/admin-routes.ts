/**
 * Fine-tuning admin routes, a fastify plugin registered inside the admin scope of
 * `serve/plugins/admin.ts` (under `/v1`, behind its bearer token):
 *   GET    /finetune/jobs                 the queue, FIFO order
 *   POST   /finetune/jobs                 submit {kind, name?, model, microBatch, steps?, command?}
 *   GET    /finetune/jobs/:id             one job, with the admission decision it would get now
 *   DELETE /finetune/jobs/:id             cancel
 *   POST   /finetune/jobs/:id/step        gate: wait (long poll, ?waitMs=) for permission to run a step
 *   POST   /finetune/jobs/:id/step/done   gate: report the step's duration {durationMs}
 *   POST   /finetune/jobs/:id/complete    gate: the loop finished {exitStatus?}
 *   GET    /finetune/status               SLO, configuration, running job, step in flight
 * Command jobs name a command of the server's configuration file; no command line travels over HTTP.
 * `standaloneFinetuneAdmin` serves the same routes without a server: the admin scope, with the SLO
 * routes answered by the scheduler.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { formatConfig } from '../../core/config.ts';
import { HttpError, badRequest, notFound, sendHttpError } from '../../serve/http-error.ts';
import { adminScope, parseBody, type SloControl, sloRoutes } from '../../serve/plugins/admin.ts';
import type { FinetuneScheduler } from '../scheduling/scheduler.ts';
import type { FinetuneService } from '../scheduling/finetune-service.ts';
import { JOB_KINDS } from '../scheduling/job.ts';

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

/** The body read by `schema`; a request without one reads as `{}`. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  return parseBody(schema, body ?? {});
}

/** Scheduler errors are RangeErrors: unknown job → 404, a job in the wrong state → 409, else 400. */
function http(e: unknown): never {
  if (e instanceof HttpError) throw e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/^no (fine-tuning )?job /.test(msg)) throw notFound(msg);
  if (/in flight|is (done|failed|cancelled)|not a step gate/.test(msg)) throw new HttpError(409, msg);
  throw badRequest(msg);
}

export interface FinetuneRoutesOptions {
  readonly service: FinetuneService;
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
    app.get('/finetune/jobs', async () => ({ jobs: s.list() }));

    app.post('/finetune/jobs', async (req, reply) => {
      const b = parse(jobBody, req.body);
      const fromCommand = b.kind === 'command' && b.command ? svc.commandDefaults(b.command) : undefined;
      const model = b.model ?? fromCommand?.model ?? o.defaultModel;
      if (!model) throw badRequest('model: the model being fine-tuned is required');
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
      if (!job) throw notFound(`no job ${req.params.id}`);
      if (job.state !== 'queued') return { job };
      const a = s.probe(job.id);
      return {
        job,
        admission: a.fits
          ? {
              fits: true,
              config: formatConfig(a.option.config),
              microBatch: a.option.microBatch,
              accumulation: a.option.granularity.accumulation,
              chunks: a.option.granularity.chunks,
              action: a.option.action,
              decision: a.decision,
              partUpperMs: a.option.partUpperMs,
              predictedTailMs: a.option.tailUpperMs,
              switched: a.switched,
            }
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
      if (!(waitMs >= 0)) throw badRequest(`waitMs must be a non-negative number of milliseconds, got ${req.query.waitMs}`);
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
      return { granted: true, microBatch: grant.microBatch, part: grant.part, expectedMs: grant.expectedMs };
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
  };
}

export interface StandaloneFinetuneAdminOptions extends FinetuneRoutesOptions {
  /** The bearer token every route needs. */
  readonly token: string;
}

/**
 * The fine-tuning admin API without a server: the admin scope (bearer token) with the job routes, and
 * GET/PUT /slo answered by the scheduler (`{slo, config, configText, jobs}`). Errors leave as
 * `{"error": …}`.
 */
export function standaloneFinetuneAdmin(o: StandaloneFinetuneAdminOptions): FastifyPluginAsync {
  const s = o.service.scheduler;
  return async (app) => {
    app.setErrorHandler((e, _req, reply) => {
      sendHttpError(reply, e);
    });
    await app.register(adminScope({ token: o.token, routes: [finetuneRoutes(o), sloRoutes(schedulerSlo(s))] }));
  };
}

function schedulerSlo(s: FinetuneScheduler): SloControl {
  return {
    slo: () => s.currentSlo,
    setSlo: (slo) => {
      s.setSlo(slo);
    },
    view: () => ({ config: s.config, configText: formatConfig(s.config), jobs: s.list() }),
  };
}

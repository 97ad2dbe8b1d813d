/**
 * Admin API under `/v1/`, behind `Authorization: Bearer <token>`:
 *   GET  /v1/config    clocks as read back, batch sizes, the last apply's adjustments
 *   PUT  /v1/config    apply clocks (checked against the device's tables) and/or a batch size
 *   GET  /v1/slo       the SLO and the batching it implies per model
 *   PUT  /v1/slo       change the SLO at run time (queue delay and admission follow at once)
 *   GET  /v1/profile   the profile being served
 *   GET  /v1/drift     drift detection and re-tuning: the tests' state, the probe budget, every change
 * The scope (`adminScope`: the bearer-token check, then the routes registered inside it), the body
 * validation (`parseBody`) and the SLO routes (`sloRoutes`) are defined here once. Further admin
 * routes (the fine-tuning scheduler's jobs API) register inside the same scope, so they get the same
 * authentication; they throw `HttpError`s, which leave as `{"error": …}`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { configProblem } from '../../core/config.ts';
import { MAX_SLO_MS, type Slo } from '../../core/slo.ts';
import { HttpError, badRequest, notFound } from '../http-error.ts';
import type { ServingContext } from '../serving-context.ts';

const hz = z.number().int().positive();
const configBody = z
  .object({ cpuHz: hz.optional(), gpuMinHz: hz.optional(), gpuMaxHz: hz.optional(), emcHz: hz.optional(), batch: z.number().int().min(1).optional() })
  .strict()
  .refine((c) => Object.values(c).some((v) => v !== undefined), 'give at least one of cpuHz, gpuMinHz, gpuMaxHz, emcHz, batch');

const sloBody = z.object({ latencyMs: z.number().positive().max(MAX_SLO_MS), quantile: z.number().gt(0).lt(1).optional() }).strict();

/** The body as `schema` reads it, or a 400 naming the first problems. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw badRequest(
      r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
        .join('; '),
    );
  return r.data;
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The admin bearer-token check, a fastify `onRequest` hook: 401 with a Bearer challenge when the token is missing or wrong. */
export function bearerAuth(token: string): (req: FastifyRequest) => Promise<void> {
  if (token.length < 8) throw new Error('the admin token must be at least 8 characters');
  return async (req) => {
    const h = req.headers.authorization;
    const challenge = { 'www-authenticate': 'Bearer realm="polythrottle-admin"' };
    if (!h) throw new HttpError(401, 'missing bearer token: send "Authorization: Bearer <token>"', challenge);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m || !tokenMatches(m[1]!, token)) throw new HttpError(401, 'wrong bearer token', challenge);
  };
}

export interface AdminScopeOptions {
  readonly token: string;
  /** The admin routes, registered in order inside the scope, behind the token. */
  readonly routes: readonly FastifyPluginAsync[];
}

/** The admin scope: every route registered in it needs the bearer token. */
export function adminScope(opts: AdminScopeOptions): FastifyPluginAsync {
  const auth = bearerAuth(opts.token);
  return async (app) => {
    app.addHook('onRequest', auth);
    for (const r of opts.routes) await app.register(r);
  };
}

/** What the SLO routes read and change: the server's serving context, or a fine-tuning scheduler on its own. */
export interface SloControl {
  slo(): Slo;
  setSlo(slo: Slo): void;
  /** What follows from the SLO, sent beside it by GET and PUT /slo. */
  view(): Record<string, unknown>;
}

/** GET /slo and PUT /slo (a new latency, and a quantile that defaults to the current one): both answer `{slo, ...view()}`. */
export function sloRoutes(control: SloControl): FastifyPluginAsync {
  return async (app) => {
    app.get('/slo', async () => ({ slo: control.slo(), ...control.view() }));
    app.put('/slo', async (req) => {
      const body = parseBody(sloBody, req.body);
      control.setSlo({ latencyMs: body.latencyMs, quantile: body.quantile ?? control.slo().quantile });
      return { slo: control.slo(), ...control.view() };
    });
  };
}

export interface AdminOptions {
  readonly token: string;
  /** Extra admin routes (registered under /v1, behind the same token). */
  readonly plugins?: readonly FastifyPluginAsync[];
}

/** The server's admin API: the serving context's routes and then `opts.plugins`, inside `adminScope`. */
export function adminPlugin(ctx: ServingContext, opts: AdminOptions): FastifyPluginAsync {
  return adminScope({ token: opts.token, routes: [servingRoutes(ctx), ...(opts.plugins ?? [])] });
}

function servingRoutes(ctx: ServingContext): FastifyPluginAsync {
  return async (app) => {
    const batching = () =>
      Object.fromEntries(
        ctx.models().map((m) => [
          m.name,
          {
            maxBatch: ctx.batcher.maxBatch(m.name),
            queueDelayMs: ctx.batcher.queueDelayMs(m.name),
            fullBatchServiceMs: ctx.batcher.fullBatchMs(m.name) ?? null,
            hostMs: ctx.batcher.hostAfterDispatchMs(m.name),
            queuedRows: ctx.batcher.queuedRows(m.name),
          },
        ]),
      );

    app.get('/config', async () => ({
      config: await ctx.currentConfig(),
      adjustments: ctx.applied?.adjustments ?? [],
      device: ctx.device ? { id: ctx.device.id, kind: ctx.device.kind } : null,
      batching: batching(),
    }));

    app.put('/config', async (req) => {
      const body = parseBody(configBody, req.body);
      const { batch, ...clocks } = body;
      const hasClocks = Object.values(clocks).some((v) => v !== undefined);
      if (hasClocks) {
        if (!ctx.device) throw new HttpError(409, 'this server has no device to apply clocks to');
        const domains = await ctx.device.domains();
        const current = ctx.applied?.applied ?? (await ctx.device.readClocks());
        const merged = { ...current, ...clocks, batch: batch ?? 1 };
        const problem = configProblem(merged, { ...domains, batch: [merged.batch] });
        if (problem) throw badRequest(problem);
      }
      const applied = await ctx.applyConfig(hasClocks ? clocks : undefined, batch);
      return { config: await ctx.currentConfig(), adjustments: applied?.adjustments ?? [], batching: batching() };
    });

    await app.register(sloRoutes({ slo: () => ctx.slo, setSlo: (slo) => ctx.setSlo(slo), view: () => ({ batching: batching() }) }));

    app.get('/drift', async () => {
      if (!ctx.drift) throw notFound('drift detection is off on this server (start it with re-tuning on)');
      return ctx.drift.view();
    });
    app.get('/profile', async () => {
      if (!ctx.profile) throw notFound('this server was started without a profile');
      return ctx.profile;
    });
  };
}

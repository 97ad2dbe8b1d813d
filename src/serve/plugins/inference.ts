/**
 * `POST /v2/models/{name}[/versions/{v}]/infer`: parse and check the request against the model's
 * metadata, queue it in the dynamic batcher, answer with this request's rows of the outputs.
 * Every answer is counted by status; admitted requests record their latency and SLO violations.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { malformedJson } from '../http-error.ts';
import { parseInferRequest } from '../infer-request.ts';
import { toJsonData } from '../tensor-data.ts';
import type { ServingContext } from '../serving-context.ts';
import { findModel } from './health.ts';

interface InferParams {
  name: string;
  version?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the batcher answered: the request was admitted and executed. */
    polythrottleQueueMs?: number;
  }
}

export function inferencePlugin(ctx: ServingContext): FastifyPluginAsync {
  return async (app) => {
    // Clients such as `curl -d` send JSON under other content types: parse any body as JSON.
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser(['text/plain', '*'], { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (e) {
        done(malformedJson((e as Error).message), undefined);
      }
    });

    // Shed load before the body is read and parsed: under overload most requests are refused, and
    // refusing them must cost as little event-loop time as possible (Node discards the unread body).
    app.addHook('onRequest', async (req: FastifyRequest<{ Params: InferParams }>) => {
      const name = req.params?.name;
      if (name !== undefined && ctx.model(name)) ctx.batcher.checkAdmission(name, 1);
    });

    app.addHook('onResponse', async (req: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply) => {
      const name = req.params?.name;
      const model = name !== undefined && ctx.model(name) ? name : '_unknown';
      const m = ctx.metrics;
      m.requests.inc({ model, status: String(reply.statusCode) });
      if (req.polythrottleQueueMs !== undefined && reply.statusCode === 200) {
        const ms = reply.elapsedTime;
        m.requestLatency.observe({ model }, ms / 1000);
        m.queueLatency.observe({ model }, req.polythrottleQueueMs / 1000);
        if (ms > ctx.slo.latencyMs) m.sloViolations.inc({ model });
      }
    });

    const infer = async (req: FastifyRequest<{ Params: InferParams }>) => {
      const meta = findModel(ctx, req.params.name, req.params.version);
      const maxBatch = ctx.batcher.maxBatch(meta.name) ?? 1;
      const parsed = parseInferRequest(req.body, meta, maxBatch, ctx.batcher.queueCapacity(meta.name));
      const result = await ctx.batcher.submit(meta.name, parsed.inputs, parsed.rows, parsed.signature);
      req.polythrottleQueueMs = result.queueMs;
      const wanted = parsed.outputs;
      const outputs = (wanted ? result.outputs.filter((o) => wanted.includes(o.name)) : result.outputs).map((o) => ({
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        data: toJsonData(o.data),
      }));
      return {
        model_name: meta.name,
        ...(req.params.version !== undefined ? { model_version: req.params.version } : {}),
        ...(parsed.id !== undefined ? { id: parsed.id } : {}),
        parameters: { batch_size: result.batchSize, queue_ms: round3(result.queueMs), service_ms: round3(result.serviceMs) },
        outputs,
      };
    };
    app.post<{ Params: InferParams }>('/v2/models/:name/infer', infer);
    app.post<{ Params: InferParams }>('/v2/models/:name/versions/:version/infer', infer);
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

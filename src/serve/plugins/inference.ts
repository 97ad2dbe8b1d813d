/**
 * `POST /v2/models/{name}[/versions/{v}]/infer`: parse and check the request against the model's
 * metadata, queue it in the dynamic batcher, answer with this request's rows of the outputs.
 * Every answer is counted by status; admitted requests record their latency and SLO violations.
 *
 * Bodies are JSON (KServe v2 REST) or the binary tensor extension (a JSON header of
 * `Inference-Header-Content-Length` bytes, then raw tensors): the fast path for large tensors.
 * When the server accounts host costs, each request's parse and encode times are measured here
 * (per model and body kind), and a request is admitted before its body is read against an
 * estimate from its Content-Length, holding its place while the body is parsed.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BINARY_HEADER, splitBinaryBody } from '../binary-tensor.ts';
import type { BodyKind } from '../host-cost.ts';
import { malformedJson } from '../http-error.ts';
import { parseInferRequest } from '../infer-request.ts';
import { parseInferJson } from '../json-fast-path.ts';
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
    /** When the request arrived (performance.now), before its body was read. */
    polythrottleStartedAt?: number;
    /** Event-loop time spent parsing its body so far, ms. */
    polythrottleParseMs?: number;
    /** Its place held in the batcher while the body is read and parsed. */
    polythrottleRelease?: () => void;
  }
}

/** The parsed body of an infer request: JSON, or the binary extension's header and tensor bytes. */
interface InferBody {
  readonly json: unknown;
  readonly binary?: Uint8Array;
}

const bodyKind = (req: FastifyRequest): BodyKind => (req.headers[BINARY_HEADER] !== undefined ? 'binary' : 'json');

export function inferencePlugin(ctx: ServingContext): FastifyPluginAsync {
  const host = ctx.hostCosts;
  return async (app) => {
    // Clients such as `curl -d` send JSON under other content types: parse any body as JSON, or as
    // the binary extension when its header says so.
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser(['application/json', 'text/plain', '*'], { parseAs: 'buffer' }, (req, body, done) => {
      const t0 = performance.now();
      const buf = body as Buffer;
      try {
        const h = req.headers[BINARY_HEADER];
        let parsed: InferBody | undefined;
        if (h !== undefined) {
          const split = splitBinaryBody(buf, Number(Array.isArray(h) ? h[0] : h));
          parsed = { json: split.header, binary: split.blob };
        } else if (buf.length > 0) parsed = { json: parseInferJson(buf) };
        req.polythrottleParseMs = performance.now() - t0;
        done(null, parsed);
      } catch (e) {
        done((e as { statusCode?: number }).statusCode === 400 ? (e as Error) : malformedJson((e as Error).message), undefined);
      }
    });

    // Shed load before the body is read and parsed: under overload most requests are refused, and
    // refusing them must cost as little event-loop time as possible (Node discards the unread body).
    app.addHook('onRequest', async (req: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply) => {
      req.polythrottleStartedAt = performance.now();
      const name = req.params?.name;
      if (name === undefined || !ctx.model(name)) return;
      const bytes = Number(req.headers['content-length'] ?? 0) || 0;
      const hostMs = host ? host.parseMs(name, bodyKind(req), bytes) : 0;
      ctx.batcher.checkAdmission(name, 1, { hostMs });
      if (host) {
        const release = ctx.batcher.reserve(name, 1, hostMs);
        req.polythrottleRelease = release;
        // whatever ends the exchange (an answer, a timeout, a reset connection), the place is released
        reply.raw.once('close', release);
      }
    });

    app.addHook('onResponse', async (req: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply) => {
      req.polythrottleRelease?.();
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
    app.addHook('onRequestAbort', async (req) => req.polythrottleRelease?.());

    const infer = async (req: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply) => {
      const meta = findModel(ctx, req.params.name, req.params.version);
      const maxBatch = ctx.batcher.maxBatch(meta.name) ?? 1;
      const body = req.body as InferBody | undefined;
      const t0 = performance.now();
      let parsed: ReturnType<typeof parseInferRequest>;
      try {
        parsed = parseInferRequest(body?.json, meta, maxBatch, ctx.batcher.queueCapacity(meta.name), body?.binary);
      } finally {
        req.polythrottleRelease?.();
      }
      if (host) {
        const bytes = Number(req.headers['content-length'] ?? 0) || 0;
        host.recordParse(meta.name, bodyKind(req), bytes, (req.polythrottleParseMs ?? 0) + performance.now() - t0);
      }
      const result = await ctx.batcher.submit(meta.name, parsed.inputs, parsed.rows, parsed.signature, { startedAt: req.polythrottleStartedAt });
      req.polythrottleQueueMs = result.queueMs;
      const t1 = performance.now();
      const wanted = parsed.outputs;
      const outputs = (wanted ? result.outputs.filter((o) => wanted.includes(o.name)) : result.outputs).map((o) => ({
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        data: toJsonData(o.data),
      }));
      const text = JSON.stringify({
        model_name: meta.name,
        ...(req.params.version !== undefined ? { model_version: req.params.version } : {}),
        ...(parsed.id !== undefined ? { id: parsed.id } : {}),
        parameters: { batch_size: result.batchSize, queue_ms: round3(result.queueMs), service_ms: round3(result.serviceMs) },
        outputs,
      });
      host?.recordEncode(meta.name, performance.now() - t1);
      return reply.type('application/json; charset=utf-8').send(text);
    };
    app.post<{ Params: InferParams }>('/v2/models/:name/infer', infer);
    app.post<{ Params: InferParams }>('/v2/models/:name/versions/:version/infer', infer);
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * KServe v2 health and metadata: `GET /v2/health/live`, `/v2/health/ready`, `/v2`,
 * `/v2/models/{name}[/versions/{v}]`, `/v2/models/{name}[/versions/{v}]/ready`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ModelMetadata } from '../../core/inference.ts';
import { notFound } from '../http-error.ts';
import type { ServingContext } from '../serving-context.ts';

export const SERVER_NAME = 'polythrottle';
export const SERVER_VERSION = '0.1.0';
/** Protocol extensions this server implements. */
export const EXTENSIONS = ['model_configuration', 'statistics_prometheus', 'polythrottle_energy', 'polythrottle_admin'];

/** The model a route names, or a 404 that lists what is served. */
export function findModel(ctx: ServingContext, name: string, version?: string): ModelMetadata {
  const m = ctx.model(name);
  if (!m) {
    const served = ctx.models().map((x) => `'${x.name}'`);
    throw notFound(`unknown model '${name}'; this server serves ${served.join(', ') || 'no models'}`);
  }
  if (version !== undefined && !(m.versions ?? ['1']).includes(version))
    throw notFound(`model '${name}' has no version '${version}' (versions: ${(m.versions ?? ['1']).join(', ')})`);
  return m;
}

interface ModelParams {
  name: string;
  version?: string;
}

export function healthPlugin(ctx: ServingContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/v2/health/live', async () => ({ live: true }));
    app.get('/v2/health/ready', async (_req, reply) => {
      const ready = ctx.ready && !ctx.batcher.closing;
      // KServe v2: a 200 status means true, a 4xx status false.
      return reply.code(ready ? 200 : 400).send({ ready });
    });
    app.get('/v2', async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }));

    const metadata = async (req: { params: ModelParams }) => {
      const m = findModel(ctx, req.params.name, req.params.version);
      return {
        name: m.name,
        versions: m.versions ?? ['1'],
        platform: m.platform,
        inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        outputs: m.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      };
    };
    app.get<{ Params: ModelParams }>('/v2/models/:name', metadata);
    app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version', metadata);

    const modelReady = async (req: { params: ModelParams }, reply: { code(n: number): { send(b: unknown): unknown } }) => {
      findModel(ctx, req.params.name, req.params.version);
      const ready = ctx.ready && !ctx.batcher.closing;
      return reply.code(ready ? 200 : 400).send({ name: req.params.name, ready });
    };
    app.get<{ Params: ModelParams }>('/v2/models/:name/ready', modelReady);
    app.get<{ Params: ModelParams }>('/v2/models/:name/versions/:version/ready', modelReady);
  };
}

/** `GET /metrics`: Prometheus text format. Gauges that mirror live state are refreshed per scrape. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServingContext } from '../serving-context.ts';

export function metricsPlugin(ctx: ServingContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      const m = ctx.metrics;
      for (const model of ctx.models()) {
        const labels = { model: model.name };
        m.queueDepth.set(labels, ctx.batcher.queuedRows(model.name));
        m.queueDelay.set(labels, ctx.batcher.queueDelayMs(model.name) / 1000);
        m.maxBatch.set(labels, ctx.batcher.maxBatch(model.name) ?? 0);
      }
      if (ctx.device) {
        try {
          m.setClocks(await ctx.device.readClocks());
        } catch {
          // keep the last clocks read; a failed read is not a reason to fail the scrape
        }
      }
      if (ctx.powerMeter) {
        const w = ctx.powerMeter.powerW();
        if (w !== undefined) m.setPower(w);
        m.setBoardEnergy(ctx.powerMeter.totalJ());
      }
      const { body, contentType } = await m.render();
      return reply.type(contentType).send(body);
    });
  };
}

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooProfile } from '../../src/model/index.ts';
import { createServer } from '../../src/serve/server.ts';
import { createHttpRunner } from '../../src/workload/http-runner.ts';
import { modelMetadata } from '../../src/workload/model-source.ts';
import { SimBackend } from '../../src/workload/sim-backend.ts';

describe('http runner against PolyThrottle’s own KServe v2 server (twin backend)', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    const backend = new SimBackend({
      board: 'orin-agx',
      models: [{ metadata: modelMetadata('bert-tiny', { seq: 16 }), profile: zooProfile('bert-tiny', { seq: 16 }) }],
    });
    app = await createServer({ backend, slo: { latencyMs: 2000, quantile: 0.99 }, batch: 8, warmupBatches: 0 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reads the served model’s metadata and runs batches with concurrency', async () => {
    const runner = await createHttpRunner({ url, model: 'bert-tiny', concurrency: 2 });
    const r = await runner.run({ batch: 4, length: { batches: 6 } });
    expect(r.errorReasons).toEqual([]);
    expect(r.served).toBe(24);
    expect(r.batchLatenciesMs).toHaveLength(6);
    await runner.close();
  });

  it('counts the server’s refusal of a batch above its limit, with the reason', async () => {
    const runner = await createHttpRunner({ url, model: 'bert-tiny' });
    const r = await runner.run({ batch: 16, length: { batches: 2 } });
    expect(r.served).toBe(0);
    expect(r.errors).toBe(2);
    expect(r.errorReasons[0]).toMatch(/POST .*\/v2\/models\/bert-tiny\/infer: 4\d\d /);
    await runner.close();
  });
});

import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/serve/open-backend.ts';
import { createServer } from '../../src/serve/server.ts';
import { FakeBackend, doubleRequest, post } from './fakes.ts';

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const a of apps.reverse()) await a.close();
});

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

describe('forwarding batches to an upstream KServe v2 endpoint', () => {
  it('batches here and runs the batches upstream (as in front of Triton)', async () => {
    const executor = new FakeBackend({ fixedMs: 20, perRowMs: 0 });
    // the upstream is another server without a queue delay of its own (no measured service time
    // and no warm-up: D = 0), so it runs each forwarded batch as it comes
    const upstreamUrl = await listen(
      await createServer({ backend: executor, slo: { latencyMs: 5000, quantile: 0.99 }, batch: 4, warmupBatches: 0, maxQueueDelayMs: 0 }),
    );
    const backend = await openBackend({ kind: 'http', models: ['double', 'ids'], upstream: upstreamUrl });
    const front = await createServer({ backend, slo: { latencyMs: 1000, quantile: 0.99 }, batch: 4, warmupBatches: 1 });
    const url = await listen(front);
    executor.batches.length = 0;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(`${url}/v2/models/double/infer`, doubleRequest(1, i * 4))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    answers.forEach((a, i) => {
      const y = (a.json.outputs as { name: string; data: number[] }[]).find((o) => o.name === 'y')!;
      expect(y.data).toEqual([0, 1, 2, 3].map((k) => 2 * (i * 4 + k)));
    });
    // the upstream saw the front's batches (rows > 1), never more than the front's limit
    expect(executor.batches.some((b) => b.rows > 1)).toBe(true);
    expect(executor.batches.every((b) => b.rows <= 4)).toBe(true);
    expect(executor.batches.reduce((s, b) => s + b.rows, 0)).toBe(8);
    const ids = await post(`${url}/v2/models/ids/infer`, { inputs: [{ name: 'tokens', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] }] });
    expect(ids.json.outputs).toMatchObject([{ name: 'next', datatype: 'INT64', data: [2, 3, 4] }]);
  });

  it('refuses an upstream URL that is not one, and an upstream that does not answer, clearly', async () => {
    await expect(openBackend({ kind: 'http', models: ['m'], upstream: 'not a url' })).rejects.toThrow(/is not a URL/);
    await expect(openBackend({ kind: 'http', models: ['m'] })).rejects.toThrow(/needs --upstream/);
    await expect(openBackend({ kind: 'http', models: ['m'], upstream: 'http://127.0.0.1:9' })).rejects.toThrow();
  });
});

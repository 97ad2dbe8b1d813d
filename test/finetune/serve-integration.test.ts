import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor } from '../../src/core/inference.ts';
import { finetuneServePlugin } from '../../src/finetune/server/serving-finetune.ts';
import { createServer } from '../../src/serve/server.ts';
import { adminCall } from '../fixtures/admin.ts';

/** A backend serving "efficientnet-b0" with a fixed 3 ms batch. */
class Backend implements InferenceBackend {
  readonly kind = 'test';
  models(): readonly ModelMetadata[] {
    return [
      {
        name: 'efficientnet-b0',
        platform: 'test',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
      },
    ];
  }
  async infer(_m: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    await new Promise((r) => setTimeout(r, 3));
    const x = inputs[0]!;
    return { outputs: [{ name: 'y', datatype: 'FP32', shape: x.shape, data: new Float32Array(x.data as Float32Array) }], serviceMs: 3 };
  }
  async close(): Promise<void> {}
}

const TOKEN = 'integration-token-42';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(db: string): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createServer({
    backend: new Backend(),
    slo: { latencyMs: 250, quantile: 0.99 },
    batch: 1,
    adminToken: TOKEN,
    warmupBatches: 0,
    adminPlugins: [finetuneServePlugin({ dbFile: db, model: 'efficientnet-b0', rateRps: 5, board: 'orin-agx' })],
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

const call = (url: string, method: string, path: string, body?: unknown) => adminCall(url, TOKEN, method, path, body);

describe('fine-tuning inside the inference server (sim board)', () => {
  it('runs a gate job between batches, follows PUT /v1/slo, and keeps queued jobs across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-ft-srv-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'jobs.db');
    const { app, url } = await start(db);
    let closed = false;
    cleanup.push(async () => {
      if (!closed) await app.close();
    });

    const unauth = await fetch(`${url}/v1/finetune/jobs`);
    expect(unauth.status).toBe(401);
    const sub = await call(url, 'POST', '/v1/finetune/jobs', { kind: 'gate', microBatch: 2 });
    expect(sub.status).toBe(201);
    const id = (sub.body.job as { id: string }).id;
    const infer = fetch(`${url}/v2/models/efficientnet-b0/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
    });
    const step = await call(url, 'POST', `/v1/finetune/jobs/${id}/step?waitMs=5000`);
    expect(step.body).toMatchObject({ granted: true, microBatch: 2 });
    await call(url, 'POST', `/v1/finetune/jobs/${id}/step/done`, { durationMs: 4 });
    expect((await infer).status).toBe(200);

    // The server's own SLO route reaches the scheduler.
    const put = await call(url, 'PUT', '/v1/slo', { latencyMs: 20 });
    expect(put.status).toBe(200);
    const st = await call(url, 'GET', '/v1/finetune/status');
    expect((st.body.slo as { latencyMs: number }).latencyMs).toBe(20);

    const second = await call(url, 'POST', '/v1/finetune/jobs', { kind: 'sim', steps: 3 });
    expect(second.status).toBe(201);
    await app.close();
    closed = true;

    const again = await start(db);
    cleanup.push(() => again.app.close());
    const list = await call(again.url, 'GET', '/v1/finetune/jobs');
    const jobs = list.body.jobs as { id: string; state: string; stepsDone: number }[];
    expect(jobs.map((j) => j.id)).toContain(id);
    expect(jobs.find((j) => j.id === id)!.stepsDone).toBe(1);
    expect(jobs.every((j) => j.state === 'queued' || j.state === 'running')).toBe(true);
  });
});

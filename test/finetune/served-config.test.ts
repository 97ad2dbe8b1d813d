/**
 * Fine-tuning inside `serve` on the twin: the server serves at the configuration it was given; the
 * scheduler switches only while a job runs and switches back after; the warm-up measures the
 * configuration that is served.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { FrequencyConfig } from '../../src/core/device.ts';
import type { InferenceBackend } from '../../src/core/inference.ts';
import { createSimDevice } from '../../src/device/sim/index.ts';
import { finetuneServePlugin } from '../../src/finetune/server/serving-finetune.ts';
import { openBackend } from '../../src/serve/open-backend.ts';
import { type ServeSession, startServing } from '../../src/serve/serve-session.ts';
import { adminCall } from '../fixtures/admin.ts';

const TOKEN = 'served-config-token';
const MODEL = 'efficientnet-b0';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Started {
  session: ServeSession;
  /** Clocks the twin had when each backend batch began, with the batch's rows. */
  batches: { rows: number; clocks: FrequencyConfig }[];
  before: FrequencyConfig;
  twin: ReturnType<typeof createSimDevice>;
}

async function start(opts: { batch: number; clocks?: FrequencyConfig; sloMs: number; rateRps: number; shrinkSteps?: boolean }): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'pt-ft-served-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const twin = createSimDevice('orin-agx');
  const before = await twin.readClocks();
  const device = Object.assign(Object.create(twin) as typeof twin, { close: async () => {} });
  const inner = await openBackend({ kind: 'sim', models: [MODEL], device });
  const batches: Started['batches'] = [];
  const backend: InferenceBackend = {
    kind: inner.kind,
    models: () => inner.models(),
    infer: async (model, inputs) => {
      batches.push({ rows: inputs[0]!.shape[0]!, clocks: await twin.readClocks() });
      return inner.infer(model, inputs);
    },
    close: () => inner.close(),
  };
  const session = await startServing({
    backend,
    device,
    ...(opts.clocks ? { clocks: opts.clocks } : {}),
    slo: { latencyMs: opts.sloMs, quantile: 0.99 },
    batch: opts.batch,
    port: 0,
    warmupBatches: 2,
    adminToken: TOKEN,
    adminPlugins: [
      finetuneServePlugin({
        dbFile: join(dir, 'jobs.db'),
        model: MODEL,
        rateRps: opts.rateRps,
        board: 'orin-agx',
        ...(opts.shrinkSteps === undefined ? {} : { shrinkSteps: opts.shrinkSteps }),
      }),
    ],
  });
  cleanup.push(() => session.shutdown());
  return { session, batches, before, twin };
}

const admin = (url: string, method: string, path: string, body?: unknown) => adminCall(url, TOKEN, method, path, body);

const infer = (url: string) =>
  fetch(`${url}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: new Array(3 * 224 * 224).fill(0) }] }),
  });

const clocksOf = (c: Config | FrequencyConfig): FrequencyConfig => ({ cpuHz: c.cpuHz, gpuMinHz: c.gpuMinHz, gpuMaxHz: c.gpuMaxHz, emcHz: c.emcHz });

describe('serve --finetune on the twin', () => {
  it('serves at the given batch size and clocks: nothing is switched at start, and the warm-up measures that configuration', async () => {
    const { session, batches, before } = await start({ batch: 4, sloMs: 50, rateRps: 20 });
    const cfg = await admin(session.url, 'GET', '/v1/config');
    expect(cfg.status).toBe(200);
    const config = cfg.body.config as Config;
    expect(config.batch).toBe(4);
    expect(clocksOf(config)).toEqual(clocksOf(before));
    expect((cfg.body.batching as Record<string, { maxBatch: number }>)[MODEL]!.maxBatch).toBe(4);
    // Warm-up: batch 1 and the limit, every batch at the served clocks.
    expect(batches.map((b) => b.rows)).toEqual([1, 1, 4, 4]);
    for (const b of batches) expect(clocksOf(b.clocks)).toEqual(clocksOf(before));
    const st = await admin(session.url, 'GET', '/v1/finetune/status');
    expect(st.status).toBe(200);
    // The scheduler's base configuration is the one served, not one of its own choosing.
    expect(clocksOf(st.body.config as Config)).toEqual(clocksOf(before));
    expect((st.body.config as Config).batch).toBe(4);
  });

  it('keeps the given clocks too, and runs a simulated job while requests flow, back at the served configuration after', async () => {
    const clocks = { gpuMinHz: 930_750_000, gpuMaxHz: 930_750_000 };
    const { session, twin } = await start({ batch: 2, clocks, sloMs: 200, rateRps: 20 });
    const served = await twin.readClocks();
    expect(served.gpuMaxHz).toBe(930_750_000);
    const sub = await admin(session.url, 'POST', '/v1/finetune/jobs', { kind: 'sim', model: 'mobilenet-v2', microBatch: 2, steps: 3 });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const id = (sub.body.job as { id: string }).id;
    const answers: number[] = [];
    let state = '';
    for (let i = 0; i < 200 && state !== 'done'; i++) {
      answers.push((await infer(session.url)).status);
      const j = await admin(session.url, 'GET', `/v1/finetune/jobs/${id}`);
      state = (j.body.job as { state: string }).state;
      expect(state).not.toBe('failed');
    }
    expect(state).toBe('done');
    expect(answers.filter((s) => s !== 200)).toEqual([]);
    const cfg = (await admin(session.url, 'GET', '/v1/config')).body.config as Config;
    expect(clocksOf(cfg)).toEqual(clocksOf(served));
    expect(cfg.batch).toBe(2);
  });

  it("after an operator changes the configuration (PUT /v1/config), a job that needed a switch returns to the operator's configuration", async () => {
    // Steps at their requested size: the job can only run by switching (a shrunk step would fit here).
    const { session, twin } = await start({ batch: 4, sloMs: 50, rateRps: 20, shrinkSteps: false });
    // Slow clocks where inference alone meets the SLO but a fine-tuning step does not fit.
    const slow = { gpuMinHz: 420_750_000, gpuMaxHz: 420_750_000, emcHz: 2_133_000_000, batch: 1 };
    const put = await admin(session.url, 'PUT', '/v1/config', slow);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const operator = await twin.readClocks();
    const st = await admin(session.url, 'GET', '/v1/finetune/status');
    expect(st.body.config as Config).toEqual({ ...operator, batch: 1 });
    const sub = await admin(session.url, 'POST', '/v1/finetune/jobs', { kind: 'sim', model: 'efficientnet-b0', microBatch: 8, steps: 3 });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const id = (sub.body.job as { id: string }).id;
    let job: { state: string; switchEnergyJ?: number } = { state: '' };
    for (let i = 0; i < 200 && job.state !== 'done'; i++) {
      await infer(session.url);
      job = (await admin(session.url, 'GET', `/v1/finetune/jobs/${id}`)).body.job as typeof job;
    }
    expect(job.state).toBe('done');
    expect(job.switchEnergyJ).toBeDefined(); // it ran at a switched configuration
    const cfg = (await admin(session.url, 'GET', '/v1/config')).body.config as Config;
    expect(clocksOf(cfg)).toEqual(clocksOf(operator));
    expect(cfg.batch).toBe(1);
  });

  it('an operator who changes only the batch size while a job runs at a switched configuration gets back the served clocks, not the switched ones', async () => {
    const { session, twin } = await start({ batch: 4, sloMs: 50, rateRps: 20, shrinkSteps: false });
    const slow = { gpuMinHz: 420_750_000, gpuMaxHz: 420_750_000, emcHz: 2_133_000_000, batch: 1 };
    expect((await admin(session.url, 'PUT', '/v1/config', slow)).status).toBe(200);
    const served = await twin.readClocks();
    // A gate job stays running (at the configuration it needed) until its loop completes it.
    const sub = await admin(session.url, 'POST', '/v1/finetune/jobs', { kind: 'gate', model: 'efficientnet-b0', microBatch: 8 });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const id = (sub.body.job as { id: string; state: string }).id;
    expect((sub.body.job as { state: string }).state).toBe('running');
    const during = (await admin(session.url, 'GET', '/v1/config')).body.config as Config;
    expect(clocksOf(during)).not.toEqual(clocksOf(served)); // it needed a switch
    expect((await admin(session.url, 'PUT', '/v1/config', { batch: 2 })).status).toBe(200);
    const done = await admin(session.url, 'POST', `/v1/finetune/jobs/${id}/complete`, {});
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const after = (await admin(session.url, 'GET', '/v1/config')).body.config as Config;
    expect(clocksOf(after)).toEqual(clocksOf(served));
    expect(after.batch).toBe(2);
  });
});

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.ts';
import { FakeBackend, FakeDevice, doubleRequest, post } from './fakes.ts';

const TOKEN = 'test-token-123456';
let app: FastifyInstance;
let base: string;
let device: FakeDevice;

beforeAll(async () => {
  device = new FakeDevice();
  app = await createServer({
    backend: new FakeBackend({ powerW: 20 }),
    slo: { latencyMs: 200, quantile: 0.99 },
    batch: 4,
    device,
    adminToken: TOKEN,
    bodyLimitBytes: 64 * 1024,
    loopLagAware: false, // the queue-delay arithmetic below is exact only without the lag term
    profile: { source: 'manual', config: { batch: 4 }, slo: { latencyMs: 200, quantile: 0.99 } },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(async () => {
  await app.close();
});

const get = async (path: string, headers: Record<string, string> = {}) => {
  const r = await fetch(base + path, { headers });
  return { status: r.status, headers: r.headers, json: (await r.json().catch(() => undefined)) as Record<string, unknown> };
};

describe('KServe v2 health and metadata', () => {
  it('answers live, ready, server and model metadata', async () => {
    expect(await get('/v2/health/live')).toMatchObject({ status: 200, json: { live: true } });
    expect(await get('/v2/health/ready')).toMatchObject({ status: 200, json: { ready: true } });
    const server = await get('/v2');
    expect(server.json).toMatchObject({ name: 'polythrottle' });
    expect(server.json.extensions).toContain('statistics_prometheus');
    const m = await get('/v2/models/double');
    expect(m.status).toBe(200);
    expect(m.json).toMatchObject({
      name: 'double',
      platform: 'fake',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect(await get('/v2/models/double/ready')).toMatchObject({ status: 200, json: { name: 'double', ready: true } });
    expect((await get('/v2/models/double/versions/1')).status).toBe(200);
  });

  it('answers 404 with the protocol error body for unknown models, versions and routes', async () => {
    const m = await get('/v2/models/resnet');
    expect(m.status).toBe(404);
    expect(m.json.error).toMatch(/unknown model 'resnet'.*'double', 'ids'/);
    expect((await get('/v2/models/resnet/ready')).status).toBe(404);
    expect((await get('/v2/models/double/versions/7')).json.error).toMatch(/no version '7'/);
    const r = await post(`${base}/v2/models/nope/infer`, doubleRequest(1));
    expect(r.status).toBe(404);
    expect(r.json.error).toMatch(/unknown model 'nope'/);
    expect((await get('/v3/whatever')).json.error).toMatch(/no route GET \/v3\/whatever/);
  });
});

describe('inference', () => {
  it("runs a request and returns this request's outputs as the protocol specifies", async () => {
    const r = await post(`${base}/v2/models/double/infer`, { id: 'abc', ...doubleRequest(2, 1) });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model_name: 'double', id: 'abc' });
    const outputs = r.json.outputs as { name: string; shape: number[]; datatype: string; data: number[] }[];
    expect(outputs[0]).toEqual({ name: 'y', datatype: 'FP32', shape: [2, 4], data: [2, 4, 6, 8, 10, 12, 14, 16] });
    expect(outputs[1]).toEqual({ name: 'sum', datatype: 'FP32', shape: [2, 1], data: [10, 26] });
  });

  it('accepts nested data, filters requested outputs, and handles INT64', async () => {
    const nested = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }], outputs: [{ name: 'sum' }] };
    const r = await post(`${base}/v2/models/double/infer`, nested);
    expect(r.status).toBe(200);
    expect(r.json.outputs).toEqual([{ name: 'sum', datatype: 'FP32', shape: [1, 1], data: [10] }]);
    const ids = await post(`${base}/v2/models/ids/versions/1/infer`, { inputs: [{ name: 'tokens', shape: [1, 3], datatype: 'INT64', data: [5, 6, 7] }] });
    expect(ids.status).toBe(200);
    expect(ids.json).toMatchObject({ model_name: 'ids', model_version: '1', outputs: [{ name: 'next', data: [6, 7, 8] }] });
  });

  it.each([
    ['malformed JSON', '{"inputs": [', /malformed JSON/],
    ['not an object', '[1,2]', /JSON object with an "inputs" array/],
    ['no inputs', { inputs: [] }, /inputs: .*>=1/],
    ['wrong tensor name', { inputs: [{ name: 'z', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /unknown input 'z'.*expected 'x'/],
    ['wrong shape', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }, /input 'x' has shape \[1,3\].*\[-1,4\]/],
    ['wrong rank', { inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /rank 2/],
    ['wrong datatype', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] }, /datatype INT32 but the model expects FP32/],
    ['unknown datatype', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] }, /unknown datatype 'FLOAT'/],
    ['too few elements', { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /4 elements but shape \[2,4\] needs 8/],
    ['bad element', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 'a', 3, 4] }] }, /element 1 is "a", expected a finite number/],
    ['batch over the limit', doubleRequest(5), /batch of 5 .* at most 4/],
    ['unknown output', { ...doubleRequest(1), outputs: [{ name: 'w' }] }, /unknown output 'w'/],
    ['int out of range', { inputs: [{ name: 'tokens', shape: [1, 3], datatype: 'INT64', data: [1, 2.5, 3] }] }, /element 1 is 2.5, expected an integer/, 'ids'],
  ])('answers 400 naming the problem: %s', async (_what, body, message, model = 'double') => {
    const r = await post(`${base}/v2/models/${model}/infer`, body);
    expect(r.status).toBe(400);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
  });

  it('answers 413 to a body over the limit', async () => {
    const r = await post(`${base}/v2/models/double/infer`, doubleRequest(4000));
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/larger than the server accepts/);
  });

  it('parses JSON sent without a JSON content type', async () => {
    const r = await fetch(`${base}/v2/models/double/infer`, { method: 'POST', body: JSON.stringify(doubleRequest(1)) });
    expect(r.status).toBe(200);
  });
});

describe('metrics', () => {
  it('exposes request, batch, energy, clock and queue metrics in Prometheus text format', async () => {
    await post(`${base}/v2/models/double/infer`, doubleRequest(1));
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    for (const name of [
      'polythrottle_request_duration_seconds_bucket{le="0.001",model="double"}',
      'polythrottle_batch_duration_seconds_count{model="double"}',
      'polythrottle_batch_size_bucket',
      'polythrottle_requests_total{model="double",status="200"}',
      'polythrottle_requests_total{model="double",status="400"}',
      'polythrottle_requests_total{model="_unknown",status="404"}',
      'polythrottle_energy_per_request_joules_count{model="double"}',
      'polythrottle_queue_depth{model="double"} 0',
      'polythrottle_clock_hertz{clock="gpu_max"} 1300500000',
      'polythrottle_slo_latency_seconds{quantile="0.99"} 0.2',
      'polythrottle_board_power_watts',
    ])
      expect(text).toContain(name);
    // energy reported by the backend: 20 W × service time, never zero
    const energy = Number(/polythrottle_energy_joules_total\{model="double"\} ([\d.e-]+)/.exec(text)?.[1]);
    expect(energy).toBeGreaterThan(0);
  });
});

describe('admin API', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  it('refuses a missing or wrong token with 401', async () => {
    const none = await get('/v1/config');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(none.json.error).toMatch(/missing bearer token/);
    const wrong = await get('/v1/config', { authorization: 'Bearer nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatch(/wrong bearer token/);
  });

  it('shows the configuration, SLO and profile', async () => {
    const c = await get('/v1/config', auth);
    expect(c.status).toBe(200);
    expect(c.json.config).toMatchObject({ gpuMaxHz: 1_300_500_000, batch: 4 });
    expect(await get('/v1/slo', auth)).toMatchObject({ json: { slo: { latencyMs: 200, quantile: 0.99 } } });
    expect(await get('/v1/profile', auth)).toMatchObject({ json: { source: 'manual' } });
  });

  it('changes the SLO at run time and the queue delay follows', async () => {
    const put = async (path: string, body: unknown) => {
      const r = await fetch(base + path, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    type Batching = Record<string, { queueDelayMs: number; fullBatchServiceMs: number; hostMs: number }>;
    // S is measured (wall time of the fake's batches), so it grows on a loaded host: check D against
    // the S the server reports, and raise the SLO so that D stays above its floor of 0 at any S < 0.9 s.
    const before = ((await get('/v1/slo', auth)).json.batching as Batching).double!;
    expect(before.fullBatchServiceMs).toBeGreaterThan(0);
    // D = 0.9·L − 2·S − the host work after dispatch (one parse in progress, the batch's answers encoded)
    expect(before.queueDelayMs).toBeCloseTo(Math.max(0, 0.9 * 200 - 2 * before.fullBatchServiceMs - before.hostMs), 5);
    const r = await put('/v1/slo', { latencyMs: 1000 });
    expect(r.status).toBe(200);
    const after = (r.json.batching as Batching).double!;
    expect(after.fullBatchServiceMs).toBe(before.fullBatchServiceMs); // no batch ran in between
    expect(after.queueDelayMs).toBeCloseTo(0.9 * 1000 - 2 * after.fullBatchServiceMs - after.hostMs, 5); // D = 0.9·L − 2·S − host
    expect(after.queueDelayMs).toBeGreaterThan(before.queueDelayMs);
    expect((await put('/v1/slo', { latencyMs: -1 })).status).toBe(400);
    // an SLO past an hour would overflow the batcher's timers: refused, not accepted
    const huge = await put('/v1/slo', { latencyMs: 1e300 });
    expect(huge.status).toBe(400);
    expect(huge.json).toMatchObject({ error: expect.stringMatching(/latencyMs/) });
    await put('/v1/slo', { latencyMs: 200 });
  });

  it('applies clocks through the device, checking its tables', async () => {
    const put = async (body: unknown) => {
      const r = await fetch(`${base}/v1/config`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    const bad = await put({ gpuMaxHz: 123 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/gpuMaxHz=123 is not in the device's table/);
    const ok = await put({ gpuMaxHz: 918_000_000, batch: 2 });
    expect(ok.status).toBe(200);
    expect(device.applies.at(-1)).toEqual({ gpuMaxHz: 918_000_000 });
    expect(ok.json.config).toMatchObject({ gpuMaxHz: 918_000_000, batch: 2 });
    expect((await post(`${base}/v2/models/double/infer`, doubleRequest(3))).json.error).toMatch(/at most 2/);
    await put({ gpuMaxHz: 1_300_500_000, batch: 4 });
  });
});

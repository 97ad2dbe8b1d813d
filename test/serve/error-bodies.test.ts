/**
 * Every input is bounded and every error leaves as the protocol's body `{"error": "…"}`: the server's
 * own 4xx, fastify's (bad URL, over-long parameter, body limits) and what Node's HTTP parser refuses
 * before a route sees the request (431, 408).
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.ts';
import { toTensorData } from '../../src/serve/tensor-data.ts';
import { FakeBackend, doubleRequest, post } from './fakes.ts';

let app: FastifyInstance;
let base: string;
let port: number;

beforeAll(async () => {
  app = await createServer({
    backend: new FakeBackend(),
    slo: { latencyMs: 500, quantile: 0.99 },
    batch: 4,
    maxQueueRows: 2,
    bodyLimitBytes: 16 * 1024,
    warmupBatches: 0,
    timeouts: { headersMs: 300, requestMs: 300 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  port = typeof a === 'object' && a ? a.port : 0;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app.close();
});

/** Send raw bytes and collect everything the server answers until it closes the connection. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      out += d;
    });
    s.on('error', (e) => (out ? resolve(out) : reject(e)));
    s.on('close', () => resolve(out));
    s.write(bytes);
  });
}
const statusOf = (res: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(res)?.[1]);
const bodyOf = (res: string) => JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

describe('values that do not fit the datatype are refused', () => {
  it('FP32 elements beyond float32 range answer 400 (they would reach the model as Infinity)', async () => {
    for (const v of [3.5e38, -3.5e38, 1e300]) {
      const r = await post(`${base}/v2/models/double/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, v, 3, 4] }] });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: expect.stringMatching(/input 'x': element 1 is -?1?[\d.e+]+, expected a number within FP32 range/) });
    }
    // the largest float32 itself is fine
    const ok = await post(`${base}/v2/models/double/infer`, {
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [3.4028234663852886e38, 0, 0, 0] }],
    });
    expect(ok.status).toBe(200);
  });

  it('checks FP16 and FP64 ranges too', () => {
    expect(toTensorData('FP16', [65504])).toBeInstanceOf(Float32Array);
    expect(toTensorData('FP16', [1, 70000])).toMatch(/element 1 is 70000, expected a number within FP16 range \(±65504\)/);
    expect(toTensorData('FP32', [3.4028234663852886e38])).toBeInstanceOf(Float32Array);
    expect(toTensorData('FP32', [3.5e38])).toMatch(/FP32 range/);
    expect(toTensorData('FP64', [1e300])).toBeInstanceOf(Float64Array);
  });
});

describe('a batch the queue can never hold', () => {
  it('answers a final 400 naming the queue capacity, not 503 + Retry-After', async () => {
    const r = await post(`${base}/v2/models/double/infer`, doubleRequest(3));
    expect(r.status).toBe(400);
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.json).toEqual({ error: expect.stringMatching(/batch of 3 rows but the queue of model 'double' holds at most 2 \(--max-queue\)/) });
    expect((await post(`${base}/v2/models/double/infer`, doubleRequest(2))).status).toBe(200);
  });
});

describe('one error body for every error', () => {
  it('malformed JSON is said once, whatever the content type', async () => {
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'text/plain' }]) {
      const r = await post(`${base}/v2/models/double/infer`, '{"inputs": [', headers);
      expect(r.status).toBe(400);
      expect(Object.keys(r.json)).toEqual(['error']);
      expect(r.json.error).toMatch(/^malformed JSON body: /);
      expect(r.json.error).not.toMatch(/malformed JSON body:.*malformed JSON body/);
    }
  });

  it("fastify's own errors: unknown route 404, bad URL 400, over-long parameter 414, body too large 413", async () => {
    const cases: [string, RequestInit, number, RegExp][] = [
      ['/v3/nothing', {}, 404, /no route GET \/v3\/nothing/],
      ['/v2/models/%E0%A4%A/ready', {}, 400, /malformed URL/],
      [`/v2/models/${'m'.repeat(300)}/ready`, {}, 414, /URL too long/],
      [
        '/v2/models/double/infer',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doubleRequest(1000)) },
        413,
        /larger than the server accepts/,
      ],
    ];
    for (const [path, init, status, message] of cases) {
      const r = await fetch(base + path, init);
      const body = (await r.json()) as Record<string, unknown>;
      expect(r.status, path.slice(0, 40)).toBe(status);
      expect(body).toEqual({ error: expect.stringMatching(message) });
    }
  });

  it("Node's parser: headers over 16 KiB answer 431, a garbled request 400, both as {error}", async () => {
    const big = await raw(`GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(big)).toBe(431);
    expect(bodyOf(big)).toEqual({ error: expect.stringMatching(/headers are larger than the server accepts/) });
    const garbled = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(statusOf(garbled)).toBe(400);
    expect(bodyOf(garbled)).toEqual({ error: expect.stringMatching(/malformed HTTP request/) });
  });

  it('a client that sends part of a body gets 408 {error} when the request timeout passes, and the connection closes', async () => {
    const res = await raw('POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": [');
    expect(statusOf(res)).toBe(408);
    expect(bodyOf(res)).toEqual({ error: expect.stringMatching(/not received in time/) });
  });
});

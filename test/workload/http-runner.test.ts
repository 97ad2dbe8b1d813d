import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpBackend } from '../../src/workload/http-backend.ts';
import { createHttpRunner } from '../../src/workload/http-runner.ts';
import { type KServeFixture, startKServeFixture } from '../fixtures/kserve-fixture.ts';

describe('http runner against a KServe v2 server on loopback', () => {
  let srv: KServeFixture;
  beforeAll(async () => {
    srv = await startKServeFixture();
  });
  afterAll(async () => {
    await srv?.close();
  });
  beforeEach(() => {
    Object.assign(srv.behaviour, { delayMs: 2, failStatus: 0, hang: false, drop: false, extensions: ['binary_tensor_data'] });
    srv.received.length = 0;
    srv.encodings.length = 0;
  });

  it('speaks Triton’s binary tensor extension when asked: raw bytes both ways', async () => {
    const b = await HttpBackend.connect({ url: srv.url, models: ['doubler'], binary: true });
    const r = await b.infer('doubler', [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 0.5] }]);
    expect(srv.encodings).toEqual(['binary']);
    expect(r.outputs[0]!.shape).toEqual([2, 4]);
    expect(Array.from(r.outputs[0]!.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12, 14, 1]);
    const runner = await createHttpRunner({ url: srv.url, model: 'doubler', binary: true });
    const run = await runner.run({ batch: 3, length: { batches: 2 } });
    expect(run.errorReasons).toEqual([]);
    expect(run.served).toBe(6);
    expect(srv.encodings).toEqual(['binary', 'binary', 'binary']);
    await runner.close();
  });

  it('refuses binary tensors up front when the server does not list the extension', async () => {
    srv.behaviour.extensions = ['classification'];
    await expect(HttpBackend.connect({ url: srv.url, models: ['doubler'], binary: true })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/does not support binary tensors \(its extensions: classification\)/),
    });
    expect(srv.encodings).toEqual([]);
  });

  it('reads the model metadata and returns the outputs of a batch', async () => {
    const b = await HttpBackend.connect({ url: `${srv.url}/`, models: ['doubler'] });
    expect(b.metadata('doubler')).toMatchObject({ platform: 'onnxruntime_onnx', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }] });
    const r = await b.infer('doubler', [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }]);
    expect(r.outputs[0]).toEqual({ name: 'y', datatype: 'FP32', shape: [2, 4], data: [2, 4, 6, 8, 10, 12, 14, 16] });
    expect(r.serviceMs).toBeGreaterThan(0);
    await b.close();
  });

  it('runs a count of batches at the requested batch size and concurrency', async () => {
    srv.behaviour.delayMs = 20;
    const runner = await createHttpRunner({ url: srv.url, model: 'doubler', seed: 1 });
    let inFlightPeak = 0;
    const timer = setInterval(() => {
      inFlightPeak = Math.max(inFlightPeak, srv.received.length);
    }, 1);
    const r = await runner.run({ batch: 8, length: { batches: 12 }, concurrency: 4 });
    clearInterval(timer);
    expect(r.errors).toBe(0);
    expect(r.batchLatenciesMs).toHaveLength(12);
    expect(r.served).toBe(96);
    expect(srv.received).toEqual(Array(12).fill(8));
    // 12 batches of ≥20 ms with 4 in flight take about 3 rounds, far less than 12 sequential ones.
    expect(Math.min(...r.batchLatenciesMs)).toBeGreaterThanOrEqual(19);
    expect(r.wallS * 1000).toBeLessThan(r.batchLatenciesMs.reduce((a, b) => a + b, 0) * 0.6);
    await runner.close();
  });

  it('runs a timed window', async () => {
    const runner = await createHttpRunner({ url: srv.url, model: 'doubler' });
    let started = 0;
    const r = await runner.run({ batch: 2, length: { durationS: 0.3 }, onStart: () => started++ });
    expect(started).toBe(1);
    expect(r.wallS).toBeGreaterThanOrEqual(0.29);
    expect(r.served).toBe(r.batchLatenciesMs.length * 2);
    expect(r.batchLatenciesMs.length).toBeGreaterThan(3);
    await runner.close();
  });

  it('counts non-2xx answers with the server reason and stops; nothing is averaged in', async () => {
    const runner = await createHttpRunner({ url: srv.url, model: 'doubler' });
    srv.behaviour.failStatus = 500;
    const r = await runner.run({ batch: 1, length: { batches: 50 } });
    expect(r.batchLatenciesMs).toHaveLength(0);
    expect(r.served).toBe(0);
    expect(r.errors).toBe(5);
    expect(r.errorReasons).toEqual([expect.stringMatching(/500 Internal Server Error: injected failure 500/)]);
    await runner.close();
  });

  it('reports a timeout when the server does not answer', async () => {
    const runner = await createHttpRunner({ url: srv.url, model: 'doubler', timeoutMs: 100 });
    srv.behaviour.hang = true;
    const r = await runner.run({ batch: 1, length: { batches: 2 } });
    expect(r.errors).toBe(2);
    expect(r.errorReasons[0]).toMatch(/no answer within 100 ms/);
    await runner.close();
  });

  it('reports a dropped connection', async () => {
    const b = await HttpBackend.connect({ url: srv.url, models: ['doubler'] });
    srv.behaviour.drop = true;
    await expect(b.infer('doubler', [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }])).rejects.toMatchObject({
      failure: 'connection',
    });
  });

  it('fails to connect with the reason: refused, unknown model, bad URL', async () => {
    const closed = await startKServeFixture();
    await closed.close(); // a port nobody listens on any more
    await expect(HttpBackend.connect({ url: closed.url, models: ['doubler'] })).rejects.toThrow(/connection failed \(ECONNREFUSED\)/);
    await expect(HttpBackend.connect({ url: srv.url, models: ['resnet'] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/has no model "resnet"/),
    });
    await expect(HttpBackend.connect({ url: 'localhost:8000', models: ['doubler'] })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('passes a 400 answer through with its status (the server can relay it)', async () => {
    const b = await HttpBackend.connect({ url: srv.url, models: ['doubler'] });
    await expect(b.infer('doubler', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }])).rejects.toMatchObject({
      failure: 'http-status',
      status: 400,
      message: expect.stringMatching(/input x must be FP32/),
    });
  });
});

/**
 * Host-side cost in admission: the binary tensor extension, the per-request parse/encode estimate,
 * and the batcher counting host work and held places (a burst is refused at its excess). Virtual
 * clocks where the batcher allows; no assertion on wall-clock timing.
 */
import { describe, expect, it } from 'vitest';
import { decodeBinaryTensor, splitBinaryBody } from '../../src/serve/binary-tensor.ts';
import { DynamicBatcher } from '../../src/serve/dynamic-batcher.ts';
import { HostCostEstimator } from '../../src/serve/host-cost.ts';
import { OverloadedError } from '../../src/serve/http-error.ts';
import { createServer } from '../../src/serve/server.ts';
import { ServiceTimeEstimator } from '../../src/serve/service-time.ts';
import { encodeBinaryInferRequest } from '../../src/workload/http-backend.ts';
import { FakeBackend } from './fakes.ts';

const slo = { latencyMs: 100, quantile: 0.99 };

describe('host cost estimate', () => {
  it('scales the parse estimate with the body size and keeps body kinds apart', () => {
    const h = new HostCostEstimator({ quantile: 0.5 });
    expect(h.parseMs('m', 'json', 100_000)).toBe(0);
    for (let i = 0; i < 5; i++) h.recordParse('m', 'json', 100_000, 10);
    h.recordParse('m', 'binary', 100_000, 0.1);
    expect(h.parseMs('m', 'json', 200_000)).toBeCloseTo(20, 6);
    expect(h.parseMs('m', 'binary', 100_000)).toBeCloseTo(0.1, 6);
    // small bodies cost at least the fixed share (4 KB worth)
    expect(h.parseMs('m', 'json', 10)).toBeCloseTo((10 / 100_000) * 4096, 6);
    h.recordEncode('m', 0.5);
    expect(h.encodeMs('m')).toBe(0.5);
    expect(h.busyMs).toBeCloseTo(5 * 10 + 0.1 + 0.5, 6);
  });
});

describe('binary tensor extension', () => {
  it('splits header and tensor bytes and decodes each datatype', () => {
    const x = { name: 'x', datatype: 'FP32' as const, shape: [2, 4], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) };
    const enc = encodeBinaryInferRequest([x], ['y']) as { bytes: Uint8Array; headerLength: number };
    const body = splitBinaryBody(Buffer.from(enc.bytes), enc.headerLength);
    expect((body.header as { inputs: { parameters: { binary_data_size: number } }[] }).inputs[0]!.parameters.binary_data_size).toBe(32);
    expect(Array.from(decodeBinaryTensor('FP32', body.blob, 8) as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeBinaryTensor('FP32', body.blob, 7)).toMatch(/32 bytes of FP32 but the shape needs 7/);
    const ids = new Uint8Array(new BigInt64Array([5n, -1n]).buffer);
    expect(Array.from(decodeBinaryTensor('INT64', ids, 2) as BigInt64Array)).toEqual([5n, -1n]);
    expect(() => splitBinaryBody(Buffer.from('{}'), 10)).toThrow(/JSON header's length/);
  });

  it('serves a binary request with the same answer as its JSON twin, and measures both body kinds', async () => {
    const app = await createServer({ backend: new FakeBackend(), slo, batch: 4, warmupBatches: 1, loopLagAware: false });
    await app.ready();
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const enc = encodeBinaryInferRequest([x], ['y', 'sum']) as { bytes: Uint8Array; headerLength: number };
    const bin = await app.inject({
      method: 'POST',
      url: '/v2/models/double/infer',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(enc.headerLength) },
      payload: Buffer.from(enc.bytes),
    });
    const json = await app.inject({ method: 'POST', url: '/v2/models/double/infer', payload: { inputs: [{ ...x, data: [1, 2, 3, 4] }] } });
    expect(bin.statusCode, bin.body).toBe(200);
    expect(json.statusCode).toBe(200);
    expect(bin.json().outputs).toEqual(json.json().outputs);
    expect(bin.json().outputs[0].data).toEqual([2, 4, 6, 8]);
    const host = app.polythrottle.hostCosts!;
    expect(host.samples('double', 'binary')).toBe(1);
    // the warm-up seeds the JSON estimate, then the request adds its own sample
    expect(host.samples('double', 'json')).toBeGreaterThanOrEqual(2);
    const short = await app.inject({
      method: 'POST',
      url: '/v2/models/double/infer',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(enc.headerLength) },
      payload: Buffer.from(enc.bytes).subarray(0, enc.bytes.length - 4),
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().error).toMatch(/binary/);
    // nothing stays reserved after answers and failures
    expect(app.polythrottle.batcher.reservedRows('double')).toBe(0);
    expect(app.polythrottle.batcher.hostBacklogMs).toBe(0);
    await app.close();
  });
});

describe('admission with host costs', () => {
  const setup = (hostParseMs: number) => {
    const host = new HostCostEstimator({ quantile: 0.5 });
    for (let i = 0; i < 3; i++) host.recordParse('double', 'json', 100_000, hostParseMs);
    const st = new ServiceTimeEstimator();
    st.setBaseline('double', [
      { batch: 1, ms: 10 },
      { batch: 4, ms: 20 },
    ]);
    const b = new DynamicBatcher({ backend: new FakeBackend(), models: { double: { maxBatch: 4 } }, slo, serviceTimes: st, hostCosts: host, now: () => 0 });
    return { host, b };
  };

  it('counts the parse backlog of held places: a synchronised burst is refused at its excess', () => {
    const { host, b } = setup(10);
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      try {
        b.checkAdmission('double', 1, { hostMs: host.parseMs('double', 'json', 100_000) });
        b.reserve('double', 1, host.parseMs('double', 'json', 100_000));
        admitted++;
      } catch (e) {
        expect(e).toBeInstanceOf(OverloadedError);
      }
    }
    // budget 90 ms; each admitted request adds 10 ms of parsing ahead of the next and rows to the
    // device queue: only a handful fit, not the whole burst
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(6);
    expect(b.reservedRows('double')).toBe(admitted);
    expect(b.hostBacklogMs).toBeCloseTo(10 * admitted, 6);
  });

  it('without host costs the same burst is admitted far past what the SLO allows', () => {
    const st = new ServiceTimeEstimator();
    st.setBaseline('double', [
      { batch: 1, ms: 10 },
      { batch: 4, ms: 20 },
    ]);
    const b = new DynamicBatcher({ backend: new FakeBackend(), models: { double: { maxBatch: 4 } }, slo, serviceTimes: st, now: () => 0 });
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      b.checkAdmission('double', 1);
      admitted++;
    }
    // nothing is queued until bodies are parsed, so the device-only model sees an empty queue each time
    expect(admitted).toBe(100);
  });

  it('takes the host work after dispatch off the queue delay and releases a held place once', () => {
    const { b } = setup(10);
    const d = b.queueDelayMs('double');
    expect(b.hostAfterDispatchMs('double')).toBeGreaterThan(0);
    expect(d).toBeCloseTo(Math.max(0, 90 - 2 * 20 - b.hostAfterDispatchMs('double')), 6);
    const release = b.reserve('double', 2, 5);
    expect(b.reservedRows('double')).toBe(2);
    release();
    release();
    expect(b.reservedRows('double')).toBe(0);
    expect(b.hostBacklogMs).toBe(0);
  });

  it('refuses at submit a request whose wait before queueing already spent the budget', async () => {
    let t = 1000;
    const host = new HostCostEstimator();
    const st = new ServiceTimeEstimator();
    st.setBaseline('double', [{ batch: 4, ms: 20 }]);
    const backend = new FakeBackend();
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4 } }, slo, serviceTimes: st, hostCosts: host, now: () => t });
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) };
    // something queued ahead, so the idle rule does not apply
    const first = b.submit('double', [x], 1, '', { startedAt: t });
    t += 80; // parsing took 80 ms of the 90 ms budget
    await expect(b.submit('double', [x], 1, '', { startedAt: 1000 })).rejects.toBeInstanceOf(OverloadedError);
    t += 1000;
    await first;
  });
});

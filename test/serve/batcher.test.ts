import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/inference.ts';
import { latencyLimitMs } from '../../src/core/slo.ts';
import { predictedLatencyMs, queueDelayMs, retryAfterS } from '../../src/serve/batching-policy.ts';
import { DynamicBatcher, type GapEvent, type IdleEvent } from '../../src/serve/dynamic-batcher.ts';
import { OverloadedError } from '../../src/serve/http-error.ts';
import { baselineAt, ServiceTimeEstimator } from '../../src/serve/service-time.ts';
import { FakeBackend } from './fakes.ts';

const row = (v: number): Tensor[] => [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array([v, v, v, v]) }];
const slo = { latencyMs: 200, quantile: 0.99 };

describe('batching policy', () => {
  it('derives the queue delay from the SLO and the service time', () => {
    expect(queueDelayMs(slo, 20)).toBeCloseTo(200 * 0.9 - 40, 9);
    expect(queueDelayMs(slo, 20, { margin: 0 })).toBeCloseTo(160, 9);
    expect(queueDelayMs(slo, 120)).toBe(0); // service alone eats the budget: never wait
    expect(queueDelayMs(slo, 20, { maxDelayMs: 5 })).toBe(5);
    expect(latencyLimitMs(slo, 0.25)).toBe(150);
  });

  it('predicts latency from the batches queued ahead on the shared device', () => {
    const work = new Map([
      ['a', { queuedRows: 7, maxBatch: 4, serviceMs: (r: number) => 2 + 2 * r }],
      ['b', { queuedRows: 1, maxBatch: 8, serviceMs: () => 30 }],
    ]);
    // a: 8 rows = 2 full batches × 10 ms; b: one partial batch, 30 ms; 5 ms left of the running batch
    expect(predictedLatencyMs('a', 1, work, 5)).toBe(55);
    // a: 9 rows = 2 full batches + a batch of 1 (4 ms)
    expect(predictedLatencyMs('a', 2, work, 0)).toBe(54);
    expect(retryAfterS(2600, 180)).toBe(3);
    expect(retryAfterS(10, 180)).toBe(1);
  });

  it("estimates service time per batch size from each size's window when there is no baseline", () => {
    const s = new ServiceTimeEstimator({ quantile: 1 });
    expect(s.estimate('m', 4)).toBeUndefined();
    s.record('m', 2, 5);
    s.record('m', 2, 7);
    expect(s.estimate('m', 1)).toBe(7); // nearest larger measured size
    expect(s.estimate('m', 4)).toBe(14); // proportional from the largest smaller size
    s.record('m', 4, 9);
    expect(s.estimate('m', 4)).toBe(9);
  });

  it('scales the measured baseline curve by the recent slowdown seen at any size', () => {
    expect(
      baselineAt(
        [
          { batch: 1, ms: 10 },
          { batch: 8, ms: 66 },
        ],
        4,
      ),
    ).toBe(34);
    expect(
      baselineAt(
        [
          { batch: 1, ms: 10 },
          { batch: 8, ms: 66 },
        ],
        16,
      ),
    ).toBe(130);
    expect(baselineAt([{ batch: 4, ms: 12 }], 8)).toBe(24); // one point: proportional above, flat below
    expect(baselineAt([{ batch: 4, ms: 12 }], 2)).toBe(12);
    const s = new ServiceTimeEstimator({ quantile: 1 });
    s.setPrior('m', 4, 12);
    expect(s.estimate('m', 8)).toBe(24);
    s.setBaseline('m', [
      { batch: 8, ms: 66 },
      { batch: 1, ms: 10 },
    ]);
    expect(s.estimate('m', 8)).toBe(66);
    s.record('m', 1, 15); // batches of 1 ran 1.5× slower than at start
    expect(s.estimate('m', 8)).toBeCloseTo(99, 9); // so a full batch is expected 1.5× slower too
    expect(s.estimate('m', 1)).toBeCloseTo(15, 9);
  });
});

describe('DynamicBatcher', () => {
  it('shares batches among concurrent requests up to the limit and splits outputs back', async () => {
    const backend = new FakeBackend({ fixedMs: 5 });
    // Service times are measured on the wall clock here; on a loaded host a slow first batch would make
    // the late-drop rule refuse the queued rows, which is not what this test is about (see the drop tests).
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4 } }, slo, dropLate: false });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit('double', row(i), 1)));
    expect(backend.batches.every((x) => x.rows <= 4)).toBe(true);
    expect(backend.batches.reduce((s, x) => s + x.rows, 0)).toBe(10);
    expect(backend.batches.length).toBeLessThanOrEqual(4);
    expect(backend.batches.some((x) => x.rows === 4)).toBe(true);
    results.forEach((r, i) => {
      expect(Array.from(r.outputs[0]!.data as Float32Array)).toEqual([2 * i, 2 * i, 2 * i, 2 * i]);
      expect(r.outputs[0]!.shape).toEqual([1, 4]);
    });
    await b.close();
  });

  it('waits at most the queue delay for a lone request, then runs it alone', async () => {
    const backend = new FakeBackend({ fixedMs: 1 });
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 40); // D = 0.9·200 − 2·40 = 100 ms
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4 } }, slo, serviceTimes: st });
    expect(b.queueDelayMs('double')).toBeCloseTo(100, 9);
    const r = await b.submit('double', row(1), 1);
    expect(r.batchSize).toBe(1);
    expect(r.queueMs).toBeGreaterThanOrEqual(98);
    await b.close();
  });

  it('does not wait when the batch is full', async () => {
    const backend = new FakeBackend({ fixedMs: 1 });
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 10); // D = 160 ms
    // the test's clock: requests arrive at t = 0, then time jumps past D; a batch that waited for the
    // queue-delay timer would start at t = 1000 and report 1000 ms in the queue
    let t = 0;
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4 } }, slo, serviceTimes: st, now: () => t });
    const pending = Promise.all([1, 2, 3, 4].map((v) => b.submit('double', row(v), 1)));
    t = 1000;
    const rs = await pending;
    expect(rs.map((r) => r.batchSize)).toEqual([4, 4, 4, 4]);
    expect(rs.map((r) => r.queueMs)).toEqual([0, 0, 0, 0]);
    await b.close();
  });

  it('runs one batch at a time across models and keeps requests of different shapes apart', async () => {
    const backend = new FakeBackend({ fixedMs: 3 });
    // wall-clock service times: no late drops, so a slow host cannot refuse rows this test counts
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 8 }, ids: { maxBatch: 8 } }, slo, dropLate: false });
    const ids: Tensor[] = [{ name: 'tokens', datatype: 'INT64', shape: [1, 3], data: new BigInt64Array([1n, 2n, 3n]) }];
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => b.submit('double', row(i), 1, 'a')),
      ...Array.from({ length: 6 }, () => b.submit('ids', ids, 1)),
      b.submit('double', row(9), 1, 'b'),
    ]);
    expect(backend.maxConcurrent).toBe(1);
    expect(backend.batches.filter((x) => x.model === 'ids').reduce((s, x) => s + x.rows, 0)).toBe(6);
    expect(backend.batches.filter((x) => x.model === 'double').length).toBeGreaterThanOrEqual(2); // 'b' never joins 'a'
    await b.close();
  });

  it('refuses with 503 + Retry-After once the queued work would break the SLO, and bounds the queue', async () => {
    const backend = new FakeBackend({ fixedMs: 20, perRowMs: 0 });
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 20);
    // a frozen clock: every request arrives at t = 0, so the admission arithmetic is exact
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4, maxQueueRows: 1000 } }, slo, serviceTimes: st, now: () => 0 });
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => b.submit('double', row(i), 1)));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    const admitted = outcomes.length - refused.length;
    // the first 4 fill a batch that starts at once (20 ms left); then 20 + ceil(q/4)·20 ≤ 180 admits q ≤ 32 queued rows
    expect(admitted).toBe(36);
    expect(refused[0]).toBeInstanceOf(OverloadedError);
    expect(refused[0].statusCode).toBe(503);
    expect(Number(refused[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // the message compares with what admission compares with: the SLO less the margin, and says so
    expect(refused[0].message).toBe("overloaded: model 'double' would answer in about 200 ms, over the 180 ms budget (SLO 200 ms less the 10 % margin)");
    await b.close();
  });

  it("names the event loop's lateness when it is taken off the budget", async () => {
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 5);
    const b = new DynamicBatcher({
      backend: new FakeBackend({ fixedMs: 5, perRowMs: 0 }),
      models: { double: { maxBatch: 4, maxQueueRows: 1000 } },
      slo: { latencyMs: 50, quantile: 0.99 },
      margin: 0.1,
      serviceTimes: st,
      schedulingDelayMs: () => 0.4,
      now: () => 0,
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => b.submit('double', row(i), 1)));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as Error);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.message).toMatch(
      /^overloaded: model 'double' would answer in about [\d.]+ ms, over the 44\.6 ms budget \(SLO 50 ms less the 10 % margin and 0\.4 ms of event-loop lateness\)$/,
    );
    await b.close();
  });

  it('refuses at dispatch a queued request that can no longer finish inside the SLO', async () => {
    let t = 0;
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 20); // D = 140 ms on the test's clock
    // the test's clock jumps, so keep the service time at its prior instead of measuring it
    const fixed = new (class extends ServiceTimeEstimator {
      override record(): void {}
    })();
    fixed.setPrior('double', 4, 20);
    const late = new DynamicBatcher({
      backend: new FakeBackend({ fixedMs: 30, perRowMs: 0 }),
      models: { double: { maxBatch: 4 } },
      slo,
      serviceTimes: fixed,
      now: () => t,
    });
    const drops: number[] = [];
    late.on('drop', (e) => drops.push(e.requests));
    // a full batch runs (30 ms of real time) while five more queue behind it: contention
    const running = [1, 2, 3, 4].map((v) => late.submit('double', row(v), 1));
    const queued = [5, 6, 7, 8, 9].map((v) => late.submit('double', row(v), 1));
    t = 190; // when the running batch ends, the queued ones are 190 ms old: 190 + 20 > 200
    expect((await Promise.all(running)).map((r) => r.batchSize)).toEqual([4, 4, 4, 4]);
    const out = await Promise.allSettled(queued);
    expect(out.every((o) => o.status === 'rejected')).toBe(true);
    expect(String((out[0] as PromiseRejectedResult).reason.message)).toMatch(/waited 190 ms in the queue and could no longer finish inside the 200 ms SLO/);
    expect(drops).toEqual([5]);
    await late.close();

    // without contention a late request is served late rather than refused
    t = 0;
    const alone = new DynamicBatcher({ backend: new FakeBackend({ fixedMs: 1 }), models: { double: { maxBatch: 4 } }, slo, serviceTimes: st, now: () => t });
    const q = alone.submit('double', row(1), 1);
    t = 190;
    expect((await q).batchSize).toBe(1);
    await alone.close();
  });

  it("takes the server's scheduling delay off the budget: a starved server admits less and waits less", async () => {
    const admittedWith = async (lagMs: number) => {
      const st = new ServiceTimeEstimator();
      st.setPrior('double', 4, 20);
      const b = new DynamicBatcher({
        backend: new FakeBackend({ fixedMs: 1 }),
        models: { double: { maxBatch: 4, maxQueueRows: 1000 } },
        slo,
        serviceTimes: st,
        now: () => 0,
        schedulingDelayMs: () => lagMs,
      });
      const delay = b.queueDelayMs('double');
      const out = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => b.submit('double', row(i), 1)));
      await b.close();
      return { admitted: out.filter((o) => o.status === 'fulfilled').length, delay };
    };
    expect(await admittedWith(0)).toEqual({ admitted: 36, delay: 140 });
    // budget 180 − 60 = 120 ms, and each further batch boundary costs another 60 ms:
    // 20 + ceil(q/4)·20 + ceil(q/4)·60 ≤ 120 admits q ≤ 4 queued rows behind the running 4
    expect(await admittedWith(60)).toEqual({ admitted: 8, delay: 80 });
  });

  it('enforces the hard queue bound with a message that names it', async () => {
    const backend = new FakeBackend({ fixedMs: 5 });
    // wall-clock service times: no late drops, so only the queue bound refuses here
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 2, maxQueueRows: 3 } }, slo, dropLate: false });
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => b.submit('double', row(i), 1)));
    const reasons = outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason.message));
    expect(reasons.length).toBe(2); // the first runs at once (nothing measured yet: no wait), 3 queue, 2 are refused
    expect(reasons[0]).toMatch(/queue for model 'double' is full \(3 rows waiting, limit 3\)/);
    await b.close();
  });

  it('reports idle gaps and runs co-located work between batches', async () => {
    const backend = new FakeBackend({ fixedMs: 5 });
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 4, 10);
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 4 } }, slo, serviceTimes: st });
    const idles: IdleEvent[] = [];
    const gaps: GapEvent[] = [];
    b.on('idle', (e) => idles.push(e));
    b.on('gap', (e) => gaps.push(e));
    await Promise.all([1, 2, 3, 4].map((v) => b.submit('double', row(v), 1)));
    expect(idles.length).toBe(1);
    expect(idles[0]!.budgetMs).toBeCloseTo(b.queueDelayMs('double'), 6); // empty queue: a newcomer may wait D
    const order: string[] = [];
    let release!: () => void;
    const task = b.runWhenIdle(async () => {
      order.push('task start');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('task end');
    });
    const req = Promise.all([5, 6, 7, 8].map((v) => b.submit('double', row(v), 1).then(() => order.push('batch'))));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['task start']); // the full batch waits for the task holding the device
    release();
    await Promise.all([task, req]);
    expect(order.slice(0, 2)).toEqual(['task start', 'task end']);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    expect(gaps.every((g) => g.gapMs >= 0 && g.endedAt >= g.startedAt)).toBe(true);
    await b.close();
  });

  it('drains on close: queued requests run at once, new ones get 503', async () => {
    const backend = new FakeBackend({ fixedMs: 5 });
    const st = new ServiceTimeEstimator();
    st.setPrior('double', 8, 5); // D ≈ 170 ms: without draining these would wait
    let t = 0; // the test's clock: a batch that waited for D would start at t = 1000
    const b = new DynamicBatcher({ backend, models: { double: { maxBatch: 8 } }, slo, serviceTimes: st, now: () => t });
    const pending = [1, 2, 3].map((v) => b.submit('double', row(v), 1));
    const closed = b.close();
    t = 1000;
    await expect(b.submit('double', row(4), 1)).rejects.toThrow(/shutting down/);
    const rs = await Promise.all(pending);
    await closed;
    expect(rs.map((r) => r.queueMs)).toEqual([0, 0, 0]);
  });

  it('fails every request of a failed batch with a message', async () => {
    const b = new DynamicBatcher({ backend: new FakeBackend({ fail: true }), models: { double: { maxBatch: 2 } }, slo });
    const out = await Promise.allSettled([b.submit('double', row(1), 1), b.submit('double', row(2), 1)]);
    for (const o of out) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason.message).toMatch(/inference failed for model 'double': device lost/);
    }
    await b.close();
  });
});

import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFactory } from '../../src/workload/inputs.ts';
import { OnnxBackend } from '../../src/workload/onnx-backend.ts';
import { createOnnxRunner } from '../../src/workload/onnx-runner.ts';
import { SMALL_SEQ, writeSmallModel } from './small-model.ts';

describe('onnx backend (onnxruntime-node in worker threads) on a zoo model', () => {
  let path: string;
  let backend: OnnxBackend;
  beforeAll(async () => {
    path = writeSmallModel();
    backend = await OnnxBackend.create({ models: [{ name: 'bert', path }], workers: 2, intraOpThreads: 1 });
  });
  afterAll(async () => {
    await backend?.close();
    rmSync(dirname(path), { recursive: true, force: true });
  });

  it('reads the input and output specs from the session, batch dimension dynamic', () => {
    const m = backend.metadata('bert');
    expect(m.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(m.inputs[0]).toEqual({ name: 'input_ids', datatype: 'INT64', shape: [-1, SMALL_SEQ] });
    expect(m.outputs).toContainEqual({ name: 'pooler_output', datatype: 'FP32', shape: [-1, 128] });
    expect(backend.intraOpThreads).toBe(1);
  });

  it('runs batches of several sizes with outputs of the right shape, on both workers at once', async () => {
    const inputs = InputFactory.forModel(backend.metadata('bert'), { seed: 3, intRange: 1000 });
    const results = await Promise.all([1, 4, 7, 4].map((b) => backend.infer('bert', inputs.batch(b))));
    expect(results.map((r) => r.outputs.find((o) => o.name === 'pooler_output')!.shape)).toEqual([
      [1, 128],
      [4, 128],
      [7, 128],
      [4, 128],
    ]);
    for (const r of results) {
      expect(r.serviceMs).toBeGreaterThan(0);
      expect(Array.from(r.outputs[0]!.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    // Same inputs → same outputs, whichever worker ran them.
    expect(Array.from(results[1]!.outputs[1]!.data as Float32Array)).toEqual(Array.from(results[3]!.outputs[1]!.data as Float32Array));
  });

  it('keeps the main thread responsive while a worker computes a long batch', async () => {
    const inputs = InputFactory.forModel(backend.metadata('bert'), { seed: 1 });
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 2);
    const t0 = performance.now();
    await backend.infer('bert', inputs.batch(512));
    const busyMs = performance.now() - t0;
    clearInterval(timer);
    // On the main thread the whole batch would be one gap; here the timer keeps firing through it.
    expect(busyMs).toBeGreaterThan(20);
    expect(gaps.length).toBeGreaterThan(3);
    expect(Math.max(...gaps)).toBeLessThan(busyMs * 0.6);
  });

  it('rejects a missing input and a wrong datatype with a clear message', async () => {
    await expect(backend.infer('bert', [])).rejects.toThrow(/input "input_ids" of model "bert" is missing/);
    const ok = InputFactory.forModel(backend.metadata('bert')).batch(1);
    const wrong = ok.map((t) => (t.name === 'input_ids' ? { ...t, datatype: 'INT32' as const, data: new Int32Array(SMALL_SEQ) } : t));
    await expect(backend.infer('bert', wrong)).rejects.toThrow(/is INT32; the model declares INT64/);
    await expect(backend.infer('nope', [])).rejects.toThrow(/unknown model "nope"/);
  });

  it('reports a runtime failure of the session as a workload error, and keeps serving', async () => {
    const ok = InputFactory.forModel(backend.metadata('bert')).batch(1);
    const bad = ok.map((t) => ({ ...t, shape: [1, SMALL_SEQ + 1], data: new BigInt64Array(SMALL_SEQ + 1) }));
    await expect(backend.infer('bert', bad)).rejects.toMatchObject({ name: 'WorkloadError', failure: 'worker' });
    const again = await backend.infer('bert', InputFactory.forModel(backend.metadata('bert')).batch(2));
    expect(again.outputs[1]!.shape).toEqual([2, 128]);
  });

  it('fails to start on a missing or corrupt model file with the reason', async () => {
    await expect(OnnxBackend.create({ models: [{ name: 'x', path: join(dirname(path), 'missing.onnx') }] })).rejects.toThrow(/model file not found/);
    const junk = join(dirname(path), 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await expect(OnnxBackend.create({ models: [{ name: 'x', path: junk }] })).rejects.toThrow(/cannot load .*junk\.onnx in onnxruntime/);
  });

  it('as a runner: a timed window at a batch size, one batch in flight per worker', async () => {
    const runner = await createOnnxRunner({ modelPath: path, workers: 2, intraOpThreads: 1, seed: 2 });
    expect(runner.description).toMatch(/onnx bert-tiny · 2 workers × 1 intra-op thread/);
    const r = await runner.run({ batch: 4, length: { durationS: 0.3 } });
    expect(r.errors).toBe(0);
    expect(r.served).toBe(r.batchLatenciesMs.length * 4);
    expect(r.batchLatenciesMs.length).toBeGreaterThan(2);
    const counted = await runner.run({ batch: 2, length: { batches: 5 } });
    expect(counted.batchLatenciesMs).toHaveLength(5);
    await runner.close();
  });
});

import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFactory } from '../../src/workload/inputs.ts';
import { OnnxBackend } from '../../src/workload/onnx-backend.ts';
import { writeTinyOnnxModel } from './tiny-onnx.ts';

describe('onnx backend (onnxruntime-node in worker threads)', () => {
  let path: string;
  let backend: OnnxBackend;
  beforeAll(async () => {
    path = writeTinyOnnxModel();
    backend = await OnnxBackend.create({ models: [{ name: 'tiny', path }], workers: 2, intraOpThreads: 1 });
  });
  afterAll(async () => {
    await backend?.close();
    rmSync(dirname(path), { recursive: true, force: true });
  });

  it('reads the input and output specs from the session, batch dimension dynamic', () => {
    const m = backend.metadata('tiny');
    expect(m.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 3, 8, 8] }]);
    expect(m.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [-1, 4] }]);
    expect(backend.intraOpThreads).toBe(1);
  });

  it('runs batches of several sizes with outputs of the right shape, on both workers at once', async () => {
    const inputs = InputFactory.forModel(backend.metadata('tiny'), { seed: 3 });
    const results = await Promise.all([1, 4, 7, 4].map((b) => backend.infer('tiny', inputs.batch(b))));
    expect(results.map((r) => r.outputs[0]!.shape)).toEqual([[1, 4], [4, 4], [7, 4], [4, 4]]);
    for (const r of results) {
      expect(r.serviceMs).toBeGreaterThan(0);
      expect(Array.from(r.outputs[0]!.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    // Same inputs → same outputs, whichever worker ran them.
    expect(Array.from(results[1]!.outputs[0]!.data as Float32Array)).toEqual(Array.from(results[3]!.outputs[0]!.data as Float32Array));
  });

  it('keeps the main thread responsive while a worker computes', async () => {
    const inputs = InputFactory.forModel(backend.metadata('tiny'), { seed: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all(Array.from({ length: 40 }, () => backend.infer('tiny', inputs.batch(64))));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });

  it('rejects a missing input and a wrong datatype with a clear message', async () => {
    await expect(backend.infer('tiny', [])).rejects.toThrow(/input "input" of model "tiny" is missing/);
    await expect(backend.infer('tiny', [{ name: 'input', datatype: 'INT32', shape: [1, 3, 8, 8], data: new Int32Array(192) }])).rejects.toThrow(
      /is INT32; the model declares FP32/,
    );
    await expect(backend.infer('nope', [])).rejects.toThrow(/unknown model "nope"/);
  });

  it('reports a runtime failure of the session as a workload error, and keeps serving', async () => {
    const bad = { name: 'input', datatype: 'FP32' as const, shape: [1, 3, 9, 9], data: new Float32Array(243) };
    await expect(backend.infer('tiny', [bad])).rejects.toMatchObject({ name: 'WorkloadError', failure: 'worker' });
    const ok = await backend.infer('tiny', InputFactory.forModel(backend.metadata('tiny')).batch(2));
    expect(ok.outputs[0]!.shape).toEqual([2, 4]);
  });

  it('fails to start on a missing or corrupt model file with the reason', async () => {
    await expect(OnnxBackend.create({ models: [{ name: 'x', path: join(dirname(path), 'missing.onnx') }] })).rejects.toThrow(/model file not found/);
    const junk = join(dirname(path), 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await expect(OnnxBackend.create({ models: [{ name: 'x', path: junk }] })).rejects.toThrow(/cannot load .*junk\.onnx in onnxruntime/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeOnnx, writeOnnxFile } from '../../src/model/onnx/encode.ts';
import { buildZooModel } from '../../src/model/zoo/index.ts';

const finite = (t: ort.Tensor) => Array.from(t.data as Float32Array).every(Number.isFinite);

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

describe('generated graphs run in onnxruntime-node (CPU)', () => {
  it('EfficientNet-B0 at batch 2 gives finite [2, 1000] logits', async () => {
    const s = await session(encodeOnnx(buildZooModel('efficientnet-b0'), { seed: 1 }));
    expect(s.inputNames).toEqual(['input']);
    const x = Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5);
    const out = await s.run({ input: new ort.Tensor('float32', x, [2, 3, 224, 224]) });
    const logits = out.logits as ort.Tensor;
    expect(logits.dims).toEqual([2, 1000]);
    expect(finite(logits)).toBe(true);
    // Different images give different logits: the graph is wired through, not constant.
    const d = logits.data as Float32Array;
    expect(d.slice(0, 1000).some((v, i) => v !== d[1000 + i])).toBe(true);
    await s.release();
  });

  it('EfficientNet-B0 in fp16 keeps float32 inputs and outputs', async () => {
    const s = await session(encodeOnnx(buildZooModel('efficientnet-b0', { dtype: 'fp16', batch: 1 }), { seed: 1 }));
    const out = await s.run({ input: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.25), [1, 3, 224, 224]) });
    expect((out.logits as ort.Tensor).dims).toEqual([1, 1000]);
    expect((out.logits as ort.Tensor).type).toBe('float32');
    expect(finite(out.logits as ort.Tensor)).toBe(true);
    await s.release();
  });

  it('BERT-tiny at batch 3, sequence 16 gives [3, 16, 128] hidden states and [3, 128] pooled', async () => {
    const s = await session(encodeOnnx(buildZooModel('bert-tiny', { seq: 16 }), { seed: 2 }));
    const ids = BigInt64Array.from({ length: 48 }, (_, i) => BigInt(101 + ((i * 37) % 2000)));
    const mask = BigInt64Array.from({ length: 48 }, (_, i) => (i % 16 < 12 ? 1n : 0n));
    const out = await s.run({
      input_ids: new ort.Tensor('int64', ids, [3, 16]),
      attention_mask: new ort.Tensor('int64', mask, [3, 16]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(48), [3, 16]),
    });
    expect((out.last_hidden_state as ort.Tensor).dims).toEqual([3, 16, 128]);
    expect((out.pooler_output as ort.Tensor).dims).toEqual([3, 128]);
    expect(finite(out.last_hidden_state as ort.Tensor)).toBe(true);
    // Pooled values pass through tanh.
    expect(Array.from((out.pooler_output as ort.Tensor).data as Float32Array).every((v) => Math.abs(v) <= 1)).toBe(true);
    await s.release();
  });

  it('loads a model whose weights are in an external data file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-ort-'));
    try {
      const path = join(dir, 'tiny.onnx');
      writeOnnxFile(buildZooModel('bert-tiny', { seq: 8 }), path, { externalData: true });
      const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      const ids = new ort.Tensor('int64', new BigInt64Array(8).fill(7n), [1, 8]);
      const out = await s.run({
        input_ids: ids,
        attention_mask: new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(8), [1, 8]),
      });
      expect((out.last_hidden_state as ort.Tensor).dims).toEqual([1, 8, 128]);
      expect(finite(out.last_hidden_state as ort.Tensor)).toBe(true);
      await s.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

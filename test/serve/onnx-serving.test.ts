import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend, Tensor } from '../../src/core/inference.ts';
import { openBackend } from '../../src/serve/open-backend.ts';
import { createServer } from '../../src/serve/server.ts';
import { SMALL_SEQ, writeSmallModel } from '../workload/small-model.ts';
import { post } from './fakes.ts';

/** A real model (BERT-tiny, onnxruntime in a worker thread): batching must not change any row's result. */
describe('serving an ONNX model', () => {
  let path: string;
  let backend: InferenceBackend;
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    path = writeSmallModel();
    backend = await openBackend({ kind: 'onnx', models: [`bert=${path}`], workers: 1 });
    app = await createServer({ backend, slo: { latencyMs: 2000, quantile: 0.99 }, batch: 4, warmupBatches: 2, loopLagAware: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const a = app.server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/v2/models/bert/infer`;
  });
  afterAll(async () => {
    await app?.close();
    await backend?.close();
    if (path) rmSync(dirname(path), { recursive: true, force: true });
  });

  const ids = (k: number) => Array.from({ length: SMALL_SEQ }, (_, i) => (k * 31 + i * 7) % 1000);
  const body = (k: number) => ({
    inputs: [
      { name: 'input_ids', shape: [1, SMALL_SEQ], datatype: 'INT64', data: ids(k) },
      { name: 'attention_mask', shape: [1, SMALL_SEQ], datatype: 'INT64', data: ids(k).map(() => 1) },
      { name: 'token_type_ids', shape: [1, SMALL_SEQ], datatype: 'INT64', data: ids(k).map(() => 0) },
    ],
    outputs: [{ name: 'pooler_output' }],
  });

  it("answers concurrent requests from shared batches with each row's own result", async () => {
    const answers = await Promise.all([0, 1, 2, 3].map((k) => post(url, body(k))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.some((a) => (a.json.parameters as { batch_size: number }).batch_size > 1)).toBe(true);
    for (const [k, a] of answers.entries()) {
      const direct = await backend.infer(
        'bert',
        body(k).inputs.map((t) => ({ ...t, data: BigInt64Array.from(t.data, BigInt) }) as Tensor),
      );
      const want = direct.outputs.find((o) => o.name === 'pooler_output')!;
      const got = (a.json.outputs as { name: string; shape: number[]; data: number[] }[])[0]!;
      expect(got.shape).toEqual(want.shape);
      const w = Array.from(want.data as Float32Array);
      for (const [i, v] of got.data.entries()) expect(v).toBeCloseTo(w[i]!, 4);
    }
  });
});

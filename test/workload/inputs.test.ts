import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../../src/core/inference.ts';
import { floatToHalf, halfToFloat } from '../../src/model/onnx/float16.ts';
import { InputFactory, parseSamples, readSamplesFile } from '../../src/workload/inputs.ts';

const image: TensorSpec = { name: 'input', datatype: 'FP32', shape: [-1, 3, 4, 4] };
const tokens: TensorSpec[] = [
  { name: 'input_ids', datatype: 'INT64', shape: [-1, -1] },
  { name: 'attention_mask', datatype: 'INT64', shape: [-1, -1] },
  { name: 'token_type_ids', datatype: 'INT64', shape: [-1, -1] },
];

describe('generated inputs', () => {
  it('follows the declared shapes and is the same for the same seed, different for another', () => {
    const a = new InputFactory([image], { seed: 1 }).batch(2);
    const b = new InputFactory([image], { seed: 1 }).batch(2);
    const c = new InputFactory([image], { seed: 2 }).batch(2);
    expect(a[0]!.shape).toEqual([2, 3, 4, 4]);
    expect(a[0]!.data).toHaveLength(96);
    expect(Array.from(a[0]!.data as Float32Array)).toEqual(Array.from(b[0]!.data as Float32Array));
    expect(Array.from(a[0]!.data as Float32Array)).not.toEqual(Array.from(c[0]!.data as Float32Array));
    for (const v of a[0]!.data as Float32Array) {
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThan(1);
      expect(v * 128).toBe(Math.round(v * 128));
    }
  });

  it('makes token ids in range, masks of ones and segment ids of zeros; needs sizes for dynamic dims', () => {
    expect(() => new InputFactory(tokens).batch(1)).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/"input_ids" has a dynamic dimension/),
        hint: expect.stringMatching(/--dim <name>=<size> \(`polythrottle models inspect <file>` names them\)/),
      }),
    );
    const t = new InputFactory(tokens, { intRange: 50, dims: { input_ids: [8], attention_mask: [8], token_type_ids: [8] } }).batch(3);
    expect(t.map((x) => x.shape)).toEqual([
      [3, 8],
      [3, 8],
      [3, 8],
    ]);
    const ids = Array.from(t[0]!.data as BigInt64Array, Number);
    expect(Math.max(...ids)).toBeLessThan(50);
    expect(new Set(ids).size).toBeGreaterThan(5);
    expect(Array.from(t[1]!.data as BigInt64Array, Number)).toEqual(Array(24).fill(1));
    expect(Array.from(t[2]!.data as BigInt64Array, Number)).toEqual(Array(24).fill(0));
  });

  it('refuses a batch size the model’s fixed first dimension does not allow', () => {
    expect(() => new InputFactory([{ ...image, shape: [1, 3, 4, 4] }]).batch(4)).toThrow(/fixed first dimension of 1 .* batch size 4 is not possible/);
  });
});

describe('samples files', () => {
  it('reads a list of samples and cycles through them to fill a batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-samples-'));
    const file = join(dir, 's.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          x: [
            [1, 2],
            [3, 4],
          ],
        },
        { x: [5, 6, 7, 8] },
      ]),
    );
    const samples = await readSamplesFile(file);
    const t = new InputFactory([{ name: 'x', datatype: 'FP32', shape: [-1, 2, 2] }], { samples }).batch(3);
    expect(Array.from(t[0]!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4]);
    writeFileSync(file, '{ not json');
    await expect(readSamplesFile(file)).rejects.toThrow(/not valid JSON/);
    await expect(readSamplesFile(join(dir, 'none.json'))).rejects.toThrow(/cannot read the samples file/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits a KServe v2 request body into samples and checks sizes', () => {
    const s = parseSamples({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(s).toEqual([{ x: [1, 2] }, { x: [3, 4] }]);
    expect(() => parseSamples({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }] })).toThrow(/3 values for shape \[2, 2\]/);
    const f = new InputFactory([{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], { samples: s });
    expect(() => f.batch(1)).toThrow(/has 2 values; its shape \[3\] needs 3/);
    expect(() => new InputFactory([{ name: 'y', datatype: 'FP32', shape: [-1, 2] }], { samples: s }).batch(1)).toThrow(/no data for input "y"/);
  });
});

describe('fp16', () => {
  it('round-trips values exactly representable in half precision and rounds the rest', () => {
    for (const v of [0, 1, -2, 0.5, 65504, -0.0009765625, 6.103515625e-5]) expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(halfToFloat(floatToHalf(1 / 3))).toBeCloseTo(1 / 3, 3);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
  });
});

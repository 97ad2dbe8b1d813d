import { describe, expect, it } from 'vitest';
import { ElemType } from '../../src/model/onnx/dtype.ts';
import { floatToHalf, halfToFloat } from '../../src/model/onnx/float16.ts';
import { mulberry32 } from '../../src/numerics/random.ts';
import { tensorBytes } from '../../src/model/weights.ts';

describe('fp16 conversion', () => {
  it('encodes exactly representable values exactly and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, -(2 ** -14), 2 ** -24, 3 * 2 ** -24, 1023.5]) expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00); // overflow → +∞
    expect(floatToHalf(2 ** -26)).toBe(0); // below half the smallest subnormal
    // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1);
    expect(halfToFloat(floatToHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 * 2 ** -10);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
  });

  it('keeps random weights within half precision of their float32 values', () => {
    const rnd = mulberry32(5);
    for (let i = 0; i < 1000; i++) {
      const v = (rnd() - 0.5) * 8;
      expect(Math.abs(halfToFloat(floatToHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe('tensor fills', () => {
  it('fills random weights with the asked spread, the same for the same name and seed', () => {
    const t = { name: 'layer.weight', dims: [100, 100], dataType: ElemType.FLOAT, fill: { kind: 'random' as const, std: 0.5 } };
    const a = new Float32Array(tensorBytes(t, 1).buffer);
    const b = new Float32Array(tensorBytes(t, 1).buffer);
    const c = new Float32Array(tensorBytes({ ...t, name: 'other.weight' }, 1).buffer);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(std).toBeGreaterThan(0.48);
    expect(std).toBeLessThan(0.52);
    expect(Math.max(...a)).toBeLessThanOrEqual(0.5 * Math.sqrt(3));
  });

  it('fills constants and ranges, in fp16 and int64 too', () => {
    const h = new Uint16Array(tensorBytes({ name: 'g', dims: [4], dataType: ElemType.FLOAT16, fill: { kind: 'constant', value: 1 } }, 0).buffer);
    expect([...h]).toEqual([0x3c00, 0x3c00, 0x3c00, 0x3c00]);
    const r = new BigInt64Array(tensorBytes({ name: 'p', dims: [1, 5], dataType: ElemType.INT64, fill: { kind: 'range' } }, 0).buffer);
    expect([...r]).toEqual([0n, 1n, 2n, 3n, 4n]);
  });
});

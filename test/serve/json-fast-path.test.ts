/** The JSON fast path gives what JSON.parse gives, with numeric input data as Float64Arrays. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/numerics/random.ts';
import { parseInferJson } from '../../src/serve/json-fast-path.ts';

const plain = (x: unknown): unknown =>
  x instanceof Float64Array
    ? Array.from(x)
    : Array.isArray(x)
      ? x.map(plain)
      : x && typeof x === 'object'
        ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]))
        : x;

describe('JSON fast path', () => {
  it('reads every number exactly as JSON.parse does', () => {
    const u = mulberry32(42);
    const values: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const r = u();
      const x = (u() - 0.5) * 10 ** Math.floor(u() * 40 - 20);
      values.push(
        r < 0.2
          ? String(x)
          : r < 0.4
            ? x.toFixed(Math.floor(u() * 8))
            : r < 0.5
              ? x.toExponential(Math.floor(u() * 17))
              : r < 0.6
                ? String(Math.floor(x * 1e6))
                : r < 0.7
                  ? '-0'
                  : String(Math.fround(x)),
      );
    }
    values.push('0', '1e22', '1e23', '123456789012345678', '0.1e-30', '5E+2', '9007199254740993', '2.2250738585072014e-308');
    const text = `{"id":"a\\"data\\":[1]","inputs":[{"name":"x","shape":[1,${values.length}],"datatype":"FP64","data":[${values.join(', ')}]}]}`;
    const fast = parseInferJson(Buffer.from(text)) as { inputs: { data: Float64Array }[]; id: string };
    const ref = JSON.parse(text) as { inputs: { data: number[] }[]; id: string };
    expect(fast.inputs[0]!.data).toBeInstanceOf(Float64Array);
    expect(fast.id).toBe(ref.id);
    const a = Array.from(fast.inputs[0]!.data);
    for (let i = 0; i < a.length; i++) expect(Object.is(a[i], ref.inputs[0]!.data[i]), `${values[i]}: ${a[i]} vs ${ref.inputs[0]!.data[i]}`).toBe(true);
  });

  it('flattens nested data, leaves small, non-numeric and non-input arrays to JSON.parse, and fails as JSON.parse does', () => {
    const nested = Array.from({ length: 10 }, (_, r) => Array.from({ length: 10 }, (_, c) => r * 10 + c + 0.5));
    const body = { inputs: [{ name: 'x', shape: [10, 10], datatype: 'FP32', data: nested }], parameters: { data: Array.from({ length: 100 }, (_, i) => i) } };
    const fast = parseInferJson(Buffer.from(JSON.stringify(body))) as { inputs: { data: Float64Array }[]; parameters: { data: unknown } };
    expect(Array.from(fast.inputs[0]!.data)).toEqual(nested.flat());
    expect(Array.isArray(fast.parameters.data)).toBe(true);
    expect(fast.parameters.data).toEqual(body.parameters.data);
    const bools = { inputs: [{ name: 'b', shape: [100], datatype: 'BOOL', data: Array.from({ length: 100 }, () => true) }] };
    expect(parseInferJson(Buffer.from(JSON.stringify(bools)))).toEqual(bools);
    const small = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
    expect(parseInferJson(Buffer.from(JSON.stringify(small)))).toEqual(small);
    for (const bad of ['{"inputs":[{"data":[1,,2]}]}', `{"inputs":[{"data":[${'1,'.repeat(100)}]}]}`, '{"inputs":[{"data":[01]}]', '{"a":']) {
      let want = '';
      try {
        JSON.parse(bad);
      } catch (e) {
        want = (e as Error).message;
      }
      expect(() => parseInferJson(Buffer.from(bad))).toThrow(want);
    }
    expect(plain(parseInferJson(Buffer.from('{"inputs":[]}')))).toEqual({ inputs: [] });
  });
});

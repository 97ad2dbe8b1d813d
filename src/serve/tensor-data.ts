/**
 * Tensor data as the server handles it: JSON values (KServe v2 REST) ↔ typed arrays (what the
 * backends take), plus the batch-dimension operations the dynamic batcher needs (concatenate the
 * rows of several requests, split a batch's outputs back per request).
 */
import type { Tensor, TensorDatatype } from '../core/inference.ts';

export type TensorData = Tensor['data'];

const INT_RANGE: Partial<Record<TensorDatatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * Largest magnitude that rounds to a finite value of each float type (FP32: round-to-nearest gives
 * Infinity from 2^128 − 2^103 on; FP16: from 65520 on). A value beyond it would reach the model as ±Infinity.
 */
const FLOAT_FITS: Record<'FP16' | 'FP32' | 'FP64', { fits: (v: number) => boolean; range: string }> = {
  FP16: { fits: (v) => Math.abs(v) < 65520, range: '±65504' },
  FP32: { fits: (v) => Number.isFinite(Math.fround(v)), range: '±3.4028235e38' },
  FP64: { fits: Number.isFinite, range: '±1.7976931348623157e308' },
};

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Flatten KServe v2 `data` (flat or nested arrays, row-major) into one array. Returns a problem
 * string instead when it is not an array of scalars.
 */
export function flattenData(data: unknown): unknown[] | string {
  // numbers the JSON fast path read straight into a typed array: already flat
  if (data instanceof Float64Array) return data as unknown as unknown[];
  if (!Array.isArray(data)) return 'data must be an array';
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { arr: unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length > 32) return 'data is nested deeper than 32 levels';
      stack.push({ arr: v, i: 0 });
    } else out.push(v);
  }
  return out;
}

/**
 * Convert JSON values to the backend representation of `datatype`, checking every value. Returns
 * the data, or a problem string naming the first bad element.
 */
export function toTensorData(datatype: TensorDatatype, values: readonly unknown[]): TensorData | string {
  const bad = (i: number, want: string) => `element ${i} is ${JSON.stringify(values[i])}, expected ${want}`;
  switch (datatype) {
    case 'FP32':
    case 'FP16':
    case 'FP64': {
      const out = datatype === 'FP64' ? new Float64Array(values.length) : new Float32Array(values.length);
      const { fits, range } = FLOAT_FITS[datatype];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) return bad(i, 'a finite number');
        if (!fits(v)) return bad(i, `a number within ${datatype} range (${range})`);
        out[i] = v;
      }
      return out;
    }
    case 'INT8':
    case 'UINT8':
    case 'INT32':
    case 'INT64': {
      const [lo, hi] = INT_RANGE[datatype]!;
      const out =
        datatype === 'INT8'
          ? new Int8Array(values.length)
          : datatype === 'UINT8'
            ? new Uint8Array(values.length)
            : datatype === 'INT32'
              ? new Int32Array(values.length)
              : new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return bad(i, `an integer in [${lo}, ${hi}]`);
        if (out instanceof BigInt64Array) out[i] = BigInt(v);
        else out[i] = v;
      }
      return out;
    }
    case 'BOOL': {
      const out: boolean[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') return bad(i, 'true or false');
        out[i] = v;
      }
      return out;
    }
    case 'BYTES': {
      const out: string[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'string') return bad(i, 'a string');
        out[i] = v;
      }
      return out;
    }
  }
}

/** JSON-serialisable copy of tensor data (typed arrays → arrays, int64 → numbers). */
export function toJsonData(data: TensorData): (number | boolean | string)[] {
  const out: (number | boolean | string)[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = (data as ArrayLike<number | bigint | boolean | string>)[i]!;
    out[i] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}

function emptyLike(data: TensorData, n: number): TensorData {
  if (ArrayBuffer.isView(data)) {
    const Ctor = (data as unknown as { constructor: new (n: number) => TensorData }).constructor;
    return new Ctor(n);
  }
  return new Array(n) as TensorData;
}

/** Concatenate tensors of the same name/datatype and equal non-batch dimensions along dimension 0. */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw new Error('concatRows needs at least one tensor');
  if (parts.length === 1) return first;
  let rows = 0;
  let total = 0;
  for (const p of parts) {
    rows += p.shape[0] ?? 1;
    total += p.data.length;
  }
  const data = emptyLike(first.data, total);
  let off = 0;
  for (const p of parts) {
    if (ArrayBuffer.isView(data)) (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data, off);
    else for (let i = 0; i < p.data.length; i++) (data as unknown[])[off + i] = (p.data as ArrayLike<unknown>)[i];
    off += p.data.length;
  }
  return { name: first.name, datatype: first.datatype, shape: [rows, ...first.shape.slice(1)], data };
}

/** Rows [start, start+count) of a tensor batched along dimension 0. */
export function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const rows = t.shape[0] ?? 1;
  const perRow = rows === 0 ? 0 : t.data.length / rows;
  const a = start * perRow;
  const b = (start + count) * perRow;
  const data = ArrayBuffer.isView(t.data)
    ? ((t.data as unknown as { subarray(a: number, b: number): TensorData }).subarray(a, b) as TensorData)
    : ((t.data as readonly unknown[]).slice(a, b) as TensorData);
  return { name: t.name, datatype: t.datatype, shape: [count, ...t.shape.slice(1)], data };
}

/**
 * Deterministic weight bytes for the zoo: each tensor's numbers come from a PRNG seeded by the
 * build seed and the tensor's name, so a tensor is the same whatever else the graph holds.
 */
import { hash32, mulberry32 } from '../core/random.ts';
import { ElemType } from './onnx/dtype.ts';
import type { Tensor } from './onnx/graph.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** number → IEEE 754 binary16 bits (round to nearest even, with subnormals and overflow to ∞). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Element count of a tensor. */
const count = (t: Tensor): number => t.dims.reduce((p, d) => p * d, 1);

/** The bytes of a tensor: its own data, or its fill recipe realised with `seed`. */
export function tensorBytes(t: Tensor, seed: number): Uint8Array {
  if (t.data) return t.data;
  const n = count(t);
  const fill = t.fill ?? { kind: 'constant', value: 0 };
  const at = (() => {
    if (fill.kind === 'constant') return () => fill.value;
    if (fill.kind === 'range') {
      let i = 0;
      return () => i++;
    }
    const rnd = mulberry32(hash32(seed, t.name));
    const a = fill.std * Math.sqrt(3); // uniform on [-a, a] has variance std²
    const mean = fill.mean ?? 0;
    return () => mean + (2 * rnd() - 1) * a;
  })();
  switch (t.dataType) {
    case ElemType.FLOAT: {
      const arr = new Float32Array(n);
      for (let i = 0; i < n; i++) arr[i] = at();
      return new Uint8Array(arr.buffer);
    }
    case ElemType.FLOAT16: {
      const arr = new Uint16Array(n);
      for (let i = 0; i < n; i++) arr[i] = floatToHalf(at());
      return new Uint8Array(arr.buffer);
    }
    case ElemType.INT64: {
      const arr = new BigInt64Array(n);
      for (let i = 0; i < n; i++) arr[i] = BigInt(Math.round(at()));
      return new Uint8Array(arr.buffer);
    }
    default:
      throw new Error(`cannot fill a tensor of data type ${t.dataType}`);
  }
}

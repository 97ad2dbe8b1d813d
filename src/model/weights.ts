/**
 * Deterministic weight bytes for the zoo: each tensor's numbers come from a PRNG seeded by the
 * build seed and the tensor's name, so a tensor is the same whatever else the graph holds.
 */
import { hash32, mulberry32 } from '../numerics/random.ts';
import { ElemType } from './onnx/dtype.ts';
import { floatToHalf } from './onnx/float16.ts';
import type { Tensor } from './onnx/graph.ts';

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

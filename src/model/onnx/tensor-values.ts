/** Reading the numbers of small constant tensors (shapes, axes, scalars) for shape inference. */
import { ElemType, product } from './dtype.ts';
import { halfToFloat } from './float16.ts';
import type { Tensor } from './graph.ts';

/** Constants up to this many elements are decoded; larger ones are treated as opaque weights. */
export const MAX_FOLDED_ELEMENTS = 4096;

/** The numbers in a tensor, or undefined when it has no in-memory data or is too large. */
export function tensorNumbers(t: Tensor, maxElements = MAX_FOLDED_ELEMENTS): number[] | undefined {
  const n = product(t.dims);
  if (n > maxElements) return undefined;
  if (t.values && t.values.length > 0) return [...t.values].slice(0, n);
  if (t.fill?.kind === 'constant') return new Array<number>(n).fill(t.fill.value);
  if (t.fill?.kind === 'range') return Array.from({ length: n }, (_, i) => i);
  const d = t.data;
  if (!d) return undefined;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: number[] = [];
  const read = (size: number, get: (off: number) => number) => {
    if (d.byteLength < n * size) return undefined;
    for (let i = 0; i < n; i++) out.push(get(i * size));
    return out;
  };
  switch (t.dataType) {
    case ElemType.FLOAT:
      return read(4, (o) => dv.getFloat32(o, true));
    case ElemType.DOUBLE:
      return read(8, (o) => dv.getFloat64(o, true));
    case ElemType.INT64:
      return read(8, (o) => Number(dv.getBigInt64(o, true)));
    case ElemType.UINT64:
      return read(8, (o) => Number(dv.getBigUint64(o, true)));
    case ElemType.INT32:
      return read(4, (o) => dv.getInt32(o, true));
    case ElemType.UINT32:
      return read(4, (o) => dv.getUint32(o, true));
    case ElemType.INT16:
      return read(2, (o) => dv.getInt16(o, true));
    case ElemType.UINT16:
      return read(2, (o) => dv.getUint16(o, true));
    case ElemType.INT8:
      return read(1, (o) => dv.getInt8(o));
    case ElemType.UINT8:
    case ElemType.BOOL:
      return read(1, (o) => dv.getUint8(o));
    case ElemType.FLOAT16:
      return read(2, (o) => halfToFloat(dv.getUint16(o, true)));
    default:
      return undefined;
  }
}

/**
 * The binary tensor extension of KServe v2 (Triton's): a JSON header of `Inference-Header-Content-Length`
 * bytes, then each input marked `"parameters": {"binary_data_size": n}` as n raw little-endian bytes,
 * in the order of the header's inputs. The fast path for large tensors: no text to parse, one copy
 * per tensor instead of a number per element (an EfficientNet image is 602 KB either way, but its
 * JSON costs the CPU milliseconds per request and its bytes microseconds).
 */
import type { Tensor, TensorDatatype } from '../core/inference.ts';
import { halfToFloat } from '../model/onnx/float16.ts';
import { badRequest } from './http-error.ts';

/** The request header that marks a binary-extension body and gives the JSON header's length. */
export const BINARY_HEADER = 'inference-header-content-length';

const BYTES_PER: Partial<Record<TensorDatatype, number>> = { FP32: 4, FP16: 2, FP64: 8, INT64: 8, INT32: 4, INT8: 1, UINT8: 1, BOOL: 1 };

/** A binary-extension body split: the parsed JSON header, and the tensor bytes after it. */
export interface BinaryBody {
  readonly header: unknown;
  readonly blob: Uint8Array;
}

export function splitBinaryBody(body: Buffer, headerLength: number): BinaryBody {
  if (!(Number.isInteger(headerLength) && headerLength > 0 && headerLength <= body.length))
    throw badRequest(`${BINARY_HEADER} is ${headerLength} but the body has ${body.length} bytes: it must give the JSON header's length in bytes`);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
  } catch (e) {
    throw badRequest(`the JSON header of the binary request is not valid JSON: ${(e as Error).message}`);
  }
  return { header, blob: body.subarray(headerLength) };
}

/** A copy of `n` bytes at an aligned offset: typed arrays need their element alignment. */
const aligned = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer as ArrayBuffer;

/**
 * Tensor data of `count` elements from raw bytes, or a problem string (wrong size, a datatype the
 * extension cannot carry here).
 */
export function decodeBinaryTensor(datatype: TensorDatatype, bytes: Uint8Array, count: number): Tensor['data'] | string {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let o = 0;
    while (o < bytes.length) {
      if (o + 4 > bytes.length) return 'a BYTES element is cut short';
      const len = view.getUint32(o, true);
      if (o + 4 + len > bytes.length) return 'a BYTES element is cut short';
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + o + 4, len).toString('utf8'));
      o += 4 + len;
    }
    if (out.length !== count) return `${out.length} BYTES elements but the shape needs ${count}`;
    return out;
  }
  const size = BYTES_PER[datatype]!;
  if (bytes.length !== count * size) return `${bytes.length} bytes of ${datatype} but the shape needs ${count} × ${size} = ${count * size}`;
  switch (datatype) {
    case 'FP32':
      return new Float32Array(aligned(bytes));
    case 'FP64':
      return new Float64Array(aligned(bytes));
    case 'INT64':
      return new BigInt64Array(aligned(bytes));
    case 'INT32':
      return new Int32Array(aligned(bytes));
    case 'INT8':
      return new Int8Array(aligned(bytes));
    case 'UINT8':
      return new Uint8Array(aligned(bytes));
    case 'BOOL':
      return Array.from(bytes, (b) => b !== 0);
    case 'FP16': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
  }
  return `datatype ${datatype} cannot be sent as binary data`;
}

/** Reading .onnx files from disk, checking their external data files. */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { PolyThrottleError, badInput } from '../../core/errors.ts';
import { decodeOnnx } from './decode.ts';
import type { OnnxModel } from './graph.ts';

/** Protobuf's hard limit on one message: larger .onnx files cannot exist. */
const PROTOBUF_LIMIT = 2 ** 31;

function looksLikeOtherFormat(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    if (head.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004') return 'a zip archive (a PyTorch checkpoint or a zipped model?)';
    if (head.subarray(4, 8).toString('latin1') === 'TFL3') return 'a TensorFlow Lite model';
    if (head[0] === 0x80 && (head[1] ?? 0) <= 5) return 'a Python pickle';
    if (head.subarray(0, 5).toString('latin1') === '\u0089HDF\r') return 'an HDF5 (Keras) file';
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read and decode an .onnx file. External data files must exist beside it (their bytes are not
 * read: analysis needs only shapes). Errors are PolyThrottleErrors with exit code 2.
 */
export function readOnnxFile(path: string): OnnxModel {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw badInput(`${path} is a directory, not an ONNX file`);
    size = st.size;
  } catch (e) {
    if (e instanceof PolyThrottleError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PolyThrottleError('NOT_FOUND', `no such file: ${path}`, { cause: e });
    if (code === 'EACCES') throw badInput(`cannot read ${path}: permission denied`, undefined, e);
    throw badInput(`cannot read ${path}: ${(e as Error).message}`, undefined, e);
  }
  if (size >= PROTOBUF_LIMIT) throw badInput(`${path} is ${size} bytes, over protobuf's 2 GiB limit: not a valid .onnx file`);
  const other = size > 0 ? looksLikeOtherFormat(path) : undefined;
  if (other) throw badInput(`${path} is ${other}, not an ONNX model`);
  const bytes = readFileSync(path);
  const model = decodeOnnx(bytes, basename(path));
  checkExternalData(model, path);
  return model;
}

function checkExternalData(model: OnnxModel, path: string): void {
  const dir = dirname(path);
  const sizes = new Map<string, number>();
  for (const t of model.graph.initializers) {
    const ext = t.external;
    if (!ext) continue;
    const rel = normalize(ext.location);
    if (isAbsolute(rel) || rel.startsWith('..')) {
      throw badInput(`${basename(path)}: tensor '${t.name}' points outside the model's folder (${ext.location})`);
    }
    const file = join(dir, rel);
    let size = sizes.get(file);
    if (size === undefined) {
      try {
        size = statSync(file).size;
      } catch {
        throw new PolyThrottleError('NOT_FOUND', `${basename(path)}: external data file '${ext.location}' (of tensor '${t.name}') is missing`, {
          hint: `keep the data file next to the .onnx file (looked for ${file})`,
        });
      }
      sizes.set(file, size);
    }
    const end = ext.offset + (ext.length ?? 0);
    if (end > size) {
      throw badInput(`${basename(path)}: external data file '${ext.location}' is truncated (tensor '${t.name}' ends at byte ${end}, file has ${size})`);
    }
  }
}

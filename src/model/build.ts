/** `models build`: a zoo model with seeded random weights, written as .onnx into the cache (or --out). */
import { join } from 'node:path';
import { badInput } from '../core/errors.ts';
import type { DType } from '../core/workload-profile.ts';
import { modelCacheDir } from './cache.ts';
import { type WrittenModel, writeOnnxFile } from './onnx/encode.ts';
import { buildZooModel } from './zoo/index.ts';

export interface BuildModelOptions {
  readonly dtype?: DType;
  /** Fixed batch size; omitted: a symbolic batch dimension. */
  readonly batch?: number;
  readonly seq?: number;
  /** Output file; default: `<cache>/models/<name>[-<dtype>][-seq<L>][-b<N>].onnx`. */
  readonly out?: string;
  readonly seed?: number;
  /** Weights in `<file>.data` beside the model (forced automatically above protobuf's 2 GiB limit). */
  readonly externalData?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

export function defaultModelPath(name: string, o: Pick<BuildModelOptions, 'dtype' | 'batch' | 'seq'>, env: NodeJS.ProcessEnv = process.env): string {
  const parts = [name.toLowerCase(), o.dtype ?? 'fp32'];
  if (o.seq !== undefined) parts.push(`seq${o.seq}`);
  if (o.batch !== undefined) parts.push(`b${o.batch}`);
  return join(modelCacheDir(env), `${parts.join('-')}.onnx`);
}

export function buildModelFile(name: string, o: BuildModelOptions = {}): WrittenModel & { readonly params: number } {
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw badInput(`--batch must be a positive integer, got ${o.batch}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw badInput(`--seed must be an integer, got ${o.seed}`);
  const model = buildZooModel(name, { dtype: o.dtype, batch: o.batch, seq: o.seq });
  const path = o.out ?? defaultModelPath(name, o);
  const written = writeOnnxFile(model, path, { seed: o.seed, externalData: o.externalData ? true : 'auto', onProgress: o.onProgress });
  const params = model.graph.initializers.filter((t) => t.dataType === 1 || t.dataType === 10).reduce((s, t) => s + t.dims.reduce((p, d) => p * d, 1), 0);
  return { ...written, params };
}

/** `models inspect`: analyse a file or a zoo model by name. */
import { existsSync } from 'node:fs';
import { PolyThrottleError, badInput } from '../core/errors.ts';
import type { DType } from '../core/workload-profile.ts';
import { type ModelAnalysis, analyzeModel } from './analyze.ts';
import { analyzeOnnxFile } from './load.ts';
import { ZOO_NAMES, buildZooModel, isZooModel } from './zoo/index.ts';

export interface InspectOptions {
  readonly batch?: number;
  readonly seq?: number;
  readonly dtype?: DType;
  readonly dims?: Readonly<Record<string, number>>;
}

/** A path that exists is a file; otherwise a zoo name; otherwise a clear error. */
export function inspectModel(target: string, o: InspectOptions = {}): ModelAnalysis {
  if (existsSync(target)) {
    if (o.seq !== undefined || o.dtype !== undefined) throw badInput('--seq and --dtype apply to zoo models; a file is analysed as it is');
    return analyzeOnnxFile(target, { batch: o.batch, dims: o.dims });
  }
  if (isZooModel(target)) {
    return analyzeModel(buildZooModel(target, { dtype: o.dtype, seq: o.seq }), { name: target.toLowerCase(), batch: o.batch });
  }
  const looksLikePath = /[/\\]|\.onnx$/i.test(target);
  throw new PolyThrottleError('NOT_FOUND', looksLikePath ? `no such file: ${target}` : `'${target}' is neither a file nor a zoo model`, {
    hint: `zoo models: ${ZOO_NAMES.join(', ')}`,
  });
}

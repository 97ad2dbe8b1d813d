/** ONNX reading, per-operator costs, and the generated model zoo. */
import { basename } from 'node:path';
import type { WorkloadProfile } from '../core/workload-profile.ts';
import { type AnalyzeOptions, analyzeModel } from './analyze.ts';
import { readOnnxFile } from './onnx/read.ts';

export { analyzeModel } from './analyze.ts';
export type { AnalyzeOptions, AnalysisTotals, ModelAnalysis, NodeAnalysis, TensorSummary, UnmodelledOp } from './analyze.ts';
export { decodeOnnx, MAX_IR_VERSION, MIN_IR_VERSION } from './onnx/decode.ts';
export { readOnnxFile } from './onnx/read.ts';
export type { OnnxModel, Graph, GraphNode, Tensor, ValueInfo } from './onnx/graph.ts';
export { cacheDir, modelCacheDir } from './cache.ts';
export { preprocessCyclesPerSample } from './preprocess.ts';
export { MODELLED_OPS } from './op-costs.ts';

/** Analyse an .onnx file (with any external data beside it). */
export function analyzeOnnxFile(path: string, opts: AnalyzeOptions = {}) {
  return analyzeModel(readOnnxFile(path), { name: basename(path).replace(/\.onnx$/i, ''), ...opts });
}

/** The workload profile of an .onnx file (async for callers that load models lazily). */
export async function profileFromOnnxFile(path: string, opts: Omit<AnalyzeOptions, 'batch'> = {}): Promise<WorkloadProfile> {
  return analyzeOnnxFile(path, opts).profile;
}

/** Analysing .onnx files from disk. */
import { basename } from 'node:path';
import type { WorkloadProfile } from '../core/workload-profile.ts';
import { type AnalyzeOptions, type ModelAnalysis, analyzeModel } from './analyze.ts';
import { readOnnxFile } from './onnx/read.ts';

/** Analyse an .onnx file (with any external data beside it). */
export function analyzeOnnxFile(path: string, opts: AnalyzeOptions = {}): ModelAnalysis {
  return analyzeModel(readOnnxFile(path), { name: basename(path).replace(/\.onnx$/i, ''), ...opts });
}

/** The workload profile of an .onnx file (async for callers that load models lazily). */
export async function profileFromOnnxFile(path: string, opts: Omit<AnalyzeOptions, 'batch'> = {}): Promise<WorkloadProfile> {
  return analyzeOnnxFile(path, opts).profile;
}

/** ONNX reading, per-operator costs, and the generated model zoo. */
export { analyzeOnnxFile, profileFromOnnxFile } from './load.ts';
export { analyzeModel } from './analyze.ts';
export type { AnalyzeOptions, AnalysisTotals, ModelAnalysis, NodeAnalysis, TensorSummary, UnmodelledOp } from './analyze.ts';
export { decodeOnnx, MAX_IR_VERSION, MIN_IR_VERSION } from './onnx/decode.ts';
export { readOnnxFile } from './onnx/read.ts';
export type { OnnxModel, Graph as OnnxGraph, GraphNode as OnnxNode, Tensor as OnnxTensor, ValueInfo as OnnxValueInfo } from './onnx/graph.ts';
export { cacheDir, modelCacheDir } from './cache.ts';
export { preprocessCyclesPerSample } from './preprocess.ts';
export { MODELLED_OPS } from './op-costs.ts';
export { buildModelFile, defaultModelPath } from './build.ts';
export type { BuildModelOptions } from './build.ts';
export { inspectModel } from './inspect.ts';
export type { InspectOptions } from './inspect.ts';
export { encodeOnnx, writeOnnxFile, EXTERNAL_DATA_THRESHOLD } from './onnx/encode.ts';
export type { WrittenModel } from './onnx/encode.ts';
export { formatAnalysis, formatZooList } from './format.ts';
export { ZOO_MODELS, ZOO_NAMES, zooProfile, zooAnalysis, buildZooModel, isZooModel } from './zoo/index.ts';
export type { ZooModel } from './zoo/index.ts';

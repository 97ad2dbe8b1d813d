/**
 * What `--model` names, for the runners: a zoo model (built once into the cache as .onnx when a
 * runner needs the file) or an .onnx file; its tensor specs (ModelMetadata) and its workload profile.
 */
import { existsSync } from 'node:fs';
import { PolyThrottleError, badInput } from '../core/errors.ts';
import type { ModelMetadata, TensorDatatype, TensorSpec } from '../core/inference.ts';
import type { DType, WorkloadProfile } from '../core/workload-profile.ts';
import {
  buildModelFile,
  buildZooModel,
  defaultModelPath,
  isZooModel,
  type OnnxModel,
  type OnnxValueInfo,
  profileFromOnnxFile,
  readOnnxFile,
  ZOO_NAMES,
  zooProfile,
} from '../model/index.ts';
import { modelNameFromPath } from './onnx-backend.ts';

export interface ModelSourceOptions {
  readonly dtype?: DType;
  /** Sequence length of the BERT models. */
  readonly seq?: number;
  /**
   * Values of symbolic input dimensions other than the batch, by dimension name (`--dim`), e.g.
   * { 'p2o.DynamicDimension.1': 320 }: an .onnx file's profile is analysed at these sizes.
   */
  readonly symbolicDims?: Readonly<Record<string, number>>;
  /** Called while a zoo model's file is being written (done, total bytes). */
  readonly onBuild?: (done: number, total: number) => void;
}

const ELEM_TO_DATATYPE: Record<number, TensorDatatype> = {
  1: 'FP32',
  10: 'FP16',
  11: 'FP64',
  7: 'INT64',
  6: 'INT32',
  3: 'INT8',
  2: 'UINT8',
  9: 'BOOL',
  8: 'BYTES',
};

const isOnnxPath = (model: string) => /\.onnx$/i.test(model) || model.includes('/');

function toSpec(v: OnnxValueInfo, where: string): TensorSpec {
  const datatype = ELEM_TO_DATATYPE[v.elemType];
  if (!datatype) throw badInput(`${where}: tensor "${v.name}" has ONNX element type ${v.elemType}, which the runners cannot feed`);
  if (!v.dims) throw badInput(`${where}: tensor "${v.name}" has no declared shape`);
  return { name: v.name, datatype, shape: v.dims.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

/** The tensor specs of an ONNX graph (symbolic dimensions become -1). */
export function metadataFromOnnx(model: OnnxModel, name: string, platform = 'onnx'): ModelMetadata {
  const initialisers = new Set(model.graph.initializers.map((t) => t.name));
  return {
    name,
    platform,
    inputs: model.graph.inputs.filter((i) => !initialisers.has(i.name)).map((v) => toSpec(v, name)),
    outputs: model.graph.outputs.map((v) => toSpec(v, name)),
  };
}

function checkKnown(model: string): void {
  if (isZooModel(model)) return;
  if (isOnnxPath(model)) {
    if (!existsSync(model)) throw new PolyThrottleError('NOT_FOUND', `no such model file: ${model}`);
    return;
  }
  throw badInput(`"${model}" is neither a zoo model nor an .onnx file`, `zoo models: ${ZOO_NAMES.join(', ')}`);
}

/** The name a model is addressed by: the zoo name, or the file name without .onnx. */
export function modelName(model: string): string {
  return isZooModel(model) ? model.toLowerCase() : modelNameFromPath(model);
}

/** Tensor specs of the model (zoo: from the in-memory graph, no weights made). */
export function modelMetadata(model: string, o: ModelSourceOptions = {}): ModelMetadata {
  checkKnown(model);
  if (isZooModel(model)) return metadataFromOnnx(buildZooModel(model, { dtype: o.dtype, seq: o.seq }), modelName(model), 'sim');
  return metadataFromOnnx(readOnnxFile(model), modelName(model));
}

/** The workload profile the twin needs. */
export async function modelProfile(model: string, o: ModelSourceOptions = {}): Promise<WorkloadProfile> {
  checkKnown(model);
  if (isZooModel(model)) return zooProfile(model, { ...(o.seq === undefined ? {} : { seq: o.seq }), ...(o.dtype === undefined ? {} : { dtype: o.dtype }) });
  return profileFromOnnxFile(model, o.symbolicDims === undefined ? {} : { dims: o.symbolicDims });
}

/** True when `model` is a zoo model or an existing .onnx file (not, say, a model name at an http endpoint). */
export function isLocalModel(model: string): boolean {
  return isZooModel(model) || (isOnnxPath(model) && existsSync(model));
}

/**
 * The deprecated `--input-dims input=AxB` (sizes of each input's dynamic non-batch dimensions, in
 * order) as values of the symbolic dimensions they stand for, by name — what `--dim` gives.
 */
export function symbolicDimsFromInputDims(
  model: string,
  inputDims: Readonly<Record<string, readonly number[]>>,
  o: ModelSourceOptions = {},
): Record<string, number> {
  checkKnown(model);
  const m = isZooModel(model) ? buildZooModel(model, { dtype: o.dtype, seq: o.seq }) : readOnnxFile(model);
  const out: Record<string, number> = {};
  for (const input of m.graph.inputs) {
    const sizes = inputDims[input.name];
    if (!sizes || !input.dims) continue;
    const dynamic = input.dims.slice(1).filter((d) => !(typeof d === 'number' && d >= 0));
    dynamic.forEach((d, k) => {
      if (typeof d === 'string' && sizes[k] !== undefined) out[d] = sizes[k]!;
    });
  }
  return out;
}

/**
 * The sizes of the non-batch dimensions of each input that `symbolicDims` (by dimension name) fix,
 * per input name — what the runners' generated inputs need (InputOptions.dims). Inputs with a
 * dynamic dimension `symbolicDims` does not name are left out (the runner then asks for it).
 */
export function inputDimsFromSymbolic(model: string, symbolicDims: Readonly<Record<string, number>>, o: ModelSourceOptions = {}): Record<string, number[]> {
  checkKnown(model);
  const m = isZooModel(model) ? buildZooModel(model, { dtype: o.dtype, seq: o.seq }) : readOnnxFile(model);
  const initialisers = new Set(m.graph.initializers.map((t) => t.name));
  const known = new Set<string>();
  const out: Record<string, number[]> = {};
  for (const input of m.graph.inputs) {
    if (initialisers.has(input.name) || !input.dims) continue;
    const dynamic = input.dims.slice(1).filter((d) => !(typeof d === 'number' && d >= 0));
    for (const d of dynamic) if (typeof d === 'string') known.add(d);
    if (dynamic.length === 0) continue;
    const sizes = dynamic.map((d) => (typeof d === 'string' ? symbolicDims[d] : undefined));
    if (sizes.every((n) => n !== undefined)) out[input.name] = sizes as number[];
  }
  const unknown = Object.keys(symbolicDims).filter((d) => !known.has(d));
  // Also a batch dimension's name is no --dim (the batch size is the tuner's to choose).
  if (unknown.length > 0)
    throw badInput(
      `--dim ${unknown[0]}: ${modelName(model)} has no symbolic input dimension of that name`,
      known.size > 0 ? `its symbolic non-batch dimensions: ${[...known].join(', ')}` : 'its inputs have no symbolic dimension other than the batch',
    );
  return out;
}

/**
 * A file onnxruntime can load: the .onnx path as given, or the zoo model's file in the cache,
 * written (seeded weights) the first time it is needed.
 */
export function onnxModelFile(model: string, o: ModelSourceOptions = {}): string {
  checkKnown(model);
  if (!isZooModel(model)) return model;
  const opts = { ...(o.dtype === undefined ? {} : { dtype: o.dtype }), ...(o.seq === undefined ? {} : { seq: o.seq }) };
  const path = defaultModelPath(model, opts);
  if (existsSync(path)) return path;
  return buildModelFile(model, { ...opts, ...(o.onBuild ? { onProgress: o.onBuild } : {}) }).path;
}

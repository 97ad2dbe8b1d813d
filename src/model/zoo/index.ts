/**
 * The model zoo: architecture-faithful graphs of the models the paper measures, generated in
 * memory (shape-only weights) for analysis and written with seeded weights by `models build`.
 */
import { PolyThrottleError } from '../../core/errors.ts';
import type { DType, WorkloadProfile } from '../../core/workload-profile.ts';
import { analyzeModel, type ModelAnalysis } from '../analyze.ts';
import type { OnnxModel } from '../onnx/graph.ts';
import { BERT_DEFAULT_SEQ, BERT_NAMES, type BertName, buildBert } from './bert.ts';
import type { BuildOptions } from './common.ts';
import { EFFICIENTNET_NAMES, type EfficientNetName, buildEfficientNet, efficientNetResolution } from './efficientnet.ts';
import { MOBILENET_V2_RESOLUTION, buildMobileNetV2 } from './mobilenet-v2.ts';
import { RESNET50_RESOLUTION, buildResNet50 } from './resnet.ts';

export type { BuildOptions } from './common.ts';
export { BERT_DEFAULT_SEQ, BERT_MAX_SEQ } from './bert.ts';

export type ZooFamily = 'efficientnet' | 'mobilenet-v2' | 'resnet' | 'bert';

export interface ZooModel {
  readonly name: string;
  readonly family: ZooFamily;
  readonly description: string;
  /** The native input in words: "3×224×224 image" or "128 tokens". */
  readonly nativeInput: string;
  /** Per-sample shape of the main input at the native resolution (default sequence length). */
  readonly inputShape: readonly number[];
  /** True when the sequence length is a build parameter (--seq). */
  readonly hasSeq: boolean;
  /** Parameters, from the analyser (computed on first access). */
  readonly params: number;
  /** Multiply-accumulates per sample at the native input, from the analyser (computed on first access). */
  readonly macs: number;
}

interface Entry {
  readonly name: string;
  readonly family: ZooFamily;
  readonly description: string;
  readonly inputShape: readonly number[];
  readonly build: (o: BuildOptions) => OnnxModel;
}

const image = (r: number) => [3, r, r];
const ENTRIES: readonly Entry[] = [
  ...EFFICIENTNET_NAMES.map(
    (n): Entry => ({
      name: n,
      family: 'efficientnet',
      description: `EfficientNet-${n.slice(-2).toUpperCase()}: MBConv + squeeze-excitation + SiLU, compound-scaled, ImageNet head`,
      inputShape: image(efficientNetResolution(n as EfficientNetName)),
      build: (o) => buildEfficientNet(n as EfficientNetName, o),
    }),
  ),
  {
    name: 'mobilenet-v2',
    family: 'mobilenet-v2',
    description: 'MobileNetV2 1.0: inverted residuals, linear bottlenecks, ReLU6, ImageNet head',
    inputShape: image(MOBILENET_V2_RESOLUTION),
    build: buildMobileNetV2,
  },
  {
    name: 'resnet-50',
    family: 'resnet',
    description: 'ResNet-50 v1.5: bottleneck residual blocks, ImageNet head',
    inputShape: image(RESNET50_RESOLUTION),
    build: buildResNet50,
  },
  ...BERT_NAMES.map(
    (n): Entry => ({
      name: n,
      family: 'bert',
      description:
        n === 'bert-tiny'
          ? 'BERT-tiny (L=2, H=128, A=2): a small transformer encoder for quick tests'
          : `BERT-${n === 'bert-base' ? 'base (L=12, H=768, A=12)' : 'large (L=24, H=1024, A=16)'} encoder with pooler, uncased vocabulary`,
      inputShape: [BERT_DEFAULT_SEQ],
      build: (o) => buildBert(n as BertName, o),
    }),
  ),
];

const byName = new Map(ENTRIES.map((e) => [e.name, e]));
export const ZOO_NAMES: readonly string[] = ENTRIES.map((e) => e.name);

function entry(name: string): Entry {
  const e = byName.get(name.toLowerCase());
  if (!e) {
    throw new PolyThrottleError('NOT_FOUND', `unknown zoo model '${name}'`, { hint: `zoo models: ${ZOO_NAMES.join(', ')}` });
  }
  return e;
}

export const isZooModel = (name: string): boolean => byName.has(name.toLowerCase());

/** The in-memory graph of a zoo model: weights are shape-only until written. */
export function buildZooModel(name: string, opts: BuildOptions = {}): OnnxModel {
  const e = entry(name);
  if (opts.seq !== undefined && e.family !== 'bert') {
    throw new PolyThrottleError('BAD_INPUT', `${e.name} takes images; --seq applies to the BERT models only`);
  }
  return e.build(opts);
}

const analyses = new Map<string, ModelAnalysis>();

/** Analysis of a zoo model (memoised per name, sequence length and dtype). */
export function zooAnalysis(name: string, opts: { seq?: number; dtype?: DType; batch?: number } = {}): ModelAnalysis {
  const e = entry(name);
  const seq = e.family === 'bert' ? (opts.seq ?? BERT_DEFAULT_SEQ) : undefined;
  const key = `${e.name}|${seq ?? ''}|${opts.dtype ?? 'fp32'}|${opts.batch ?? 1}`;
  let a = analyses.get(key);
  if (!a) {
    const m = buildZooModel(e.name, { dtype: opts.dtype, seq });
    a = analyzeModel(m, { name: e.name, batch: opts.batch });
    analyses.set(key, a);
  }
  return a;
}

/** The workload profile of a zoo model (fast: no weight bytes are made). */
export function zooProfile(name: string, opts: { seq?: number; dtype?: DType } = {}): WorkloadProfile {
  return zooAnalysis(name, opts).profile;
}

function describe(e: Entry): ZooModel {
  return {
    name: e.name,
    family: e.family,
    description: e.description,
    nativeInput: e.family === 'bert' ? `${e.inputShape[0]} tokens` : `${e.inputShape.join('×')} image`,
    inputShape: e.inputShape,
    hasSeq: e.family === 'bert',
    get params() {
      return zooAnalysis(e.name).params;
    },
    get macs() {
      return zooAnalysis(e.name).totals.macs;
    },
  };
}

/** The zoo, in the order `models list` prints it. */
export const ZOO_MODELS: readonly ZooModel[] = ENTRIES.map(describe);

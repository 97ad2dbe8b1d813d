/**
 * From a model's name and build options to its complete spec, and from a spec (or a stored run) back
 * to the workload profile it measured: the one way the report and the fine-tuning replay rebuild
 * what a run ran.
 */
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import type { DType, WorkloadProfile } from '../core/workload-profile.ts';
import { BERT_DEFAULT_SEQ, isZooModel, ZOO_MODELS, zooProfile } from './zoo/index.ts';

const hasSeq = (name: string): boolean => ZOO_MODELS.find((m) => m.name === name.toLowerCase())?.hasSeq === true;

/**
 * The complete spec of a model as the runners build it from these options: fp32 unless another
 * precision is given, and for a zoo model with a sequence input the default length unless another
 * is given. A sequence length for a model without one is an error.
 */
export function modelSpecOf(name: string, opts: { readonly dtype?: DType; readonly seq?: number } = {}): ModelSpec {
  const zooSeq = isZooModel(name) && hasSeq(name);
  if (opts.seq !== undefined && isZooModel(name) && !zooSeq) throw badInput(`${name} takes images; a sequence length applies to the BERT models only`);
  const seq = opts.seq ?? (zooSeq ? BERT_DEFAULT_SEQ : undefined);
  return { name, dtype: opts.dtype ?? 'fp32', ...(seq === undefined ? {} : { seq }) };
}

/** The model spec a run recorded; for a run stored without one, the defaults (`modelSpecOf(run.model)`). */
export function runModelSpec(run: Pick<TuningRun, 'model' | 'modelSpec'>): ModelSpec {
  return run.modelSpec ?? modelSpecOf(run.model);
}

/** The workload profile of a zoo model spec, at its precision and sequence length. */
export function profileForSpec(spec: ModelSpec): WorkloadProfile {
  if (!isZooModel(spec.name))
    throw new PolyThrottleError('NOT_FOUND', `"${spec.name}" is not a zoo model`, {
      hint: 'the profile of an .onnx file comes from the file (profileFromOnnxFile)',
    });
  return zooProfile(spec.name, { dtype: spec.dtype, ...(spec.seq === undefined ? {} : { seq: spec.seq }) });
}

/**
 * Parsing and checking a KServe v2 inference request against a model's metadata. Every problem is
 * a 400 whose message names the tensor and what is wrong with it.
 */
import { z } from 'zod';
import type { ModelMetadata, Tensor, TensorDatatype, TensorSpec } from '../core/inference.ts';
import { decodeBinaryTensor } from './binary-tensor.ts';
import { badRequest } from './http-error.ts';
import { elementCount, flattenData, toTensorData } from './tensor-data.ts';

const DATATYPES = ['FP32', 'FP16', 'FP64', 'INT64', 'INT32', 'INT8', 'UINT8', 'BOOL', 'BYTES'] as const;

const parameters = z.record(z.string(), z.unknown()).optional();

const requestInput = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string(),
  parameters,
  data: z.unknown().optional(),
});

/** The request body (https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol). */
export const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters,
  inputs: z.array(requestInput).min(1),
  outputs: z.array(z.object({ name: z.string().min(1), parameters })).optional(),
});

export interface ParsedInferRequest {
  readonly id: string | undefined;
  /** Inputs in the model's declared order, each batched along dimension 0. */
  readonly inputs: readonly Tensor[];
  /** Size of the batch dimension this request carries. */
  readonly rows: number;
  /** Outputs the client asked for (all when absent). */
  readonly outputs: readonly string[] | undefined;
  /** Key of the non-batch dimensions: only requests with equal keys can share a batch. */
  readonly signature: string;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}

function checkShape(spec: TensorSpec, shape: readonly number[]): string | null {
  if (shape.length !== spec.shape.length)
    return `input '${spec.name}' has shape [${shape.join(',')}] but the model expects rank ${spec.shape.length} [${spec.shape.join(',')}]`;
  for (let i = 0; i < shape.length; i++) {
    const want = spec.shape[i]!;
    if (want !== -1 && want !== shape[i])
      return `input '${spec.name}' has shape [${shape.join(',')}] but the model expects [${spec.shape.join(',')}] (dimension ${i} must be ${want})`;
  }
  return null;
}

/**
 * Parse and check `body` for `model`; throws a 400 HttpError naming the problem. `maxBatch` is the
 * model's batch limit per request, `queueCapacity` the most rows its queue holds.
 */
export function parseInferRequest(
  body: unknown,
  model: ModelMetadata,
  maxBatch: number,
  queueCapacity?: number,
  /** The tensor bytes of a binary-extension request (after its JSON header). */
  binary?: Uint8Array,
): ParsedInferRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object with an "inputs" array');
  const r = inferRequestSchema.safeParse(body);
  if (!r.success) throw badRequest(`invalid inference request: ${r.error.issues.slice(0, 3).map(describeIssue).join('; ')}`);
  const req = r.data;

  const byName = new Map<string, (typeof req.inputs)[number]>();
  // the binary extension: each input with binary_data_size takes the next bytes, in request order
  const blobs = new Map<string, Uint8Array>();
  let offset = 0;
  for (const inp of req.inputs) {
    const size = inp.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (!binary)
      throw badRequest(`input '${inp.name}' has binary_data_size but the request carries no binary data (send ${'Inference-Header-Content-Length'})`);
    if (!(typeof size === 'number' && Number.isInteger(size) && size >= 0))
      throw badRequest(`input '${inp.name}': binary_data_size must be a whole number of bytes`);
    if (offset + size > binary.length)
      throw badRequest(`input '${inp.name}' claims ${size} bytes of binary data but only ${binary.length - offset} remain after the header`);
    blobs.set(inp.name, binary.subarray(offset, offset + size));
    offset += size;
  }
  if (binary && offset !== binary.length) throw badRequest(`the binary data has ${binary.length} bytes but the inputs' binary_data_size add up to ${offset}`);
  for (const inp of req.inputs) {
    if (byName.has(inp.name)) throw badRequest(`input '${inp.name}' is given twice`);
    if (!model.inputs.some((s) => s.name === inp.name))
      throw badRequest(`unknown input '${inp.name}' for model '${model.name}'; expected ${model.inputs.map((s) => `'${s.name}'`).join(', ')}`);
    byName.set(inp.name, inp);
  }

  const inputs: Tensor[] = [];
  let rows: number | undefined;
  const sig: string[] = [];
  for (const spec of model.inputs) {
    const inp = byName.get(spec.name);
    if (!inp) throw badRequest(`missing input '${spec.name}' (${spec.datatype} [${spec.shape.join(',')}]) for model '${model.name}'`);
    if (!(DATATYPES as readonly string[]).includes(inp.datatype)) throw badRequest(`input '${spec.name}' has unknown datatype '${inp.datatype}'`);
    if (inp.datatype !== spec.datatype) throw badRequest(`input '${spec.name}' has datatype ${inp.datatype} but the model expects ${spec.datatype}`);
    const shapeProblem = checkShape(spec, inp.shape);
    if (shapeProblem) throw badRequest(shapeProblem);
    const batchable = spec.shape[0] === -1;
    const n = batchable ? inp.shape[0]! : 1;
    if (batchable && n < 1) throw badRequest(`input '${spec.name}' has an empty batch dimension`);
    if (rows === undefined) rows = n;
    else if (rows !== n) throw badRequest(`inputs disagree on the batch dimension: '${spec.name}' has ${n}, an earlier input has ${rows}`);
    const want = elementCount(inp.shape);
    const blob = blobs.get(spec.name);
    let data: Tensor['data'] | string;
    if (blob) data = decodeBinaryTensor(spec.datatype as TensorDatatype, blob, want);
    else {
      const flat = flattenData(inp.data);
      if (typeof flat === 'string') throw badRequest(`input '${spec.name}': ${flat}`);
      if (flat.length !== want) throw badRequest(`input '${spec.name}' has ${flat.length} elements but shape [${inp.shape.join(',')}] needs ${want}`);
      data = toTensorData(spec.datatype as TensorDatatype, flat);
    }
    if (typeof data === 'string') throw badRequest(`input '${spec.name}': ${data}`);
    inputs.push({ name: spec.name, datatype: spec.datatype, shape: inp.shape, data });
    sig.push(inp.shape.slice(1).join('x'));
  }
  const batchRows = rows ?? 1;
  if (batchRows > maxBatch) throw badRequest(`the request carries a batch of ${batchRows} but model '${model.name}' accepts at most ${maxBatch} per request`);
  // A batch larger than the queue can ever hold would be refused forever: final, not "retry later".
  if (queueCapacity !== undefined && batchRows > queueCapacity)
    throw badRequest(
      `the request carries a batch of ${batchRows} rows but the queue of model '${model.name}' holds at most ${queueCapacity} (--max-queue): send at most ${queueCapacity} rows per request`,
    );

  let outputs: string[] | undefined;
  if (req.outputs) {
    outputs = [];
    for (const o of req.outputs) {
      if (!model.outputs.some((s) => s.name === o.name))
        throw badRequest(`unknown output '${o.name}' for model '${model.name}'; it has ${model.outputs.map((s) => `'${s.name}'`).join(', ')}`);
      outputs.push(o.name);
    }
  }
  return { id: req.id, inputs, rows: batchRows, outputs, signature: sig.join('|') };
}

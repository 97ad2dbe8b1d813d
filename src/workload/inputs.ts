/**
 * Input tensors for a model: generated to the model's declared shapes from a seeded generator, or
 * taken from a samples file. The same seed gives the same bytes.
 */
import { readFile } from 'node:fs/promises';
import type { ModelMetadata, Tensor, TensorDatatype, TensorSpec } from '../core/inference.ts';
import { badInput } from '../core/errors.ts';
import { mulberry32 } from '../numerics/random.ts';

export interface InputOptions {
  readonly seed?: number;
  /** Upper bound (exclusive) of generated integer inputs such as token ids (default 100). */
  readonly intRange?: number;
  /** Sizes for dynamic non-batch dimensions, per input name, e.g. { input_ids: [128] }. */
  readonly dims?: Readonly<Record<string, readonly number[]>>;
  /** Samples to cycle through instead of generated data (see `readSamplesFile`). */
  readonly samples?: readonly Sample[];
}

/** One sample: input name → flat data of one sample (no batch dimension). */
export type Sample = Readonly<Record<string, readonly (number | string | boolean)[]>>;

/** Shape of one sample of an input (the declared shape without its batch dimension). */
export function sampleShape(spec: TensorSpec, dims?: readonly number[]): number[] {
  const rest = spec.shape.slice(1);
  let d = 0;
  const out = rest.map((n) => {
    if (n >= 0) return n;
    const given = dims?.[d++];
    if (given === undefined)
      throw badInput(
        `input "${spec.name}" has a dynamic dimension (shape [${spec.shape.join(', ')}]) and no size was given for it`,
        'give the size of each symbolic dimension with --dim <name>=<size> (`polythrottle models inspect <file>` names them)',
      );
    return given;
  });
  return out;
}

/** The first dimension is the batch: -1 (any) or a fixed size the batch must equal. */
export function checkBatchDimension(spec: TensorSpec, batch: number): void {
  const first = spec.shape[0];
  if (first === undefined) throw badInput(`input "${spec.name}" is a scalar: it has no batch dimension to batch along`);
  if (first >= 0 && first !== batch)
    throw badInput(
      `input "${spec.name}" has a fixed first dimension of ${first} (shape [${spec.shape.join(', ')}]); batch size ${batch} is not possible`,
      `use --batch-sizes ${first}, or export the model with a dynamic batch dimension`,
    );
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function generate(datatype: TensorDatatype, name: string, n: number, rnd: () => number, intRange: number): Tensor['data'] {
  const lname = name.toLowerCase();
  switch (datatype) {
    // Floats are 8-bit levels scaled to [-1, 1), like a normalised 8-bit image: exact in FP16, and
    // short in JSON (k/128 has at most 8 decimals), which halves http request bodies.
    case 'FP32':
    case 'FP16': {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = (Math.floor(rnd() * 256) - 128) / 128;
      return a;
    }
    case 'FP64': {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = (Math.floor(rnd() * 256) - 128) / 128;
      return a;
    }
    case 'INT64':
    case 'INT32': {
      // Attention masks are all ones and segment ids all zeros; everything else is an id in range.
      const fill = lname.includes('mask') ? 1 : lname.includes('type') || lname.includes('segment') ? 0 : undefined;
      const val = (): number => fill ?? Math.floor(rnd() * intRange);
      if (datatype === 'INT32') {
        const a = new Int32Array(n);
        for (let i = 0; i < n; i++) a[i] = val();
        return a;
      }
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(val());
      return a;
    }
    case 'INT8': {
      const a = new Int8Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(rnd() * 256) - 128;
      return a;
    }
    case 'UINT8': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(rnd() * 256);
      return a;
    }
    case 'BOOL':
      return Array.from({ length: n }, () => rnd() < 0.5);
    case 'BYTES':
      return Array.from({ length: n }, (_, i) => `sample ${i}`);
  }
}

function fromSamples(spec: TensorSpec, shape: readonly number[], batch: number, samples: readonly Sample[], offset: number): Tensor['data'] {
  const per = product(shape);
  const flat: (number | string | boolean)[] = [];
  for (let b = 0; b < batch; b++) {
    const s = samples[(offset + b) % samples.length]!;
    const d = s[spec.name];
    if (!d) throw badInput(`the samples give no data for input "${spec.name}" (they have: ${Object.keys(s).join(', ')})`);
    if (d.length !== per) throw badInput(`a sample of input "${spec.name}" has ${d.length} values; its shape [${shape.join(', ')}] needs ${per}`);
    flat.push(...d);
  }
  switch (spec.datatype) {
    case 'FP32':
    case 'FP16':
      return Float32Array.from(flat as number[]);
    case 'FP64':
      return Float64Array.from(flat as number[]);
    case 'INT64':
      return BigInt64Array.from(flat as number[], (x) => BigInt(Math.trunc(x)));
    case 'INT32':
      return Int32Array.from(flat as number[]);
    case 'INT8':
      return Int8Array.from(flat as number[]);
    case 'UINT8':
      return Uint8Array.from(flat as number[]);
    case 'BOOL':
      return flat.map(Boolean);
    case 'BYTES':
      return flat.map(String);
  }
}

/**
 * Makes batches of inputs for a model. Each batch size's tensors are built once and reused, so the
 * timed loop measures the model, not the data generator.
 */
export class InputFactory {
  private readonly cache = new Map<number, Tensor[]>();
  constructor(
    private readonly inputs: readonly TensorSpec[],
    private readonly opts: InputOptions = {},
  ) {
    if (inputs.length === 0) throw badInput('the model declares no inputs');
    if (opts.samples && opts.samples.length === 0) throw badInput('the samples file holds no samples');
  }

  static forModel(meta: ModelMetadata, opts?: InputOptions): InputFactory {
    return new InputFactory(meta.inputs, opts);
  }

  batch(batch: number): readonly Tensor[] {
    const hit = this.cache.get(batch);
    if (hit) return hit;
    const rnd = mulberry32((this.opts.seed ?? 1) * 7919 + batch);
    const tensors = this.inputs.map((spec) => {
      checkBatchDimension(spec, batch);
      const shape = sampleShape(spec, this.opts.dims?.[spec.name]);
      const data = this.opts.samples
        ? fromSamples(spec, shape, batch, this.opts.samples, 0)
        : generate(spec.datatype, spec.name, batch * product(shape), rnd, this.opts.intRange ?? 100);
      return { name: spec.name, datatype: spec.datatype, shape: [batch, ...shape], data };
    });
    this.cache.set(batch, tensors);
    return tensors;
  }
}

interface KServeInput {
  name: string;
  shape: number[];
  data: unknown[];
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function flatten(x: unknown, out: (number | string | boolean)[] = []): (number | string | boolean)[] {
  if (Array.isArray(x)) for (const v of x) flatten(v, out);
  else if (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') out.push(x);
  else throw badInput(`sample data must be numbers, strings or booleans, got ${JSON.stringify(x)}`);
  return out;
}

/**
 * Parses samples: either a JSON list of samples, each `{ "<input name>": data }` (data flat or
 * nested, one sample, no batch dimension), or a KServe v2 request body
 * `{ "inputs": [{ "name", "shape": [batch, …], "datatype", "data" }] }`, split along dimension 0.
 */
export function parseSamples(json: unknown, source = 'samples'): Sample[] {
  if (Array.isArray(json)) {
    return json.map((s, i) => {
      if (!isRecord(s)) throw badInput(`${source}: sample ${i} is not an object of input name → data`);
      return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, flatten(v)]));
    });
  }
  if (isRecord(json) && Array.isArray(json.inputs)) {
    const inputs = json.inputs as KServeInput[];
    const first = inputs[0];
    if (!first || !Array.isArray(first.shape) || first.shape.length === 0) throw badInput(`${source}: a KServe request body needs inputs with a shape`);
    const n = first.shape[0]!;
    const out: Record<string, (number | string | boolean)[]>[] = Array.from({ length: n }, () => ({}));
    for (const inp of inputs) {
      const flat = flatten(inp.data);
      if (inp.shape[0] !== n) throw badInput(`${source}: input "${inp.name}" has ${inp.shape[0]} samples, "${first.name}" has ${n}`);
      const per = flat.length / n;
      if (!Number.isInteger(per) || per !== product(inp.shape.slice(1)))
        throw badInput(`${source}: input "${inp.name}" has ${flat.length} values for shape [${inp.shape.join(', ')}]`);
      for (let i = 0; i < n; i++) out[i]![inp.name] = flat.slice(i * per, (i + 1) * per);
    }
    return out;
  }
  throw badInput(`${source}: expected a JSON list of samples or a KServe v2 request body with "inputs"`);
}

export async function readSamplesFile(path: string): Promise<Sample[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw badInput(`cannot read the samples file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badInput(`the samples file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseSamples(json, path);
}

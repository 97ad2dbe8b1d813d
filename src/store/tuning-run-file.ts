/**
 * A tuning run as a JSON file (what `tune --json` prints): the one reader of such files and the
 * schema that checks them. Callers add their own checks (serving needs a recommendation).
 */
import { z } from 'zod';
import { badInput } from '../core/errors.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readJsonFile } from './json-file.ts';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const hz = finite.optional().nullable();

const configSchema = z.object({
  cpuHz: hz,
  gpuMinHz: hz,
  gpuMaxHz: hz,
  emcHz: hz,
  batch: z.number().int().min(1),
});

const measurementSchema = z.object({
  valid: z.boolean(),
  energyPerQueryJ: finite,
  latencyP50Ms: finite,
  latencyTailMs: finite,
  tailQuantile: finite,
  throughputQps: finite,
  powerW: finite,
  noise: z.object({ energyCv: finite, latencyTailCv: finite }),
});

/** The parts of a TuningRun its readers rely on; the rest passes through untouched. */
const tuningRunSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  device: z.object({ id: z.string(), kind: z.string(), name: z.string() }),
  model: z.string(),
  modelSpec: z.object({ name: z.string(), dtype: z.enum(['fp32', 'fp16']), seq: z.number().int().min(1).optional() }).optional(),
  slo: z.object({ latencyMs: finite.refine((v) => v > 0, 'must be positive'), quantile: finite }),
  optimizer: z.string(),
  seed: z.number(),
  budget: z.number(),
  trials: z.array(z.object({ index: z.number().int(), source: z.string(), config: configSchema, measurement: measurementSchema, feasible: z.boolean() })),
  recommendation: z.object({ config: configSchema, measurement: measurementSchema }).nullable(),
  baselines: z.array(z.object({ name: z.string(), config: configSchema, measurement: measurementSchema, feasible: z.boolean(), saving: finite.nullable() })),
  lengthscales: z.record(z.string(), finite).optional(),
});

/** Check that a parsed JSON value is a TuningRun (as `tune --json` prints it); `what` names it in errors. */
export function parseTuningRun(value: unknown, what: string): TuningRun {
  const r = tuningRunSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw badInput(`${what} is not a tuning run${at}: ${issue?.message ?? 'invalid'}`, 'give the JSON that `polythrottle tune --json` prints');
  }
  return value as TuningRun;
}

/** Read a tuning-run JSON file; a missing file, bad JSON or a wrong field is a BAD_INPUT naming the file. */
export async function readTuningRunFile(path: string): Promise<TuningRun> {
  return parseTuningRun(await readJsonFile(path, 'tuning run'), path);
}

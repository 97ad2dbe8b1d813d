import { basename } from 'node:path';
import { badInput } from '../core/errors.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readTimelineFile } from './finetune-timeline.ts';
import { landscapeFor, readLandscapeCsv } from './landscape.ts';
import type { ReportInputs } from './report-plan.ts';
import { parseTuningRun, readJsonFile, readTuningRunFile } from './tuning-run-file.ts';
import { twinLandscape } from './twin-landscape.ts';

/** Where each input of a report comes from (files; '-' reads the run from stdin). */
export interface ReportSources {
  /** A tuning-run JSON file (as `tune --json` prints it), or '-' for stdin. */
  readonly run: string;
  readonly landscape?: string;
  /** Compute the landscape with the device twin when the run was made on it and no file is given (default true). */
  readonly twin?: boolean;
  /** Progress of computing the twin's landscape. */
  readonly onTwinProgress?: (done: number, total: number) => void;
  readonly compare?: readonly string[];
  readonly benchmark?: string;
  readonly timeline?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Read the run from a file or stdin. */
export async function readRunSource(source: string): Promise<TuningRun> {
  if (source !== '-') return readTuningRunFile(source);
  const text = await readStdin();
  if (text.trim() === '') throw badInput('stdin is empty', 'pipe a run in: polythrottle tune --json | polythrottle report -');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badInput(`stdin is not valid JSON: ${(e as Error).message}`, undefined, e);
  }
  return parseTuningRun(value, 'stdin');
}

/** Read every input a report needs, checking that they describe the same problem. */
export async function loadReportInputs(src: ReportSources): Promise<ReportInputs> {
  const run = await readRunSource(src.run);
  const compareRuns: TuningRun[] = [];
  for (const path of src.compare ?? []) {
    const other = await readTuningRunFile(path);
    if (other.model !== run.model || other.device.id !== run.device.id)
      throw badInput(
        `${path} is a run of ${other.model} on ${other.device.id}, not ${run.model} on ${run.device.id}`,
        'compare runs of the same model on the same device',
      );
    if (other.slo.latencyMs !== run.slo.latencyMs || other.slo.quantile !== run.slo.quantile)
      throw badInput(`${path} tuned for a different SLO (${other.slo.latencyMs} ms at q=${other.slo.quantile}), so its best energies are not comparable`);
    compareRuns.push(other);
  }
  let landscape: Pick<ReportInputs, 'landscape' | 'landscapeSource'> = {};
  if (src.landscape) {
    const rows = landscapeFor(await readLandscapeCsv(src.landscape), run.model, run.device.id);
    landscape = { landscape: rows, landscapeSource: `${basename(src.landscape)} (${rows.length} configurations)` };
  } else if (src.twin !== false) {
    const t = twinLandscape(run, src.onTwinProgress);
    if (t.rows) landscape = { landscape: t.rows, landscapeSource: t.note };
  }
  return {
    run,
    ...landscape,
    ...(compareRuns.length > 0 ? { compareRuns } : {}),
    ...(src.benchmark ? { benchmark: await readJsonFile(src.benchmark, 'benchmark') } : {}),
    ...(src.timeline ? { timeline: await readTimelineFile(src.timeline) } : {}),
  };
}

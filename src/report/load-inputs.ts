import { basename } from 'node:path';
import { badInput } from '../core/errors.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readJsonFile } from '../store/json-file.ts';
import { runModelSpec } from '../model/model-spec.ts';
import { readRunSource } from '../store/run-source.ts';
import { readTuningRunFile } from '../store/tuning-run-file.ts';
import { readTimelineFile } from './finetune-timeline.ts';
import { landscapeFor, readLandscapeCsv } from './landscape.ts';
import type { ReportInputs } from './report-plan.ts';
import { twinInputs } from './twin-landscape.ts';

/** Where each input of a report comes from (files; '-' reads the run from stdin). */
export interface ReportSources {
  /**
   * A tuning-run JSON file (as `tune --json` prints it), '-' for stdin, or — when no such file
   * exists — a run id, profile id, unique prefix of either, or `latest`, looked up in the store.
   */
  readonly run: string;
  /** The SQLite tuning store for ids (default: $POLYTHROTTLE_DB or the user data directory). */
  readonly db?: string;
  readonly landscape?: string;
  /** Compute the landscape with the device twin when the run was made on it and no file is given (default true). */
  readonly twin?: boolean;
  /** Progress of computing the twin's landscape. */
  readonly onTwinProgress?: (done: number, total: number) => void;
  readonly compare?: readonly string[];
  readonly benchmark?: string;
  readonly timeline?: string;
}

const specText = (s: ModelSpec) => `${s.dtype}${s.seq === undefined ? '' : ` at ${s.seq} tokens`}`;

/** Read every input a report needs, checking that they describe the same problem. */
export async function loadReportInputs(src: ReportSources): Promise<ReportInputs> {
  const run = await readRunSource(src.run, src.db);
  const compareRuns: TuningRun[] = [];
  for (const path of src.compare ?? []) {
    const other = await readTuningRunFile(path);
    if (other.model !== run.model || other.device.id !== run.device.id)
      throw badInput(
        `${path} is a run of ${other.model} on ${other.device.id}, not ${run.model} on ${run.device.id}`,
        'compare runs of the same model on the same device',
      );
    const [ours, theirs] = [runModelSpec(run), runModelSpec(other)];
    if (theirs.dtype !== ours.dtype || theirs.seq !== ours.seq)
      throw badInput(`${path} measured ${other.model} as ${specText(theirs)}, not ${specText(ours)}`, 'compare runs of the same model at the same precision');
    if (other.slo.latencyMs !== run.slo.latencyMs || other.slo.quantile !== run.slo.quantile)
      throw badInput(`${path} tuned for a different SLO (${other.slo.latencyMs} ms at q=${other.slo.quantile}), so its best energies are not comparable`);
    compareRuns.push(other);
  }
  let landscape: Pick<ReportInputs, 'landscape' | 'landscapeSource' | 'grid' | 'gridSource'> = {};
  if (src.landscape) {
    const rows = landscapeFor(await readLandscapeCsv(src.landscape), run.model, run.device.id);
    landscape = { landscape: rows, landscapeSource: `${basename(src.landscape)} (${rows.length} configurations)` };
  } else if (src.twin !== false) {
    // Over every CPU clock: the convergence reference must be the optimum of everything the run searched.
    const t = twinInputs(run, src.onTwinProgress);
    if (t.landscape) landscape = { landscape: t.landscape, landscapeSource: t.landscapeSource, grid: t.grid, gridSource: t.gridSource };
  }
  return {
    run,
    ...landscape,
    ...(compareRuns.length > 0 ? { compareRuns } : {}),
    ...(src.benchmark ? { benchmark: await readJsonFile(src.benchmark, 'benchmark') } : {}),
    ...(src.timeline ? { timeline: await readTimelineFile(src.timeline) } : {}),
  };
}

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readJsonFile } from '../store/json-file.ts';
import { runModelSpec } from '../model/model-spec.ts';
import { defaultDbPath } from '../store/paths.ts';
import { parseTuningRun, readTuningRunFile } from '../store/tuning-run-file.ts';
import { TuningStore } from '../store/tuning-store.ts';
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

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A finished run from the tuning store, by run id, profile id, a unique prefix of either, or `latest`. */
export function readStoredRun(idOrPrefix: string, dbPath: string = defaultDbPath()): TuningRun {
  // Opening the store would create it; a missing store means the name was meant as a file.
  if (!existsSync(dbPath))
    throw badInput(
      `no file "${idOrPrefix}" and no tuning store at ${dbPath} to look it up in`,
      'give a `tune --json` file, or --db <store> (or set POLYTHROTTLE_DB) for a stored run',
    );
  const store = new TuningStore(dbPath);
  try {
    const id = idOrPrefix === 'latest' ? store.listProfiles()[0]?.runId : idOrPrefix;
    const run = id === undefined ? null : store.getRun(id);
    if (!run) {
      const recent = store
        .listProfiles()
        .slice(0, 5)
        .map((p) => `${p.runId.slice(0, 8)} (${p.model} on ${p.deviceId}, ${p.createdAt.slice(0, 16)})`);
      throw new PolyThrottleError('NOT_FOUND', `no file "${idOrPrefix}" and no finished run or profile "${idOrPrefix}" in ${dbPath}`, {
        hint: recent.length > 0 ? `recent runs: ${recent.join(', ')}` : 'the store holds no finished run yet; give a `tune --json` file',
      });
    }
    return parseTuningRun(run, `stored run ${id}`);
  } finally {
    store.close();
  }
}

/** Read the run from a file, stdin ('-') or the tuning store. */
export async function readRunSource(source: string, dbPath?: string): Promise<TuningRun> {
  // A name that looks like a path is a file (a clear "no such file" when missing), anything else an id.
  const looksLikePath = /[\\/]/.test(source) || /\.json$/i.test(source);
  if (source !== '-') return existsSync(source) || looksLikePath ? readTuningRunFile(source) : readStoredRun(source, dbPath);
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

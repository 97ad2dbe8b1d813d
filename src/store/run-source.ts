/**
 * A tuning run named the ways a user names one: a `tune --json` file, '-' for standard input, or a
 * run id, profile id, unique prefix of either, or `latest` in the tuning store, or a registry key
 * (board:l4t:model-hash:precision:runtime:p<q>-<slo>ms). The one reader of runs for `report`,
 * `recommend` and `serve --profile`.
 */
import { existsSync } from 'node:fs';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { openStore } from './open-store.ts';
import { defaultDbPath } from './paths.ts';
import { isProfileKey } from './profile-key.ts';
import { isPostgresUrl } from './postgres-store.ts';
import { parseTuningRun, readTuningRunFile } from './tuning-run-file.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A finished run from the tuning store, by run id, profile id, a unique prefix of either, or `latest`. */
export async function readStoredRun(idOrPrefix: string, dbPath: string = defaultDbPath()): Promise<TuningRun> {
  // Opening the store would create it; a missing store means the name was meant as a file.
  if (!isPostgresUrl(dbPath) && !existsSync(dbPath))
    throw badInput(
      `no file "${idOrPrefix}" and no tuning store at ${dbPath} to look it up in`,
      'give a `tune --json` file, or --db <store> (or set POLYTHROTTLE_DB) for a stored run',
    );
  const store = await openStore(dbPath);
  try {
    const id = idOrPrefix === 'latest' ? (await store.listProfiles())[0]?.runId : idOrPrefix;
    const run = id === undefined ? null : await store.getRun(id);
    if (!run) {
      const recent = (await store.listProfiles()).slice(0, 5).map((p) => `${p.runId.slice(0, 8)} (${p.model} on ${p.deviceId}, ${p.createdAt.slice(0, 16)})`);
      throw new PolyThrottleError('NOT_FOUND', `no file "${idOrPrefix}" and no finished run or profile "${idOrPrefix}" in ${store.path}`, {
        hint: recent.length > 0 ? `recent runs: ${recent.join(', ')}` : 'the store holds no finished run yet; give a `tune --json` file',
      });
    }
    return parseTuningRun(run, `stored run ${id}`);
  } finally {
    await store.close();
  }
}

/** The run behind a profile key in the store's registry. */
export async function readRegistryRun(key: string, dbPath: string = defaultDbPath()): Promise<TuningRun> {
  const store = await openStore(dbPath);
  try {
    const p = await store.pullProfile(key);
    if (!p)
      throw new PolyThrottleError('NOT_FOUND', `no profile "${key}" in the registry at ${store.path}`, {
        hint: 'list the keys with `polythrottle profile list --db …`',
      });
    return parseTuningRun(p.run, `profile ${key}`);
  } finally {
    await store.close();
  }
}

/** Read the run from a file, stdin ('-'), a registry key or the tuning store. */
export async function readRunSource(source: string, dbPath?: string): Promise<TuningRun> {
  if (isProfileKey(source) && !existsSync(source)) return readRegistryRun(source, dbPath);
  // A name that looks like a path is a file (a clear "no such file" when missing), anything else an id.
  const looksLikePath = /[\\/]/.test(source) || /\.json$/i.test(source);
  if (source !== '-') return existsSync(source) || looksLikePath ? readTuningRunFile(source) : readStoredRun(source, dbPath);
  const text = await readStdin();
  if (text.trim() === '') throw badInput('stdin is empty', 'pipe a run in, e.g. polythrottle tune --json | polythrottle report -');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badInput(`stdin is not valid JSON: ${(e as Error).message}`, undefined, e);
  }
  return parseTuningRun(value, 'stdin');
}

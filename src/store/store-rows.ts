/** Rows of the store's tables as both backends return them, and their mapping to the store's types. */
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import type { FleetTrialRecord, Lease, ProfileSummary, RegistryProfile, RegistrySummary, StoredRunInfo } from './store.ts';

export interface RunRow {
  id: string;
  device_id: string;
  model: string;
  settings_key: string;
  status: 'running' | 'done' | 'failed';
  created_at: string;
}
export interface TrialRow {
  idx: number;
  source: string;
  config_json: string;
  measurement_json: string;
  feasible: number;
  acquisition: number | null;
  suggest_ms: number | null;
  queue_id?: number | null;
  board_id?: string | null;
}
export interface ProfileRow {
  id: string;
  run_id: string;
  device_id: string;
  model: string;
  slo_ms: number;
  quantile: number;
  created_at: string;
}
export interface QueueRow {
  id: number;
  run_id: string;
  source: string;
  task_json: string;
  lease_token: string;
  lease_expires_ms: number;
  attempts: number;
}
export interface RegistryRow {
  key: string;
  board_type: string;
  l4t: string;
  model_hash: string;
  precision: string;
  runtime: string;
  slo_ms: number;
  quantile: number;
  model: string;
  run_id: string;
  boards_json: string;
  run_json?: string;
  pushed_at: string;
  version: number;
}

export const runInfo = (row: RunRow, trials: number): StoredRunInfo => ({
  id: row.id,
  status: row.status,
  createdAt: row.created_at,
  model: row.model,
  deviceId: row.device_id,
  trials,
});

export function trialOf(r: TrialRow): TrialRecord {
  return {
    index: r.idx,
    source: r.source as TrialRecord['source'],
    config: JSON.parse(r.config_json),
    measurement: JSON.parse(r.measurement_json),
    feasible: r.feasible === 1,
    ...(r.acquisition === null ? {} : { acquisition: r.acquisition }),
    ...(r.suggest_ms === null ? {} : { suggestMs: r.suggest_ms }),
  };
}

export const fleetTrialOf = (r: TrialRow): FleetTrialRecord => ({ ...trialOf(r), queueId: Number(r.queue_id), boardId: r.board_id ?? '' });

export const profileOf = (r: ProfileRow): ProfileSummary => ({
  id: r.id,
  runId: r.run_id,
  deviceId: r.device_id,
  model: r.model,
  sloMs: r.slo_ms,
  quantile: r.quantile,
  createdAt: r.created_at,
});

export const leaseOf = (r: QueueRow): Lease => ({
  queueId: Number(r.id),
  runId: r.run_id,
  token: r.lease_token,
  source: r.source as Lease['source'],
  task: JSON.parse(r.task_json),
  attempts: r.attempts,
  expiresMs: r.lease_expires_ms,
});

export function registrySummaryOf(r: RegistryRow): RegistrySummary {
  return {
    key: r.key,
    boardType: r.board_type,
    l4t: r.l4t,
    modelHash: r.model_hash,
    precision: r.precision,
    runtime: r.runtime,
    sloMs: r.slo_ms,
    quantile: r.quantile,
    model: r.model,
    runId: r.run_id,
    boards: JSON.parse(r.boards_json) as string[],
    pushedAt: r.pushed_at,
    version: r.version,
  };
}

export const registryProfileOf = (r: RegistryRow): RegistryProfile => ({ ...registrySummaryOf(r), run: JSON.parse(r.run_json ?? 'null') as TuningRun });

/** The values of a trial row, in the column order of TRIAL_COLUMNS. */
export const TRIAL_COLUMNS =
  'run_id, idx, source, config_json, measurement_json, feasible, energy_per_query_j, latency_tail_ms, acquisition, suggest_ms, queue_id, board_id';

export function trialValues(runId: string, t: TrialRecord, queueId: number | null = null, boardId: string | null = null): unknown[] {
  return [
    runId,
    t.index,
    t.source,
    JSON.stringify(t.config),
    JSON.stringify(t.measurement),
    t.feasible ? 1 : 0,
    t.measurement.valid ? t.measurement.energyPerQueryJ : null,
    t.measurement.valid ? t.measurement.latencyTailMs : null,
    t.acquisition ?? null,
    t.suggestMs ?? null,
    queueId,
    boardId,
  ];
}

/** Profile columns of a finished run. */
export function profileValues(run: TuningRun, profileId: string, now: string): unknown[] {
  return [
    profileId,
    run.id,
    run.device.id,
    run.model,
    run.slo.latencyMs,
    run.slo.quantile,
    now,
    run.recommendation ? JSON.stringify(run.recommendation) : null,
    JSON.stringify(run.pareto ?? []),
    run.surrogates ? JSON.stringify(run.surrogates) : null,
  ];
}

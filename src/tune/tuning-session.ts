/**
 * A tuning run with its store: the run and every trial are written as they happen, a resumed run
 * re-uses the finished trials of the interrupted one, and the finished run becomes a profile.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DEFAULT_BATCH_SIZES } from '../core/config.ts';
import { PolyThrottleError } from '../core/errors.ts';
import type { TuningRun, TwinProfileRecord } from '../core/tuning-run.ts';
import { type HeldLock, acquireLock } from '../device/safety/owner-lock.ts';
import { stateDir } from '../device/safety/snapshot-file.ts';
import type { Store } from '../store/store.ts';
import { budgetOf, type TuneOptions, tune } from './tune.ts';

export interface TuningSessionOptions extends Omit<TuneOptions, 'resumeFrom' | 'runId' | 'createdAt'> {
  readonly store: Store;
  /** true: the latest unfinished run with the same settings; a string: that run id (or prefix). */
  readonly resume?: boolean | string;
  /** Further settings that must match for a resume (device string, twin noise…). */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** The twin's runtime, recorded in the run (absent: none chosen). */
  readonly runtime?: string;
  /** The calibrated twin profile the twin was, recorded in the run (absent: none). */
  readonly twinProfile?: TwinProfileRecord;
  /** Told when a run is resumed (id, trials available) or when an unfinished one could have been. */
  readonly onResume?: (info: { readonly runId: string; readonly trials: number; readonly resumed: boolean }) => void;
}

export interface TuningSessionResult {
  readonly run: TuningRun;
  readonly profileId: string;
  /** Id of the run this one continued, when resumed. */
  readonly resumedRun: string | null;
}

/** The settings a resumed run must share with the interrupted one. */
export function settingsKey(o: TuningSessionOptions, deviceId: string): string {
  return JSON.stringify({
    device: deviceId,
    model: o.model,
    slo: o.slo,
    rateRps: o.rateRps ?? null,
    budget: budgetOf(o),
    seed: o.seed ?? 0,
    method: o.method ?? 'joint',
    presets: o.presets ?? null,
    prior: o.prior ? 'given' : null,
    batchSizes: [...new Set(o.batchSizes ?? DEFAULT_BATCH_SIZES)].sort((a, b) => a - b),
    joint: o.joint ?? false,
    margin: o.margin ?? null,
    optimizer: o.optimizer ?? 'cbo',
    trial: o.trial ?? null,
    baselines: o.baselines ?? true,
    ...o.settings,
  });
}

export async function runTuningSession(o: TuningSessionOptions): Promise<TuningSessionResult> {
  const device = await o.runner.describe();
  const key = settingsKey(o, device.id);
  const previous = o.resume ? await o.store.findResumable(key, typeof o.resume === 'string' ? o.resume : undefined) : null;
  if (o.resume && typeof o.resume === 'string' && !previous) throw new PolyThrottleError('NOT_FOUND', `no run "${o.resume}" in ${o.store.path}`);
  if (!o.resume) {
    const unfinished = await o.store.findResumable(key);
    if (unfinished) o.onResume?.({ runId: unfinished.id, trials: unfinished.trials, resumed: false });
  }
  const runId = previous?.id ?? randomUUID();
  // The run's owner (PID + start time): a --resume of a run whose process is still alive is refused.
  const owner = await takeRunLock(runId, previous !== null);
  try {
    return await runOwned(o, device, key, previous, runId);
  } finally {
    await owner.release();
  }
}

/** Lock file of a tuning run (in the state directory, beside the device snapshots). */
export const runLockPath = (runId: string): string => join(stateDir(), `run-${runId}.lock`);

function takeRunLock(runId: string, resuming: boolean): Promise<HeldLock> {
  return acquireLock(runLockPath(runId), {
    what: `tuning run ${runId.slice(0, 8)}`,
    ...(resuming ? { hint: 'it is still running: wait for it, or stop it (Ctrl-C) and then --resume it' } : {}),
    log: () => {}, // a killed run's lock is expected on --resume
  });
}

async function runOwned(
  o: TuningSessionOptions,
  device: Awaited<ReturnType<TuningSessionOptions['runner']['describe']>>,
  key: string,
  previous: Awaited<ReturnType<Store['findResumable']>>,
  runId: string,
): Promise<TuningSessionResult> {
  const createdAt = previous?.createdAt ?? new Date().toISOString();
  const resumeFrom = previous ? await o.store.loadTrials(previous.id) : [];
  if (previous) {
    await o.store.reopenRun(previous.id);
    o.onResume?.({ runId: previous.id, trials: resumeFrom.length, resumed: true });
  } else
    await o.store.createRun({
      id: runId,
      device,
      model: typeof o.model === 'string' ? o.model : o.model.name,
      sloMs: o.slo.latencyMs,
      quantile: o.slo.quantile,
      ...(o.rateRps === undefined ? {} : { rateRps: o.rateRps }),
      optimizer: o.optimizer ?? 'cbo',
      seed: o.seed ?? 0,
      budget: budgetOf(o),
      settingsKey: key,
      createdAt,
    });
  // fresh measurements are appended after the stored ones, so nothing stored is overwritten before
  // it is re-used (a second interruption loses nothing)
  let nextIndex = resumeFrom.reduce((m, t) => Math.max(m, t.index + 1), 0);
  let run: TuningRun;
  try {
    run = await tune({
      ...o,
      runId,
      createdAt,
      resumeFrom,
      onTrial: async (rec, info) => {
        if (!info.reused) await o.store.saveTrial(runId, { ...rec, index: nextIndex++ });
        await o.onTrial?.(rec, info);
      },
    });
  } catch (e) {
    await o.store.markFailed(runId);
    throw e;
  }
  if (o.runtime !== undefined) run = { ...run, runtime: o.runtime };
  if (o.twinProfile !== undefined) run = { ...run, twinProfile: o.twinProfile };
  const profileId = await o.store.finishRun(run);
  return { run: { ...run, profileId }, profileId, resumedRun: previous?.id ?? null };
}

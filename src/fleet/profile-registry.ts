/**
 * The profile registry: finished tuning runs kept by what makes a tuning transferable, the board
 * type, L4T version, model content, precision, runtime and SLO, so every board of a type serves
 * the profile one fleet run (or one board) measured. A profile records the boards that measured it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { PolyThrottleError } from '../core/errors.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { profileForSpec, runModelSpec } from '../model/model-spec.ts';
import { formatProfileKey } from '../store/profile-key.ts';
import type { ProfileKeyFields, RegistrySummary, Store } from '../store/store.ts';
import { boardTypeOfDeviceId } from '../store/tuning-store.ts';

const sha12 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 12);

/**
 * Content hash of a model (12 hex digits): the bytes of an .onnx file; for a zoo model its workload
 * profile (layers, shapes, precision, sequence length), so the same zoo model at another precision
 * or sequence length has another hash.
 */
export function modelContentHash(spec: ModelSpec): string {
  if (/\.onnx$/i.test(spec.name) && existsSync(spec.name)) return sha12(readFileSync(spec.name));
  try {
    return sha12(JSON.stringify(profileForSpec(spec)));
  } catch {
    return sha12(JSON.stringify(spec));
  }
}

/** The L4T version of a device's release text: `L4T R35.4 (simulated)` → `35.4`. */
export function l4tVersion(release: string | undefined): string {
  const m = release ? /R?(\d+(?:\.\d+)+)/.exec(release) : null;
  return m ? m[1]! : (release ?? 'unknown');
}

export interface ProfileKeyOptions {
  /** Default: the run's device release. */
  readonly l4t?: string;
  /** Default: the runtime the run recorded, else `twin` on a simulated device, else `onnxruntime`. */
  readonly runtime?: string;
}

/** The registry key of a finished run. */
export function profileKeyOf(run: TuningRun, o: ProfileKeyOptions = {}): ProfileKeyFields & { readonly key: string } {
  const spec = runModelSpec(run);
  const fields: ProfileKeyFields = {
    boardType: boardTypeOfDeviceId(run.device.id),
    l4t: o.l4t ?? l4tVersion(run.device.release),
    modelHash: modelContentHash(spec),
    precision: spec.dtype,
    runtime: o.runtime ?? (run as { readonly runtime?: string }).runtime ?? (run.device.kind === 'sim' ? 'twin' : 'onnxruntime'),
    sloMs: run.slo.latencyMs,
    quantile: run.slo.quantile,
  };
  return { ...fields, key: formatProfileKey(fields) };
}

/** The boards that measured a run: a fleet run's boards, else the one device. */
export function boardsOf(run: TuningRun): string[] {
  const fleet = (run as { fleet?: { boards?: readonly { boardId: string }[] } }).fleet;
  return fleet?.boards && fleet.boards.length > 0 ? fleet.boards.map((b) => b.boardId) : [run.device.id];
}

/** Push a finished run with a recommendation to the registry; returns its key and version. */
export async function pushProfile(
  store: Store,
  run: TuningRun,
  o: ProfileKeyOptions = {},
): Promise<{ readonly key: string; readonly version: number; readonly boards: readonly string[] }> {
  if (!run.recommendation)
    throw new PolyThrottleError('BAD_INPUT', `run ${run.id} has no recommendation (nothing met the SLO); only a run with one can be pushed`);
  const k = profileKeyOf(run, o);
  const boards = boardsOf(run);
  const version = await store.pushProfile({ ...k, model: run.model, runId: run.id, boards, run });
  return { key: k.key, version, boards };
}

/** The run behind a registry key. */
export async function pullProfile(store: Store, key: string): Promise<TuningRun> {
  const p = await store.pullProfile(key);
  if (!p)
    throw new PolyThrottleError('NOT_FOUND', `no profile "${key}" in the registry at ${store.path}`, {
      hint: 'list the keys with `polythrottle profile list --db …`',
    });
  return p.run;
}

export const listProfiles = (store: Store): Promise<RegistrySummary[]> => store.listRegistry();

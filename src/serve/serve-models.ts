/**
 * `serveModels(options)`: everything `polythrottle serve` does between parsing its flags and
 * printing — resolve what to serve (profile, configuration, SLO, models, backend), check the
 * configuration against the device, open the backend and start a serving session. The session
 * owns the device from then on; when anything fails before it starts, the device is closed here.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../core/config.ts';
import type { Device, DeviceDescription, FrequencyConfig } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { InferenceBackend } from '../core/inference.ts';
import { latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { type DeviceSpec, formatDeviceSpec, readDeviceSpec } from '../device/device-spec.ts';
import { detectDevice } from '../device/open.ts';
import { BACKEND_KINDS, type BackendKind, openBackend } from './open-backend.ts';
import type { ConnectionTimeouts, ServerOptions } from './server.ts';
import { type ServeSession, startServing } from './serve-session.ts';
import { checkConfig, type LoadedProfile, type PartialConfig, resolveSlo } from './serving-config.ts';

/**
 * The server's drift option: re-tuning needs the profile's surrogates and a device whose clocks are
 * applied here; without them only detection runs (when asked for).
 */
function retuneOption(o: ServeModelsOptions, clocksApplied: boolean, slo: Slo, log: (line: string) => void): Pick<ServerOptions, 'retune'> {
  const surrogates = o.profile?.run?.surrogates;
  const want = o.retune ?? (surrogates && clocksApplied ? 'retune' : 'off');
  if (want === 'off') return {};
  const margin = o.profile?.run?.margin ?? SLO_MARGINS.recommendation;
  if (want === 'retune' && !(surrogates && clocksApplied)) {
    log('note: drift re-tuning needs a tuned profile with surrogates and a device to apply clocks to; detecting drift only');
    return { retune: { mode: 'detect', limitMs: latencyLimitMs(slo, margin), log } };
  }
  return { retune: { mode: want, ...(surrogates ? { surrogates } : {}), limitMs: latencyLimitMs(slo, margin), log } };
}

export interface ServeModelsOptions {
  /** Tuned profile to serve (see loadProfile): configuration, SLO, model, measured service time. */
  readonly profile?: LoadedProfile;
  /** Configuration given by hand; its knobs override the profile's. */
  readonly config?: PartialConfig;
  /** Batch size limit (default: the configuration's, else the profile's, else 1). */
  readonly batch?: number;
  /** Latency SLO ("50ms", or ms) and its quantile ("p99", 0.99); default: the profile's. */
  readonly slo?: string | number;
  readonly quantile?: string | number;
  /** Share of the SLO kept as safety margin (SLO_MARGINS.serving by default). */
  readonly margin?: number;
  /** Models to serve (see openBackend); default: the profile's model. */
  readonly models?: readonly string[];
  /** Execution backend (default: sim on a simulated device, else onnx). */
  readonly backend?: BackendKind;
  readonly upstream?: string;
  readonly workers?: number;
  /** Values of symbolic non-batch input dimensions of .onnx models, by name (the twin costs the model at these sizes). */
  readonly symbolicDims?: Readonly<Record<string, number>>;
  /**
   * The device to serve on, already opened; without one the server controls no clocks and meters
   * no energy. From this call on it is owned here: restored and closed exactly once.
   */
  readonly device?: Device;
  /**
   * Serve a profile on a device other than the one it was tuned on (default false: a profile tuned
   * on another device is refused, its configuration and SLO were measured there).
   */
  readonly forceDevice?: boolean;
  /** Where the device's snapshot is kept until it is restored (default: the state directory's). */
  readonly snapshotFile?: string;
  /** Bearer token of the admin API (at least 8 characters; generated when absent). */
  readonly adminToken?: string;
  readonly adminPlugins?: readonly FastifyPluginAsync[];
  readonly host?: string;
  readonly port?: number;
  readonly maxQueueRows?: number;
  readonly bodyLimitBytes?: number;
  readonly maxQueueDelayMs?: number;
  /**
   * Drift detection and re-tuning: 'retune' (default when the profile has surrogates and clocks are
   * applied), 'detect' (alarms logged and counted, the configuration kept) or 'off'.
   */
  readonly retune?: 'retune' | 'detect' | 'off';
  /** Warm-up batches per model and size before ready (see ServerOptions). */
  readonly warmupBatches?: number;
  /** Longest drain on shutdown before connections are closed and the device restored, ms (10 s). */
  readonly drainTimeoutMs?: number;
  /** Header, body, keep-alive and idle limits per connection (see ConnectionTimeouts). */
  readonly timeouts?: Partial<ConnectionTimeouts>;
  /** Progress and warnings, one line each. */
  readonly log?: (line: string) => void;
}

/** A running server and what it serves. */
export interface ServedModels extends ServeSession {
  readonly backend: InferenceBackend;
  readonly config: Config;
  readonly slo: Slo;
  readonly margin: number;
  /** The device served on; undefined with none. */
  readonly device: DeviceDescription | undefined;
  /** Whether the configuration set clocks (else the device's are left as they are). */
  readonly clocksApplied: boolean;
  readonly adminToken: string;
}

/** The models to serve: those named, else the profile's. */
export function modelsToServe(models: readonly string[] | undefined, profile: LoadedProfile | undefined): readonly string[] {
  if (models && models.length > 0) return models;
  if (profile?.profile.model) return [profile.profile.model];
  throw badInput('no model to serve: give --model (repeat it to serve several) or a --profile');
}

interface Plan {
  readonly config: Config;
  readonly clocks: FrequencyConfig | undefined;
  readonly slo: Slo;
  readonly margin: number;
  readonly models: readonly string[];
  readonly adminToken: string;
}

function plan(o: ServeModelsOptions): Plan {
  const base = o.profile?.profile.config;
  const batch = o.batch ?? o.config?.batch ?? base?.batch ?? 1;
  const config: Config = { ...base, ...o.config, batch };
  const { batch: _batch, ...clockKnobs } = config;
  const clocks = Object.values(clockKnobs).some((v) => v !== undefined) ? clockKnobs : undefined;
  const margin = o.margin ?? SLO_MARGINS.serving;
  if (!(margin >= 0 && margin < 1)) throw badInput(`--margin must be in [0, 1), got ${margin}`);
  if (o.backend !== undefined && !BACKEND_KINDS.includes(o.backend)) throw badInput(`--backend must be one of ${BACKEND_KINDS.join(', ')}, got "${o.backend}"`);
  const adminToken = o.adminToken ?? randomBytes(18).toString('base64url');
  if (adminToken.length < 8) throw badInput('the admin token must be at least 8 characters');
  return { config, clocks, slo: resolveSlo(o.slo, o.quantile, o.profile?.profile), margin, models: modelsToServe(o.models, o.profile), adminToken };
}

/** Check the plan against the device; returns the device's description. */
async function checkDevice(p: Plan, o: ServeModelsOptions, device: Device | undefined, log: (line: string) => void) {
  if (!device) {
    if (p.clocks) throw badInput('--device none cannot apply clocks', 'drop the clocks from --config/--profile, or name a device');
    return undefined;
  }
  const description = await device.describe();
  if (p.clocks) checkConfig(p.config, await device.domains(), description);
  const run = o.profile?.run;
  if (run && run.device.id !== description.id) {
    if (!o.forceDevice) throw deviceMismatch(run, `serving on ${description.name} (${description.id})`);
    log(`warning: the profile was tuned on ${run.device.name} (${run.device.id}), serving on ${description.name} (${description.id}) as --force-device asks`);
  }
  return description;
}

/** The spec of the device a profile was tuned on: `sim:<board>` for the twin, else its kind. */
export function profileDeviceSpec(run: Pick<TuningRun, 'device'>): DeviceSpec {
  return run.device.kind === 'sim' ? (readDeviceSpec(run.device.id) ?? { kind: 'sim', board: 'orin-agx' }) : { kind: run.device.kind };
}

const sameSpec = (a: DeviceSpec, b: DeviceSpec) => formatDeviceSpec(a) === formatDeviceSpec(b);

function deviceMismatch(run: Pick<TuningRun, 'device'>, what: string) {
  return badInput(
    `the profile was tuned on ${run.device.name} (${run.device.id}); ${what}: its configuration and SLO were measured there`,
    `drop --device to serve it on ${formatDeviceSpec(profileDeviceSpec(run))}, or add --force-device to serve it here anyway`,
  );
}

/** The device to open for `serve`, and the line that says where the choice came from. */
export interface ServeDeviceChoice {
  readonly spec: DeviceSpec;
  /**
   * E.g. "device sim:orin-agx (from the profile)"; undefined when the flag alone decided (with
   * `force`, serveModels warns about the mismatch when it opens the device).
   */
  readonly note?: string;
}

/**
 * Which device to serve on. Without a profile: the one asked for (`auto` detects). With a profile,
 * `auto` means the device the profile was tuned on: its twin, or the real hardware when this
 * machine has that kind (a different board of the kind is refused when the device is opened, see
 * serveModels); a device named explicitly must be the profile's, unless `force`.
 */
export async function chooseServeDevice(
  requested: DeviceSpec,
  run: Pick<TuningRun, 'device'> | undefined,
  o: { readonly force?: boolean; readonly root?: string; readonly detect?: () => Promise<string> } = {},
): Promise<ServeDeviceChoice> {
  if (!run) return { spec: requested };
  const tuned = profileDeviceSpec(run);
  const tunedText = formatDeviceSpec(tuned);
  if (requested.kind === 'auto') {
    if (tuned.kind === 'sim') return { spec: tuned, note: `device ${tunedText} (from the profile)` };
    const here = await (o.detect ?? (async () => (await detectDevice(o.root === undefined ? {} : { root: o.root })).spec))();
    if (here === tunedText) return { spec: tuned, note: `device ${tunedText} (from the profile)` };
    // forced: serveModels warns once the device is open and has a name
    if (o.force) return { spec: requested };
    throw deviceMismatch(run, `this machine has no ${tunedText} (detected: ${here})`);
  }
  if (sameSpec(requested, tuned)) return { spec: requested, note: `device ${tunedText} (the profile's)` };
  if (o.force) return { spec: requested };
  throw deviceMismatch(run, `--device ${formatDeviceSpec(requested)} names another device`);
}

export async function serveModels(o: ServeModelsOptions): Promise<ServedModels> {
  const log = o.log ?? (() => {});
  let p: Plan;
  let description: DeviceDescription | undefined;
  let backend: InferenceBackend;
  const kind = o.backend ?? (o.device?.kind === 'sim' ? 'sim' : 'onnx');
  try {
    p = plan(o);
    description = await checkDevice(p, o, o.device, log);
    if (o.device?.kind === 'sim' && kind !== 'sim') log(`warning: ${kind} backend on a simulated device: the clocks are the twin's, the execution is real`);
    backend = await openBackend({
      kind,
      models: p.models,
      log,
      ...(o.device ? { device: o.device } : {}),
      ...(o.upstream ? { upstream: o.upstream } : {}),
      ...(o.workers === undefined ? {} : { workers: o.workers }),
      ...(o.symbolicDims === undefined ? {} : { symbolicDims: o.symbolicDims }),
    });
  } catch (e) {
    await o.device?.close();
    throw e;
  }
  const prior = o.profile?.prior;
  const session = await startServing({
    backend,
    ...(o.device ? { device: o.device } : {}),
    ...(o.snapshotFile ? { snapshotFile: o.snapshotFile } : {}),
    ...(p.clocks ? { clocks: p.clocks } : {}),
    slo: p.slo,
    batch: p.config.batch,
    margin: p.margin,
    ...(o.maxQueueRows === undefined ? {} : { maxQueueRows: o.maxQueueRows }),
    ...(o.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: o.bodyLimitBytes }),
    ...(o.maxQueueDelayMs === undefined ? {} : { maxQueueDelayMs: o.maxQueueDelayMs }),
    ...(o.warmupBatches === undefined ? {} : { warmupBatches: o.warmupBatches }),
    ...retuneOption(o, p.clocks !== undefined, p.slo, log),
    ...(o.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: o.drainTimeoutMs }),
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    ...(prior ? { priorServiceMs: Object.fromEntries(backend.models().map((m) => [m.name, prior])) } : {}),
    adminToken: p.adminToken,
    adminPlugins: o.adminPlugins ?? [],
    profile: o.profile?.profile ?? { source: 'manual', config: p.config, slo: p.slo, ...(description ? { device: description.name } : {}) },
    ...(o.host ? { host: o.host } : {}),
    ...(o.port === undefined ? {} : { port: o.port }),
    log,
  });
  return {
    ...session,
    backend,
    config: p.config,
    slo: p.slo,
    margin: p.margin,
    device: description,
    clocksApplied: p.clocks !== undefined,
    adminToken: p.adminToken,
  };
}

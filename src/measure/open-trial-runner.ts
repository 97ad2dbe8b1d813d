/**
 * The one seam between the commands (`tune`, `landscape`, benchmarks) and measurement: options in,
 * a TrialRunner out. `sim:<board>` with the default workload is the twin's own virtual-time trial
 * runner; anything else is a device (openDevice, guarded so its clocks come back) + a workload
 * runner + the power meter, measured in real time.
 */
import type { Config } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { DType, WorkloadProfile } from '../core/workload-profile.ts';
import { type DeviceSpec, parseDeviceSpec } from '../device/device-spec.ts';
import { type OpenDeviceOptions, openDevice } from '../device/open.ts';
import { guardDevice, installRestoreHandlers } from '../device/safety/guard.ts';
import type { SimDevice } from '../device/sim/index.ts';
import type { BoardSpec } from '../device/sim/board-spec.ts';
import type { LatencyUnit } from '../workload/command-runner.ts';
import { modelProfile } from '../workload/model-source.ts';
import { openWorkloadRunner, type WorkloadSettings } from '../workload/open-runner.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../workload/runner.ts';
import { MeasuredTrialRunner, type MeasuredTrialOptions } from './measured-trial.ts';

/** Per-kind workload options. */
export interface WorkloadOptions {
  // onnx
  readonly workers?: number;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
  // http
  readonly url?: string;
  readonly upstreamModel?: string;
  readonly concurrency?: number;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly binary?: boolean;
  // command
  readonly command?: string;
  readonly latencyPattern?: string;
  readonly latencyUnit?: LatencyUnit;
  readonly batchesPerMatch?: number;
  readonly commandTimeoutS?: number;
  // inputs
  readonly samplesFile?: string;
  /** Sizes of dynamic non-batch dimensions per input name (the deprecated `--input-dims`). */
  readonly dims?: Readonly<Record<string, readonly number[]>>;
}

/** How a real-time trial is run (windows, warm-up…); see MeasuredTrialOptions. */
export type TrialSettings = Pick<MeasuredTrialOptions, 'settleS' | 'warmupS' | 'windowS' | 'repeats' | 'idleS' | 'periodMs' | 'onProgress'>;

export interface OpenTrialRunnerOptions {
  /** `auto`, `jetson`, `nvidia`, `linux-cpu` or `sim:<board>` (text, or parsed with parseDeviceSpec). */
  readonly device: string | DeviceSpec;
  /** A zoo model name or an .onnx file. */
  readonly model: string;
  /** Sequence length of a BERT zoo model (default: the zoo's). */
  readonly seq?: number;
  readonly dtype?: DType;
  /** Values of symbolic non-batch input dimensions by name (`--dim`), for the twin's profile and the runners' inputs. */
  readonly symbolicDims?: Readonly<Record<string, number>>;
  /**
   * Default: the twin's own virtual-time trials on `sim:*`, `onnx` on a real device. `sim` on a
   * `sim:*` device runs the twin in real time through the same path as real hardware (device +
   * runner + power meter), which checks that path end to end.
   */
  readonly workload?: WorkloadKind;
  readonly workloadOptions?: WorkloadOptions;
  /** Noise level of the twin or of a replayed landscape. */
  readonly noise?: number;
  /** sim only: the board spec to simulate instead of the named board's file (a runtime or a calibration applied). */
  readonly simBoard?: BoardSpec;
  readonly seed?: number;
  readonly deviceOptions?: OpenDeviceOptions;
  readonly trial?: TrialSettings;
  /** A zoo model's .onnx is being written to the cache (first onnx run only). */
  readonly onBuild?: (done: number, total: number) => void;
}

interface SimTrialModule {
  createSimTrialRunner(o: { board: string | BoardSpec; profile: WorkloadProfile; noise?: number; seed?: number }): TrialRunner;
}

async function twinTrialRunner(board: string | BoardSpec, profile: WorkloadProfile, noise?: number, seed?: number): Promise<TrialRunner> {
  const path = '../device/sim/index.ts';
  let mod: Partial<SimTrialModule>;
  try {
    mod = (await import(path)) as Partial<SimTrialModule>;
  } catch (e) {
    throw new PolyThrottleError('UNSUPPORTED', 'the device twin is not available in this build', { cause: e });
  }
  if (typeof mod.createSimTrialRunner !== 'function') throw new PolyThrottleError('INTERNAL', 'the device twin exports no createSimTrialRunner');
  return mod.createSimTrialRunner({ board, profile, ...(noise === undefined ? {} : { noise }), ...(seed === undefined ? {} : { seed }) });
}

function need<T>(v: T | undefined, what: string, hint: string): T {
  if (v === undefined || v === '') throw badInput(`--workload ${what}`, hint);
  return v;
}

/** The runner settings of one kind from the flat options, with the missing required ones named. */
export function workloadSettings(kind: WorkloadKind, o: WorkloadOptions, common: { board?: string; seed?: number }): WorkloadSettings {
  const inputs = {
    ...(common.seed === undefined ? {} : { seed: common.seed }),
    ...(o.samplesFile === undefined ? {} : { samplesFile: o.samplesFile }),
    ...(o.dims === undefined ? {} : { dims: o.dims }),
  };
  switch (kind) {
    case 'sim':
      return {
        kind,
        board: need(common.board, 'sim runs on a simulated device only', 'use --device sim:<board>, or another --workload on real hardware'),
        ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
        ...inputs,
      };
    case 'onnx':
      return {
        kind,
        ...(o.workers === undefined ? {} : { workers: o.workers }),
        ...(o.intraOpThreads === undefined ? {} : { intraOpThreads: o.intraOpThreads }),
        ...(o.interOpThreads === undefined ? {} : { interOpThreads: o.interOpThreads }),
        ...inputs,
      };
    case 'http':
      return {
        kind,
        url: need(o.url, 'http needs --url', 'e.g. --url http://127.0.0.1:8000 (Triton’s HTTP port)'),
        ...(o.upstreamModel === undefined ? {} : { upstreamModel: o.upstreamModel }),
        ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        ...(o.headers === undefined ? {} : { headers: o.headers }),
        ...(o.binary === undefined ? {} : { binary: o.binary }),
        ...inputs,
      };
    case 'command':
      return {
        kind,
        command: need(o.command, 'command needs --command', 'e.g. --command "trtexec --loadEngine={model} --batch={batch} --duration={duration} --avgRuns=1"'),
        ...(o.latencyPattern === undefined ? {} : { latencyPattern: o.latencyPattern }),
        ...(o.latencyUnit === undefined ? {} : { latencyUnit: o.latencyUnit }),
        ...(o.batchesPerMatch === undefined ? {} : { batchesPerMatch: o.batchesPerMatch }),
        ...(o.commandTimeoutS === undefined ? {} : { timeoutS: o.commandTimeoutS }),
      };
  }
}

/** Closes extra things (restore handlers) after the measured runner. */
class ClosingTrialRunner implements TrialRunner {
  constructor(
    private readonly inner: TrialRunner,
    private readonly after: () => void,
  ) {}
  describe(): Promise<DeviceDescription> {
    return this.inner.describe();
  }
  measure(config: Config, opts?: TrialOptions): Promise<TrialMeasurement> {
    return this.inner.measure(config, opts);
  }
  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      this.after();
    }
  }
}

/** Turns options into a TrialRunner; see the file comment. */
export async function openTrialRunner(o: OpenTrialRunnerOptions): Promise<TrialRunner> {
  if (o.workload !== undefined && !WORKLOAD_KINDS.includes(o.workload)) throw badInput(`unknown workload "${o.workload}"`, `use ${WORKLOAD_KINDS.join(', ')}`);
  const modelOpts = {
    ...(o.seq === undefined ? {} : { seq: o.seq }),
    ...(o.dtype === undefined ? {} : { dtype: o.dtype }),
    ...(o.symbolicDims === undefined ? {} : { symbolicDims: o.symbolicDims }),
  };
  const spec = typeof o.device === 'string' ? parseDeviceSpec(o.device) : o.device;
  if (spec.kind === 'landscape') {
    if (o.workload !== undefined) throw badInput('a landscape device replays its file; --workload does not apply');
    const { createLandscapeTrialRunner, readLandscapeCsv } = await import('../device/landscape-replay/index.ts');
    return createLandscapeTrialRunner({
      landscape: readLandscapeCsv(spec.path, o.model),
      ...(o.noise === undefined ? {} : { noise: o.noise }),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
    });
  }
  const simBoard = spec.kind === 'sim' ? spec.board : undefined;
  if (simBoard !== undefined && o.workload === undefined) {
    return twinTrialRunner(o.simBoard ?? simBoard, await modelProfile(o.model, modelOpts), o.noise, o.seed);
  }
  if (o.workload === 'sim' && simBoard === undefined)
    throw badInput('--workload sim runs on a simulated device only', 'use --device sim:<board>, or --workload onnx|http|command');
  const kind = o.workload ?? 'onnx';
  const settings = workloadSettings(kind, o.workloadOptions ?? {}, {
    ...(simBoard === undefined ? {} : { board: simBoard }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
  });
  const withModel: WorkloadSettings = settings.kind === 'command' ? settings : { ...settings, ...modelOpts };
  const inner = await openDevice(spec, o.simBoard === undefined ? o.deviceOptions : { ...o.deviceOptions, simBoard: o.simBoard });
  const device = guardDevice(inner);
  let runner: Awaited<ReturnType<typeof openWorkloadRunner>>;
  try {
    let full: WorkloadSettings = withModel;
    if (full.kind === 'onnx' && o.onBuild) full = { ...full, onBuild: o.onBuild };
    // The twin in real time: batches are held on the simulated device, which then meters them.
    if (full.kind === 'sim' && 'setLoad' in inner) full = { ...full, device: inner as unknown as SimDevice };
    runner = await openWorkloadRunner(o.model, full);
  } catch (e) {
    await device.close();
    throw e;
  }
  const uninstall = installRestoreHandlers(device);
  const measured = new MeasuredTrialRunner({
    device,
    runner,
    ...o.trial,
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(settings.kind === 'http' && settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    // The guard restores the clocks it snapshotted before the first write when the device closes.
    restore: false,
  });
  return new ClosingTrialRunner(measured, uninstall);
}

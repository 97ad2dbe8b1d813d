/**
 * The one seam between the commands (`tune`, `landscape`, benchmarks) and measurement: options in,
 * a TrialRunner out. `sim:<board>` with the default workload is the twin's own virtual-time trial
 * runner; anything else is a device (openDevice, guarded so its clocks come back) + a workload
 * runner + the power meter, measured in real time. Also the shared `--workload` CLI flags.
 */
import type { Config } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { TrialMeasurement, TrialOptions, TrialRunner } from '../core/measurement.ts';
import type { DType, WorkloadProfile } from '../core/workload-profile.ts';
import { type OpenDeviceOptions, openDevice } from '../device/open.ts';
import { guardDevice, installRestoreHandlers } from '../device/safety/guard.ts';
import type { SimDevice } from '../device/sim/index.ts';
import type { LatencyUnit } from '../workload/command-runner.ts';
import { modelProfile } from '../workload/model-source.ts';
import { openWorkloadRunner, type WorkloadSettings } from '../workload/open-runner.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../workload/runner.ts';
import { MeasuredTrialRunner, type MeasuredTrialOptions } from './measured-trial.ts';

/** Per-kind workload options (what the `--workload` flags carry). */
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
  readonly dims?: Readonly<Record<string, readonly number[]>>;
}

/** How a real-time trial is run (windows, warm-up…); see MeasuredTrialOptions. */
export type TrialSettings = Pick<MeasuredTrialOptions, 'settleS' | 'warmupS' | 'windowS' | 'repeats' | 'idleS' | 'periodMs' | 'onProgress'>;

export interface OpenTrialRunnerOptions {
  /** `auto`, `jetson`, `nvidia`, `linux-cpu` or `sim:<board>`. */
  readonly device: string;
  /** A zoo model name or an .onnx file. */
  readonly model: string;
  /** Sequence length of a BERT zoo model (default: the zoo's). */
  readonly seq?: number;
  readonly dtype?: DType;
  /**
   * Default: the twin's own virtual-time trials on `sim:*`, `onnx` on a real device. `sim` on a
   * `sim:*` device runs the twin in real time through the same path as real hardware (device +
   * runner + power meter), which checks that path end to end.
   */
  readonly workload?: WorkloadKind;
  readonly workloadOptions?: WorkloadOptions;
  /** Twin noise level (sim only). */
  readonly noise?: number;
  readonly seed?: number;
  readonly deviceOptions?: OpenDeviceOptions;
  readonly trial?: TrialSettings;
  /** A zoo model's .onnx is being written to the cache (first onnx run only). */
  readonly onBuild?: (done: number, total: number) => void;
}

interface SimTrialModule {
  createSimTrialRunner(o: { board: string; profile: WorkloadProfile; noise?: number; seed?: number }): TrialRunner;
}

async function twinTrialRunner(board: string, profile: WorkloadProfile, noise?: number, seed?: number): Promise<TrialRunner> {
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
  if (o.workload !== undefined && !WORKLOAD_KINDS.includes(o.workload))
    throw badInput(`unknown workload "${o.workload}"`, `use ${WORKLOAD_KINDS.join(', ')}`);
  const modelOpts = { ...(o.seq === undefined ? {} : { seq: o.seq }), ...(o.dtype === undefined ? {} : { dtype: o.dtype }) };
  const simBoard = o.device.startsWith('sim:') ? o.device.slice(4) : undefined;
  if (simBoard !== undefined && o.workload === undefined) {
    if (!simBoard) throw badInput('sim: needs a board, e.g. sim:orin-agx');
    return twinTrialRunner(simBoard, await modelProfile(o.model, modelOpts), o.noise, o.seed);
  }
  if (o.workload === 'sim' && simBoard === undefined)
    throw badInput('--workload sim runs on a simulated device only', 'use --device sim:<board>, or --workload onnx|http|command');
  const kind = o.workload ?? 'onnx';
  const settings = workloadSettings(kind, o.workloadOptions ?? {}, {
    ...(simBoard === undefined ? {} : { board: simBoard }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
  });
  const withModel: WorkloadSettings = settings.kind === 'command' ? settings : { ...settings, ...modelOpts };
  const inner = await openDevice(o.device, o.deviceOptions);
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

/** A CLI flag: commander's `flags` and `description` (and default shown in --help). */
export interface FlagSpec {
  readonly flags: string;
  readonly description: string;
}

/** The flags that choose and configure the workload runner. */
export const RUNNER_FLAGS: readonly FlagSpec[] = [
  { flags: '--workload <kind>', description: 'what runs the model: sim | onnx | http | command (default: the twin on sim:*, onnx on real devices)' },
  { flags: '--onnx-workers <n>', description: 'onnx: worker threads, one batch in flight each (default 1)' },
  { flags: '--intra-op-threads <n>', description: 'onnx: onnxruntime intra-op threads per session (default: CPUs / workers)' },
  { flags: '--inter-op-threads <n>', description: 'onnx: onnxruntime inter-op threads per session (default 1)' },
  { flags: '--url <url>', description: 'http: KServe v2 endpoint, e.g. http://127.0.0.1:8000 (Triton)' },
  { flags: '--upstream-model <name>', description: 'http: model name at the endpoint (default: --model)' },
  { flags: '--concurrency <n>', description: 'http/sim: batches kept in flight (default 1)' },
  { flags: '--request-timeout <ms>', description: 'http: per-request timeout in ms (default 30000)' },
  { flags: '--header <name:value...>', description: 'http: extra request header(s), e.g. "Authorization: Bearer …"' },
  { flags: '--binary-data', description: 'http: tensors as raw bytes (Triton binary tensor extension) instead of JSON numbers' },
  { flags: '--command <template>', description: 'command: benchmark command line; placeholders {model} {batch} {duration} {durationMs} {batches} {concurrency}' },
  { flags: '--latency-pattern <regex>', description: 'command: regex with one group (or (?<latency>…)) per latency line; default: wall time per run' },
  { flags: '--latency-unit <unit>', description: 'command: unit of the matched latency: us | ms | s (default ms)' },
  { flags: '--batches-per-match <n>', description: 'command: batches each matching line stands for (default 1)' },
  { flags: '--command-timeout <s>', description: 'command: kill the program after this many seconds (default: window + 120)' },
  { flags: '--samples <file.json>', description: 'inputs from a JSON file (list of samples, or a KServe request body) instead of seeded random data' },
  { flags: '--input-dims <name=AxB...>', description: 'sizes of dynamic non-batch input dimensions, e.g. input_ids=128' },
];

/** The flags of real-time trials (windows, warm-up, power sampling). */
export const TRIAL_FLAGS: readonly FlagSpec[] = [
  { flags: '--window <s>', description: 'real-time trials: measured window in seconds (default 5)' },
  { flags: '--repeats <n>', description: 'real-time trials: windows per trial, for the noise estimate (default 3)' },
  { flags: '--settle <s>', description: 'real-time trials: wait after applying clocks (default 1)' },
  { flags: '--warmup <s>', description: 'real-time trials: warm-up run before the windows (default 2)' },
  { flags: '--idle <s>', description: 'real-time trials with --rate: idle-power window in seconds (default 2)' },
  { flags: '--power-period <ms>', description: 'real-time trials: power sampling period (default 50)' },
];

/** Every shared flag: the runner's and the trial's. */
export const WORKLOAD_FLAGS: readonly FlagSpec[] = [...RUNNER_FLAGS, ...TRIAL_FLAGS];

/**
 * Adds the shared flags to a commander Command (or anything with the same `option` method);
 * `{ trial: false }` adds the runner's flags only.
 */
/**
 * The trial runner a command's parsed flags describe (`tune`, `landscape --workload`): the model
 * options, the shared workload/runner flags (see `addWorkloadFlags`), the twin's noise and the seed.
 */
export function openTrialRunnerFromFlags(
  device: string,
  model: string,
  flags: Readonly<Record<string, unknown>> & { readonly seq?: number; readonly dtype?: DType; readonly noise?: number; readonly seed?: number },
): Promise<TrialRunner> {
  const w = workloadFromFlags(flags);
  return openTrialRunner({
    device,
    model,
    ...(flags.seq === undefined ? {} : { seq: flags.seq }),
    ...(flags.dtype === undefined ? {} : { dtype: flags.dtype }),
    ...(w.workload === undefined ? {} : { workload: w.workload }),
    workloadOptions: w.workloadOptions,
    trial: w.trial,
    ...(flags.noise === undefined ? {} : { noise: flags.noise }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  });
}

export function addWorkloadFlags<C extends { option(flags: string, description: string): C }>(cmd: C, o: { trial?: boolean } = {}): C {
  for (const f of o.trial === false ? RUNNER_FLAGS : WORKLOAD_FLAGS) cmd.option(f.flags, f.description);
  return cmd;
}

const num = (v: unknown, flag: string, check: (n: number) => boolean, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw badInput(`${flag} must be ${what}, got ${String(v)}`);
  return n;
};
const posInt = (v: unknown, flag: string) => num(v, flag, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
const posNum = (v: unknown, flag: string) => num(v, flag, (n) => n > 0, 'a positive number');
const nonNeg = (v: unknown, flag: string) => num(v, flag, (n) => n >= 0, 'zero or more');

function parseDims(v: unknown): Record<string, number[]> | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
  const out: Record<string, number[]> = {};
  for (const item of list.flatMap((s) => s.split(','))) {
    const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(item.trim());
    if (!m) throw badInput(`--input-dims: expected name=AxB, got "${item}"`);
    out[m[1]!] = m[2]!.split('x').map(Number);
  }
  return out;
}

function parseHeaders(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const h of (Array.isArray(v) ? v : [v]).map(String)) {
    const i = h.indexOf(':');
    if (i <= 0) throw badInput(`--header: expected "Name: value", got "${h}"`);
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  return out;
}

/** Reads the shared flags (commander's camel-cased opts()) into openTrialRunner's options. */
export function workloadFromFlags(flags: Readonly<Record<string, unknown>>): {
  workload?: WorkloadKind;
  workloadOptions: WorkloadOptions;
  trial: TrialSettings;
} {
  const w = flags.workload as string | undefined;
  if (w !== undefined && !WORKLOAD_KINDS.includes(w as WorkloadKind)) throw badInput(`unknown workload "${w}"`, `use ${WORKLOAD_KINDS.join(', ')}`);
  const unit = flags.latencyUnit as string | undefined;
  if (unit !== undefined && !['us', 'ms', 's'].includes(unit)) throw badInput(`--latency-unit must be us, ms or s, got ${unit}`);
  const pick = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  const workloadOptions: WorkloadOptions = {
    ...pick('workers', posInt(flags.onnxWorkers, '--onnx-workers')),
    ...pick('intraOpThreads', posInt(flags.intraOpThreads, '--intra-op-threads')),
    ...pick('interOpThreads', posInt(flags.interOpThreads, '--inter-op-threads')),
    ...pick('url', flags.url as string | undefined),
    ...pick('upstreamModel', flags.upstreamModel as string | undefined),
    ...pick('concurrency', posInt(flags.concurrency, '--concurrency')),
    ...pick('timeoutMs', posNum(flags.requestTimeout, '--request-timeout')),
    ...pick('headers', parseHeaders(flags.header)),
    ...pick('binary', flags.binaryData === true ? true : undefined),
    ...pick('command', flags.command as string | undefined),
    ...pick('latencyPattern', flags.latencyPattern as string | undefined),
    ...pick('latencyUnit', unit as LatencyUnit | undefined),
    ...pick('batchesPerMatch', posInt(flags.batchesPerMatch, '--batches-per-match')),
    ...pick('commandTimeoutS', posNum(flags.commandTimeout, '--command-timeout')),
    ...pick('samplesFile', flags.samples as string | undefined),
    ...pick('dims', parseDims(flags.inputDims)),
  };
  const trial: TrialSettings = {
    ...pick('windowS', posNum(flags.window, '--window')),
    ...pick('repeats', posInt(flags.repeats, '--repeats')),
    ...pick('settleS', nonNeg(flags.settle, '--settle')),
    ...pick('warmupS', nonNeg(flags.warmup, '--warmup')),
    ...pick('idleS', nonNeg(flags.idle, '--idle')),
    ...pick('periodMs', posNum(flags.powerPeriod, '--power-period')),
  };
  return { ...(w === undefined ? {} : { workload: w as WorkloadKind }), workloadOptions, trial };
}

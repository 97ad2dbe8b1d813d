/**
 * The flags that choose and configure a workload runner and real-time trials (`tune`, `landscape
 * --workload`, `workload`), and how their values become openTrialRunner's options.
 */
import type { TrialRunner } from '../../core/measurement.ts';
import type { DType } from '../../core/workload-profile.ts';
import type { DeviceSpec } from '../../device/device-spec.ts';
import type { OpenDeviceOptions } from '../../device/open.ts';
import type { BoardSpec } from '../../device/sim/board-spec.ts';
import { openTrialRunner, type TrialSettings, type WorkloadOptions } from '../../measure/open-trial-runner.ts';
import type { LatencyUnit } from '../../workload/command-runner.ts';
import { isLocalModel, symbolicDimsFromInputDims } from '../../workload/model-source.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../workload/runner.ts';
import { badInput } from '../../core/errors.ts';
import { Option } from 'commander';
import { durationS, type FlagParser, namedSize, positiveDurationMs, positiveDurationS, positiveInt } from './flag-parsers.ts';

/** A flag: commander's `flags` and `description`. */
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
  { flags: '--request-timeout <duration>', description: 'http: per-request timeout, e.g. 500ms or 30s (default 30s)' },
  { flags: '--header <name:value...>', description: 'http: extra request header(s), e.g. "Authorization: Bearer …"' },
  { flags: '--binary-data', description: 'http: tensors as raw bytes (Triton binary tensor extension) instead of JSON numbers' },
  {
    flags: '--command <template>',
    description: 'command: benchmark command line; placeholders {model} {batch} {duration} {durationMs} {batches} {concurrency}',
  },
  { flags: '--latency-pattern <regex>', description: 'command: regex with one group (or (?<latency>…)) per latency line; default: wall time per run' },
  { flags: '--latency-unit <unit>', description: 'command: unit of the matched latency: us | ms | s (default ms)' },
  { flags: '--batches-per-match <n>', description: 'command: batches each matching line stands for (default 1)' },
  { flags: '--command-timeout <duration>', description: 'command: kill the program after this long, e.g. 300s (default: window + 120s)' },
  { flags: '--samples <file.json>', description: 'inputs from a JSON file (list of samples, or a KServe request body) instead of seeded random data' },
  {
    flags: '--input-dims <name=AxB...>',
    description: 'deprecated: use --dim <dimension>=<size>; sizes of dynamic non-batch dimensions per input, e.g. input_ids=128',
  },
];

/** The flags of real-time trials (windows, warm-up, power sampling). */
export const TRIAL_FLAGS: readonly FlagSpec[] = [
  { flags: '--window <duration>', description: 'real-time trials: measured window, e.g. 5s (default 5s)' },
  { flags: '--repeats <n>', description: 'real-time trials: windows per trial, for the noise estimate (default 3)' },
  { flags: '--settle <duration>', description: 'real-time trials: wait after applying clocks (default 1s)' },
  { flags: '--warmup <duration>', description: 'real-time trials: warm-up run before the windows (default 2s)' },
  { flags: '--idle <duration>', description: 'real-time trials with --rate: idle-power window (default 2s)' },
  { flags: '--power-period <duration>', description: 'real-time trials: power sampling period (default 50ms)' },
];

/** Every shared flag: the runner's and the trial's. */
export const WORKLOAD_FLAGS: readonly FlagSpec[] = [...RUNNER_FLAGS, ...TRIAL_FLAGS];

/**
 * Adds the shared flags to a commander Command (or anything with the same `option` method);
 * `{ trial: false }` adds the runner's flags only. Their values stay text until workloadFromFlags.
 */
export function addWorkloadFlags<C extends { option(flags: string, description: string): C }>(cmd: C, o: { trial?: boolean } = {}): C {
  for (const f of o.trial === false ? RUNNER_FLAGS : WORKLOAD_FLAGS) cmd.option(f.flags, f.description);
  return cmd;
}

/** The flag's value through a parser, or undefined when the flag was not given. */
const read = <T>(v: unknown, parse: FlagParser<T>): T | undefined => (v === undefined ? undefined : parse(String(v)));

/**
 * `--dim name=size` (repeatable, or comma-separated): the value of a symbolic input dimension other
 * than the batch, by the dimension's name in the .onnx file — what every command that takes
 * `--model file.onnx` accepts.
 */
export function dimOption(): Option {
  return new Option(
    '--dim <name=size>',
    'value of a symbolic input dimension other than the batch, e.g. sequence=128 (repeatable; `models inspect <file>` names them)',
  ).argParser(namedSize('--dim'));
}

/** The deprecation line `--input-dims` prints. */
export const INPUT_DIMS_DEPRECATED =
  'warning: --input-dims is deprecated and will be removed: give each symbolic dimension with --dim <name>=<size> (`polythrottle models inspect <file>` names them)';

/** The deprecated `--input-dims input=AxB,…` (sizes per input name); prints the deprecation line. */
function parseDims(v: unknown): Record<string, number[]> | undefined {
  if (v === undefined) return undefined;
  process.stderr.write(`${INPUT_DIMS_DEPRECATED}\n`);
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

/** What the shared flags say. */
export interface WorkloadFlags {
  readonly workload?: WorkloadKind;
  readonly workloadOptions: WorkloadOptions;
  readonly trial: TrialSettings;
}

/** Reads the shared flags (commander's camel-cased opts()) into openTrialRunner's options. */
export function workloadFromFlags(flags: Readonly<Record<string, unknown>>): WorkloadFlags {
  const w = flags.workload as string | undefined;
  if (w !== undefined && !WORKLOAD_KINDS.includes(w as WorkloadKind)) throw badInput(`unknown workload "${w}"`, `use ${WORKLOAD_KINDS.join(', ')}`);
  const unit = flags.latencyUnit as string | undefined;
  if (unit !== undefined && !['us', 'ms', 's'].includes(unit)) throw badInput(`--latency-unit must be us, ms or s, got "${unit}"`);
  const pick = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  const workloadOptions: WorkloadOptions = {
    ...pick('workers', read(flags.onnxWorkers, positiveInt('--onnx-workers'))),
    ...pick('intraOpThreads', read(flags.intraOpThreads, positiveInt('--intra-op-threads'))),
    ...pick('interOpThreads', read(flags.interOpThreads, positiveInt('--inter-op-threads'))),
    ...pick('url', flags.url as string | undefined),
    ...pick('upstreamModel', flags.upstreamModel as string | undefined),
    ...pick('concurrency', read(flags.concurrency, positiveInt('--concurrency'))),
    ...pick('timeoutMs', read(flags.requestTimeout, positiveDurationMs('--request-timeout'))),
    ...pick('headers', parseHeaders(flags.header)),
    ...pick('binary', flags.binaryData === true ? true : undefined),
    ...pick('command', flags.command as string | undefined),
    ...pick('latencyPattern', flags.latencyPattern as string | undefined),
    ...pick('latencyUnit', unit as LatencyUnit | undefined),
    ...pick('batchesPerMatch', read(flags.batchesPerMatch, positiveInt('--batches-per-match'))),
    ...pick('commandTimeoutS', read(flags.commandTimeout, positiveDurationS('--command-timeout'))),
    ...pick('samplesFile', flags.samples as string | undefined),
    ...pick('dims', parseDims(flags.inputDims)),
  };
  const trial: TrialSettings = {
    ...pick('windowS', read(flags.window, positiveDurationS('--window'))),
    ...pick('repeats', read(flags.repeats, positiveInt('--repeats'))),
    ...pick('settleS', read(flags.settle, durationS('--settle'))),
    ...pick('warmupS', read(flags.warmup, durationS('--warmup'))),
    ...pick('idleS', read(flags.idle, durationS('--idle'))),
    ...pick('periodMs', read(flags.powerPeriod, positiveDurationMs('--power-period'))),
  };
  return { ...(w === undefined ? {} : { workload: w as WorkloadKind }), workloadOptions, trial };
}

/** The model and twin options a measuring command passes on with the shared flags. */
export interface TrialRunnerFlags {
  readonly seq?: number;
  readonly dtype?: DType;
  readonly noise?: number;
  readonly seed?: number;
  /** `--dim`: symbolic input dimensions by name. */
  readonly dim?: Readonly<Record<string, number>>;
  /** How a real device is opened (--sysfs-root, --dry-run). */
  readonly deviceOptions?: OpenDeviceOptions;
  /** sim: the board spec `--runtime` / `--twin-profile` select (twinFromOptions). */
  readonly simBoard?: BoardSpec;
}

/**
 * The symbolic dimensions a command's `--dim` gives, with what the deprecated `--input-dims` says
 * about a local model's dimensions under them (`--dim` wins): the twin's profile and the runners'
 * inputs both use them. Undefined when neither flag was given.
 */
export function symbolicDimsFromFlags(
  model: string,
  w: WorkloadFlags,
  o: Pick<TrialRunnerFlags, 'dim' | 'seq' | 'dtype'>,
): Readonly<Record<string, number>> | undefined {
  const perInput = w.workloadOptions.dims;
  if (w.workload === 'command' && (o.dim !== undefined || perInput !== undefined))
    throw badInput(
      '--dim sizes the inputs PolyThrottle generates; a --workload command program makes its own',
      'drop --dim and give the shapes in --command (e.g. trtexec --shapes=…)',
    );
  if (perInput === undefined || !isLocalModel(model)) return o.dim;
  const modelOpts = { ...(o.seq === undefined ? {} : { seq: o.seq }), ...(o.dtype === undefined ? {} : { dtype: o.dtype }) };
  return { ...symbolicDimsFromInputDims(model, perInput, modelOpts), ...o.dim };
}

/** The trial runner a command's device, model, shared flags (read by workloadFromFlags) and model/twin options describe. */
export function openTrialRunnerFromFlags(device: DeviceSpec, model: string, w: WorkloadFlags, o: TrialRunnerFlags): Promise<TrialRunner> {
  const symbolicDims = symbolicDimsFromFlags(model, w, o);
  return openTrialRunner({
    device,
    model,
    ...(o.seq === undefined ? {} : { seq: o.seq }),
    ...(o.dtype === undefined ? {} : { dtype: o.dtype }),
    ...(symbolicDims === undefined ? {} : { symbolicDims }),
    ...(w.workload === undefined ? {} : { workload: w.workload }),
    workloadOptions: w.workloadOptions,
    trial: w.trial,
    ...(o.noise === undefined ? {} : { noise: o.noise }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.deviceOptions === undefined ? {} : { deviceOptions: o.deviceOptions }),
    ...(o.simBoard === undefined ? {} : { simBoard: o.simBoard }),
  });
}

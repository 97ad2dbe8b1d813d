/** `polythrottle landscape`: export every configuration of a simulated board's grid as CSV. */
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { DEFAULT_BATCH_SIZES, formatConfig } from '../core/config.ts';
import { badInput } from '../core/errors.ts';
import type { DType } from '../core/workload-profile.ts';
import { type DeviceSpec, formatDeviceSpec, SIM_SPECS } from '../device/device-spec.ts';
import { computeLandscape, landscapeCsv, landscapeOptimum, landscapeSize, loadBoard, writeLandscapeCsv } from '../device/sim/index.ts';
import { measureLandscape } from '../measure/measured-landscape.ts';
import { modelProfile } from '../workload/model-source.ts';
import { addDeviceWriteOptions, addTwinOptions, deviceOption, deviceWriteOptions, twinFromOptions } from './support/device-options.ts';
import { type FlagParser, frequencyHz, integer, numberInRange, positiveInt, positiveIntList, positiveNumber, quantile } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { addWorkloadFlags, dimOption, openTrialRunnerFromFlags, symbolicDimsFromFlags, workloadFromFlags } from './support/workload-flags.ts';

interface LandscapeCliOptions {
  device: DeviceSpec;
  model: string;
  batchSizes: number[];
  cpuHz?: number;
  cpu?: 'all';
  rate?: number;
  quantile: number;
  sloQuantile?: number;
  noise: number;
  seed: number;
  dtype?: DType;
  seq?: number;
  dim?: Record<string, number>;
  out?: string;
  sysfsRoot?: string;
  dryRun?: boolean;
  /** Set (with the runner's flags) when the grid is measured rather than computed. */
  workload?: string;
  runtime?: string;
  twinProfile?: string;
  [flag: string]: unknown;
}

export function register(program: Command): void {
  const cmd = program
    .command('landscape')
    .description('export the whole configuration grid of a simulated board (energy/query, p50/tail latency, power) as CSV')
    .addOption(
      deviceOption(`a simulated board (${SIM_SPECS.join(' | ')}), or with --workload a real device (jetson | nvidia | linux-cpu | auto)`, 'sim:orin-agx'),
    )
    .requiredOption('--model <name|file.onnx>', 'a zoo model (see `models list`) or an .onnx file')
    .option('--batch-sizes <list>', 'batch sizes, comma-separated', positiveIntList('--batch-sizes'), [...DEFAULT_BATCH_SIZES])
    .option(
      '--cpu-hz <freq>',
      'fixed CPU clock (a table value, e.g. 2201600000 or 2201.6MHz; default: the boot power mode clock, the maximum in MAXN)',
      frequencyHz('--cpu-hz'),
    )
    .addOption(new Option('--cpu <all>', 'sweep every CPU table frequency too').choices(['all']))
    .option('--rate <rps>', 'arrival rate in requests/s (load-aware: idle power between batches counts)', positiveNumber('--rate'))
    .addOption(new Option('--quantile <q>', 'quantile of the tail-latency column: 0.99, p99 or 99%').argParser(tailQuantile('--quantile')).default(0.99))
    // The old name of --quantile, still read.
    .addOption(new Option('--slo-quantile <q>').argParser(tailQuantile('--slo-quantile')).hideHelp())
    .option('--noise <sd>', 'relative measurement noise per row (0 = the exact landscape)', numberInRange('--noise', 0, 1), 0)
    .option('--seed <n>', 'seed of the noise', integer('--seed'), 1)
    .addOption(new Option('--dtype <dtype>', 'precision of a zoo model (default: the zoo default, fp32)').choices(['fp32', 'fp16']))
    .option('--seq <L>', 'sequence length of the BERT models', positiveInt('--seq'))
    .addOption(dimOption())
    .option('--out <file>', 'write the CSV here (default: standard output)');
  addDeviceWriteOptions(cmd);
  addTwinOptions(cmd);
  addWorkloadFlags(cmd);
  cmd
    .addHelpText(
      'after',
      '\nExamples:\n  polythrottle landscape --device sim:tx2 --model efficientnet-b7 --out grid.csv\n' +
        '  polythrottle landscape --device jetson --model resnet-50 --workload onnx --out measured.csv   # measures every configuration\n' +
        'Columns: device, model, cpu_hz, gpu_min_hz, gpu_max_hz, emc_hz, batch, latency_p50_ms, latency_p99_ms\n' +
        '(named after --quantile), energy_per_query_j, power_w, throughput_qps.',
    )
    .action(action(async (o: LandscapeCliOptions) => runLandscape(o)));
}

/** A quantile (0.99, p99, 99%) of at least p50: the landscape's tail column. */
const tailQuantile =
  (flag: string): FlagParser<number> =>
  (text) => {
    const q = quantile(flag)(text);
    if (q < 0.5) throw badInput(`${flag} must be at least p50 (0.5), got "${text}"`);
    return q;
  };

async function runLandscape(o: LandscapeCliOptions): Promise<void> {
  if (o.sloQuantile !== undefined) o.quantile = o.sloQuantile;
  if (o.workload !== undefined) return runMeasuredLandscape(o);
  if (o.dryRun || o.sysfsRoot) throw badInput('--dry-run and --sysfs-root apply to a measured landscape (--workload …); the computed one writes no clock');
  if (o.device.kind !== 'sim')
    throw badInput(
      `landscape computes the grid on the device twin; '${formatDeviceSpec(o.device)}' is not a simulated board`,
      `use --device ${SIM_SPECS.join(' | ')}, or measure the grid on the device with --workload onnx|http|command`,
    );
  if (o.cpu && o.cpuHz !== undefined) throw badInput('give --cpu-hz or --cpu all, not both');
  const twin = await twinFromOptions(o.device, o);
  const board = twin.board ?? loadBoard(o.device.board);
  const dtype = o.dtype ?? twin.dtype;
  const symbolicDims = symbolicDimsFromFlags(o.model, workloadFromFlags(o), o);
  const profile = await modelProfile(o.model, {
    ...(dtype ? { dtype } : {}),
    ...(o.seq ? { seq: o.seq } : {}),
    ...(symbolicDims ? { symbolicDims } : {}),
  });
  const total = landscapeSize(board, o.batchSizes, o.cpu === 'all' ? board.cpu.freqsHz.length : 1);
  const bar = process.stderr.isTTY && total > 2000 ? new SingleBar({ format: 'landscape [{bar}] {value}/{total} configurations', hideCursor: true }) : null;
  bar?.start(total, 0);
  const t0 = performance.now();
  const l = computeLandscape({
    board,
    profile,
    batchSizes: o.batchSizes,
    ...(o.cpuHz !== undefined ? { cpuHz: o.cpuHz } : {}),
    ...(o.cpu ? { cpu: 'all' as const } : {}),
    ...(o.rate !== undefined ? { rateRps: o.rate } : {}),
    quantile: o.quantile,
    noise: o.noise,
    seed: o.seed,
    ...(bar ? { onProgress: (done: number) => bar.update(done) } : {}),
  });
  bar?.stop();
  const seconds = (performance.now() - t0) / 1000;
  if (o.out) writeLandscapeCsv(o.out, l);
  else process.stdout.write(landscapeCsv(l));

  const { best, allMax: dflt } = landscapeOptimum(board, profile, l);
  const cfg = formatConfig({ cpuHz: best.cpu_hz, gpuMinHz: best.gpu_min_hz, gpuMaxHz: best.gpu_max_hz, emcHz: best.emc_hz, batch: best.batch });
  const q = `p${Number((o.quantile * 100).toFixed(3))}`;
  process.stderr.write(
    `${l.rows.length} configurations of ${profile.model} (${profile.dtype}) on ${l.device}${o.rate ? ` at ${o.rate} req/s` : ', saturated'} in ${seconds.toFixed(2)} s${o.out ? ` → ${o.out}` : ''}\n` +
      `lowest energy/query: ${best.energy_per_query_j.toPrecision(4)} J at ${cfg} (${q} ${best.latency_p99_ms.toPrecision(4)} ms)\n` +
      `all clocks at maximum, batch ${best.batch}: ${dflt.energyPerQueryJ.toPrecision(4)} J (${q} ${dflt.latencyTailMs.toPrecision(4)} ms)\n`,
  );
}

/** `--workload …`: measure every configuration through a workload runner (real device, or the twin in real time). */
async function runMeasuredLandscape(o: LandscapeCliOptions): Promise<void> {
  if (o.cpu && o.cpuHz !== undefined) throw badInput('give --cpu-hz or --cpu all, not both');
  if (o.noise !== 0) throw badInput("--noise sets the twin's computed noise; a measured landscape has real noise", 'drop --noise');
  const w = workloadFromFlags(o);
  const twin = await twinFromOptions(o.device, o);
  const dtype = o.dtype ?? twin.dtype;
  const runner = await openTrialRunnerFromFlags(o.device, o.model, w, {
    ...(o.seq === undefined ? {} : { seq: o.seq }),
    ...(dtype === undefined ? {} : { dtype }),
    ...(twin.board === undefined ? {} : { simBoard: twin.board }),
    ...(o.dim === undefined ? {} : { dim: o.dim }),
    seed: o.seed,
    deviceOptions: deviceWriteOptions(o),
  });
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'landscape [{bar}] {value}/{total} configurations measured', hideCursor: true }) : null;
  const t0 = performance.now();
  try {
    const l = await measureLandscape({
      runner,
      model: o.model,
      batchSizes: o.batchSizes,
      ...(o.cpuHz !== undefined ? { cpu: o.cpuHz } : o.cpu ? { cpu: 'all' as const } : {}),
      quantile: o.quantile,
      ...(o.rate !== undefined ? { rateRps: o.rate } : {}),
      trial: w.trial,
      onRow: (_row, done, total) => {
        if (done === 1) bar?.start(total, 0);
        bar?.update(done);
        if (!bar && (done === total || done % 25 === 0)) process.stderr.write(`measured ${done}/${total} configurations\n`);
      },
    });
    bar?.stop();
    if (o.out) writeLandscapeCsv(o.out, l);
    else process.stdout.write(landscapeCsv(l));
    const seconds = (performance.now() - t0) / 1000;
    process.stderr.write(`${l.rows.length} configurations of ${o.model} measured on ${l.device} in ${seconds.toFixed(1)} s${o.out ? ` → ${o.out}` : ''}\n`);
    for (const bad of l.invalid) process.stderr.write(`not measured: ${formatConfig(bad.config)}: ${bad.reason}\n`);
  } finally {
    bar?.stop();
    await runner.close();
  }
}

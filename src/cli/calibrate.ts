/** `polythrottle calibrate`: fit the twin to points measured on a real board; write a calibrated twin profile. */
import { type Command, Option } from 'commander';
import pc from 'picocolors';
import { formatConfig } from '../core/config.ts';
import type { DType } from '../core/workload-profile.ts';
import type { DeviceSpec } from '../device/device-spec.ts';
import { badInput } from '../core/errors.ts';
import { modelProfile } from '../workload/model-source.ts';
import { deviceOption } from './support/device-options.ts';
import { positiveInt, positiveNumber } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { RUNTIMES } from '../device/sim/runtime-names.ts';

interface CalibrateCliOptions {
  device?: DeviceSpec;
  model?: string;
  runtime?: string;
  dtype?: DType;
  seq?: number;
  rate?: number;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description(
      'fit the device twin to points measured on a real board (per-op overhead, compute and memory efficiency, power) and write a calibrated twin profile',
    )
    .argument(
      '<points>',
      'measured points: a `tune --json` run, a measured `landscape` CSV, or a CSV of batch, cpu_hz, gpu_min_hz, gpu_max_hz, emc_hz, latency_ms, power_w',
    )
    .addOption(deviceOption('the twin of the board the points were measured on (sim:<board>; default: the one the points name)'))
    .option('--model <name|file.onnx>', 'the model measured (default: the one the points name)')
    .addOption(new Option('--runtime <name>', 'the execution stack measured (default: the one the points name, else tensorrt)').choices([...RUNTIMES]))
    .addOption(new Option('--dtype <dtype>', "the model's precision (default: the run's, else the runtime's default)").choices(['fp32', 'fp16']))
    .option('--seq <L>', 'sequence length of the BERT models', positiveInt('--seq'))
    .option('--rate <rps>', "arrival rate the points were measured at (default: the run's; saturated otherwise)", positiveNumber('--rate'))
    .option('--out <file>', 'write the calibrated twin profile here (load it with --device sim:<board> --twin-profile <file>)')
    .option('--json', 'print the fit as JSON')
    .addHelpText(
      'after',
      `
Latency is the median (p50) request latency in ms, power the mean board input power in W; clocks in
Hz (an absent clock is the board's boot value). At least 3 points; 5 spread over batch sizes and
GPU/EMC clocks determine every coefficient.

Examples:
  polythrottle tune --device jetson --model resnet-50 --json > run.json
  polythrottle calibrate run.json --device sim:orin-agx --runtime pytorch --out orin-resnet.json
  polythrottle landscape --device sim:orin-agx --twin-profile orin-resnet.json --model resnet-50`,
    )
    .action(action(async (points: string, o: CalibrateCliOptions) => runCalibrate(points, o)));
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

async function runCalibrate(file: string, o: CalibrateCliOptions): Promise<void> {
  if (o.device !== undefined && o.device.kind !== 'sim')
    throw badInput('calibrate fits the device twin: --device names the twin of the measured board, sim:<board>');
  const { calibrateTwin, calibrationTarget, readMeasuredPoints, writeTwinProfile } = await import('../device/sim/calibrate/index.ts');
  const { loadBoard } = await import('../device/sim/index.ts');
  const pts = readMeasuredPoints(file);
  const target = calibrationTarget(
    pts,
    {
      ...(o.device?.kind === 'sim' ? { board: o.device.board } : {}),
      ...(o.model === undefined ? {} : { model: o.model }),
      ...(o.runtime === undefined ? {} : { runtime: o.runtime }),
      ...(o.dtype === undefined ? {} : { dtype: o.dtype }),
      ...(o.rate === undefined ? {} : { rateRps: o.rate }),
    },
    file,
  );
  const profile = await modelProfile(target.model, { dtype: target.dtype, ...(o.seq === undefined ? {} : { seq: o.seq }) });
  const r = calibrateTwin({
    board: loadBoard(target.board),
    runtime: target.runtime,
    profile,
    points: pts.points,
    ...(target.rateRps === undefined ? {} : { rateRps: target.rateRps }),
    source: `${pts.format} ${file}`,
  });
  if (o.out) writeTwinProfile(o.out, r.profile);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...r.profile, points: r.fits }, null, 2)}\n`);
    return;
  }
  const c = r.coefficients;
  const lines = [
    `calibrated sim:${target.board} × ${target.runtime} × ${target.model} (${target.dtype}) from ${pts.points.length} points (${pts.format})`,
    '',
    'coefficient          value   (× the nominal twin)',
    `  launchOverhead     ${c.launchOverhead.toFixed(3)}   per-op CPU dispatch + GPU gap`,
    `  computeEfficiency  ${c.computeEfficiency.toFixed(3)}   achieved tensor/CUDA-core efficiency`,
    `  memoryEfficiency   ${c.memoryEfficiency.toFixed(3)}   achieved DRAM bandwidth`,
    `  dynamicPower       ${c.dynamicPower.toFixed(3)}   GPU/CPU switched capacitance`,
    `  staticPower        ${c.staticPower.toFixed(3)}   leakage, SoC, DRAM background, I/O`,
    '',
    'point                                             latency ms: measured  fit  leave-one-out | power W: measured  fit  leave-one-out',
  ];
  for (const f of r.fits)
    lines.push(
      `  ${formatConfig(f.point.config).padEnd(48)} ${f.point.latencyMs.toPrecision(4)}  ${f.latencyMs.toPrecision(4)}  ${(f.looLatencyMs ?? Number.NaN).toPrecision(4)} | ${f.point.powerW.toPrecision(4)}  ${f.powerW.toPrecision(4)}  ${(f.looPowerW ?? Number.NaN).toPrecision(4)}`,
    );
  const fl = r.profile.fit;
  lines.push(
    '',
    `leave-one-out error: latency median ${pct(fl.latency.looMedian)} (max ${pct(fl.latency.looMax)}), power median ${pct(fl.power.looMedian)} (max ${pct(fl.power.looMax)})`,
    o.out
      ? `wrote ${o.out}: use it with --device sim:${target.board} --twin-profile ${o.out}`
      : pc.dim('add --out <file> to write the calibrated twin profile'),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

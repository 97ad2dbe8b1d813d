/** `polythrottle workload`: run a workload at one batch size (no clock changes) and print its latency. */
import type { Command } from 'commander';
import pc from 'picocolors';
import { PolyThrottleError, badInput } from '../core/errors.ts';
import type { DType } from '../core/workload-profile.ts';
import { workloadSettings } from '../measure/open-trial-runner.ts';
import { probeWorkload, type ProbeResult } from '../workload/probe.ts';
import { parseDeviceSpec } from '../device/device-spec.ts';
import { addTwinOptions, twinFromOptions } from './support/device-options.ts';
import { integer, nonNegativeInt, oneOf, positiveDurationS, positiveInt, simBoard } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { addWorkloadFlags, dimOption, symbolicDimsFromFlags, workloadFromFlags } from './support/workload-flags.ts';

interface WorkloadCliOptions extends Record<string, unknown> {
  model: string;
  batch: number;
  duration?: number;
  batches?: number;
  board: string;
  seed?: number;
  seq?: number;
  dtype?: DType;
  dim?: Record<string, number>;
  warmupBatches: number;
  json?: boolean;
  runtime?: string;
  twinProfile?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('workload')
    .description('run a workload at one batch size without changing any clock, and print its latency and throughput (checks a runner before tuning)')
    .requiredOption('--model <name|file.onnx>', 'a zoo model, an .onnx file, or (http) the upstream model name')
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 1)
    .option('--duration <duration>', 'timed run, e.g. 10s (default 5s, unless --batches)', positiveDurationS('--duration'))
    .option('--batches <n>', 'run this many batches instead of a timed run', positiveInt('--batches'))
    .option('--board <name>', 'sim: the simulated board', simBoard('--board'), 'orin-agx')
    .option('--seed <n>', 'seed of the generated inputs', integer('--seed'))
    .option('--seq <L>', 'sequence length of a BERT zoo model', positiveInt('--seq'))
    .option('--dtype <dtype>', 'precision of a zoo model: fp32 | fp16', oneOf<DType>('--dtype', ['fp32', 'fp16']))
    .addOption(dimOption())
    .option('--warmup-batches <n>', 'untimed batches first', nonNegativeInt('--warmup-batches'), 1)
    .option('--json', 'print the result as JSON');
  addWorkloadFlags(cmd, { trial: false });
  addTwinOptions(cmd);
  cmd
    .addHelpText(
      'after',
      `
Examples:
  polythrottle workload --model efficientnet-b0 --batch 8                        # onnxruntime on this CPU
  polythrottle workload --workload http --url http://127.0.0.1:8000 --model resnet50_trt --batch 4 --concurrency 2
  polythrottle workload --workload command --model /models/resnet50.plan --batch 8 --duration 10 \\
    --command 'trtexec --loadEngine={model} --shapes=input:{batch}x3x224x224 --duration={duration} --avgRuns=1' \\
    --latency-pattern 'Host latency: ([0-9.]+) ms'`,
    )
    .action(action(async (o: WorkloadCliOptions) => runWorkloadCommand(o)));
}

async function runWorkloadCommand(o: WorkloadCliOptions): Promise<void> {
  const w = workloadFromFlags(o);
  const kind = w.workload ?? 'onnx';
  const symbolicDims = symbolicDimsFromFlags(o.model, w, o);
  const base = workloadSettings(kind, w.workloadOptions, { board: o.board, ...(o.seed === undefined ? {} : { seed: o.seed }) });
  // --runtime / --twin-profile shape the simulated board of --workload sim (--board).
  const twinFlags = { ...(o.runtime === undefined ? {} : { runtime: o.runtime }), ...(o.twinProfile === undefined ? {} : { twinProfile: o.twinProfile }) };
  if (Object.keys(twinFlags).length > 0 && base.kind !== 'sim')
    throw badInput('--runtime and --twin-profile shape the simulated board', 'use --workload sim --board <name>');
  const twin =
    base.kind === 'sim'
      ? await twinFromOptions(parseDeviceSpec(`sim:${o.board}`), { ...twinFlags, ...(o.dtype === undefined ? {} : { dtype: o.dtype }), model: o.model })
      : {};
  const dtype = o.dtype ?? twin.dtype;
  const settings =
    base.kind === 'command'
      ? base
      : {
          ...base,
          ...(base.kind === 'sim' && twin.board !== undefined ? { boardSpec: twin.board } : {}),
          ...(o.seq === undefined ? {} : { seq: o.seq }),
          ...(dtype === undefined ? {} : { dtype }),
          ...(symbolicDims === undefined ? {} : { symbolicDims }),
        };
  const batches = o.batches;
  if (batches !== undefined && o.duration !== undefined) throw badInput('give --duration or --batches, not both');
  const duration = o.duration ?? 5;
  if (!o.json) process.stderr.write(pc.dim(`running ${kind} · batch ${o.batch} · ${batches === undefined ? `${duration} s` : `${batches} batches`}…\n`));
  const r = await probeWorkload({
    model: o.model,
    settings,
    batch: o.batch,
    length: batches === undefined ? { durationS: duration } : { batches },
    ...(w.workloadOptions.concurrency === undefined ? {} : { concurrency: w.workloadOptions.concurrency }),
    warmupBatches: o.warmupBatches,
  });
  if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(formatProbe(r));
  if (r.errors > 0) throw new PolyThrottleError('MEASUREMENT', `${r.errors} batch${r.errors === 1 ? '' : 'es'} failed: ${r.errorReasons.join(' | ')}`);
}

export function formatProbe(r: ProbeResult): string {
  const ms = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(2));
  const lines = [
    pc.bold(r.runner),
    `  batch ${r.batch} · ${r.batches} batches · ${r.served} queries in ${r.wallS.toFixed(2)} s · ${Number.isNaN(r.throughputQps) ? '–' : r.throughputQps.toFixed(1)} queries/s`,
    `  batch latency ms   mean ${ms(r.latencyMs.mean)}   p50 ${ms(r.latencyMs.p50)}   p90 ${ms(r.latencyMs.p90)}   p99 ${ms(r.latencyMs.p99)}   max ${ms(r.latencyMs.max)}`,
  ];
  if (r.errors > 0) lines.push(pc.red(`  ${r.errors} failed batch${r.errors === 1 ? '' : 'es'}`));
  return `${lines.join('\n')}\n`;
}

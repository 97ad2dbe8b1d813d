import { writeFileSync } from 'node:fs';
import pc from 'picocolors';
import { type Command, Option } from 'commander';
import { badInput } from '../core/errors.ts';
import { DEFAULT_SLO_QUANTILE } from '../core/slo.ts';
import { type DeviceSpec, formatDeviceSpec } from '../device/device-spec.ts';
import { FinetuneAdminClient } from '../finetune/server/admin-client.ts';
import type { Job, JobKind } from '../finetune/scheduling/job.ts';
import { JOB_KINDS } from '../finetune/scheduling/job.ts';
import { runTwinReplay } from '../finetune/simulation/twin-replay.ts';
import { addTwinOptions, deviceOption, twinFromOptions } from './support/device-options.ts';
import { durationMs, integer, latencyMs, oneOf, positiveDurationS, positiveInt, positiveNumber, quantile } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';

interface ConnOpts {
  url: string;
  token?: string;
}

function client(o: ConnOpts): FinetuneAdminClient {
  const token = o.token ?? process.env.POLYTHROTTLE_ADMIN_TOKEN;
  if (!token) throw badInput('no admin token', 'pass --token <token> or set POLYTHROTTLE_ADMIN_TOKEN (the token `serve` printed or was given)');
  return new FinetuneAdminClient({ url: o.url, token });
}

/** One `--slo-change <at:latency>`: when (ms into the stream) and the new SLO latency (ms). */
interface SloChange {
  atMs: number;
  latencyMs: number;
}

const sloChange = (text: string, previous: readonly SloChange[] = []): SloChange[] => {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw badInput(`--slo-change must look like 30s:700ms, got "${text}"`);
  return [...previous, { atMs: durationMs('--slo-change time')(text.slice(0, i)), latencyMs: latencyMs('--slo-change latency')(text.slice(i + 1)) }];
};

function jobLine(j: Job): string {
  const state = { queued: pc.yellow, running: pc.green, done: pc.dim, failed: pc.red, cancelled: pc.dim }[j.state](j.state.padEnd(9));
  const progress = j.steps ? `${j.stepsDone}/${j.steps}` : `${j.stepsDone}`;
  const mb = j.runMicroBatch && j.runMicroBatch !== j.microBatch ? `${j.runMicroBatch} (asked ${j.microBatch})` : `${j.microBatch}`;
  const extra = [
    j.exitStatus !== undefined && j.exitStatus !== 0 ? `exit ${j.exitStatus}` : '',
    j.switchEnergyJ ? `switch ${j.switchEnergyJ.toFixed(2)} J` : '',
    j.reason ?? '',
  ]
    .filter(Boolean)
    .join(' · ');
  return `${j.id}  ${state} ${j.kind.padEnd(7)} ${j.name.padEnd(16)} ${j.model.padEnd(16)} mb ${mb.padEnd(4)} steps ${progress.padEnd(8)} ${pc.dim(extra)}`;
}

/** Options of `finetune replay`, as its flags parse them. */
interface ReplayCliOptions {
  device: DeviceSpec;
  runtime?: string;
  twinProfile?: string;
  model: string;
  rate: number;
  duration: number;
  slo: number;
  sloChange?: SloChange[];
  quantile: number;
  finetuneModel?: string;
  microBatch: number;
  jobs: number;
  steps: number;
  switch: boolean;
  oracle?: boolean;
  seed: number;
  timeline?: string;
}

/** `finetune replay`: the twin replay in virtual time, its events and its summary. */
async function replay(o: ReplayCliOptions): Promise<void> {
  if (o.device.kind !== 'sim') throw badInput(`replay runs on the device twin: --device sim:<board>, got ${formatDeviceSpec(o.device)}`);
  const twin = await twinFromOptions(o.device, { ...(o.runtime ? { runtime: o.runtime } : {}), ...(o.twinProfile ? { twinProfile: o.twinProfile } : {}) });
  const q = o.quantile;
  const changes = (o.sloChange ?? sloChange('30s:700ms')).map((c) => ({ atMs: c.atMs, slo: { latencyMs: c.latencyMs, quantile: q } }));
  const ftModel = o.finetuneModel ?? o.model;
  process.stderr.write(pc.dim(`replaying ${o.duration} s at ${o.rate} req/s on ${formatDeviceSpec(o.device)} (virtual time)…\n`));
  const r = runTwinReplay({
    board: twin.board ?? o.device.board,
    model: o.model,
    rateRps: o.rate,
    durationMs: o.duration * 1000,
    slo: { latencyMs: o.slo, quantile: q },
    sloChanges: changes,
    submissions: Array.from({ length: o.jobs }, (_, i) => ({
      atMs: 0,
      spec: { kind: 'sim' as const, name: `ft-${i + 1}`, model: ftModel, microBatch: o.microBatch, steps: o.steps },
    })),
    allowSwitch: o.switch,
    shrinkMicroBatch: o.switch,
    predictor: o.oracle ? 'oracle' : 'fitted',
    seed: o.seed,
  });
  for (const e of r.events) {
    const t = `${(e.t / 1000).toFixed(2).padStart(6)} s`;
    if (e.type === 'job-started')
      process.stdout.write(
        `${t}  start  ${e.job.name} (micro-batch ${e.admission.option.microBatch}, predicted p${Math.round(q * 100)} ≤ ${e.admission.option.tailUpperMs.toFixed(0)} ms${e.admission.switched ? ', switched configuration' : ''})\n         ${e.admission.decision}\n`,
      );
    else if (e.type === 'job-resized')
      process.stdout.write(`${t}  resize ${e.job.name}: ${e.admission.decision}${e.admission.switched ? ' (switched configuration)' : ''}\n`);
    else if (e.type === 'job-ended') process.stdout.write(`${t}  end    ${e.job.name} ${e.job.state} after ${e.job.stepsDone} steps\n`);
    else if (e.type === 'job-waiting') process.stdout.write(`${t}  wait   ${e.job.name}: ${e.reason}\n`);
    else if (e.type === 'slo-changed') process.stdout.write(`${t}  SLO    ${e.slo.latencyMs} ms\n`);
  }
  const samples = r.result.steps.reduce((s, x) => s + x.samples, 0);
  process.stdout.write(
    `\nSLO attainment ${(100 * r.attainment).toFixed(2)} % of ${r.result.requests.length} requests; while fine-tuning ${(100 * r.attainmentDuringFinetune).toFixed(2)} % of ${r.requestsDuringFinetune}\n` +
      `fine-tuning: ${r.result.steps.filter((x) => x.stepEnd).length} optimizer steps in ${r.result.steps.length} parts, ${Number(samples.toFixed(2))} samples (${r.finetuneSamplesPerS.toFixed(2)} samples/s), ${r.scheduler.list().filter((j) => j.state === 'done').length}/${o.jobs} jobs done; ` +
      `${r.configSwitches} configuration changes, switch energy ${r.switchEnergyJ.toFixed(2)} J\n`,
  );
  if (o.timeline) {
    writeFileSync(o.timeline, `${JSON.stringify(r.timeline)}\n`);
    process.stdout.write(`timeline → ${o.timeline}\n`);
  }
}

/** Flags every subcommand that talks to a running server takes. */
const conn = (c: Command) =>
  c.option('--url <url>', 'server address', 'http://127.0.0.1:8000').option('--token <token>', 'admin bearer token (env POLYTHROTTLE_ADMIN_TOKEN)');

function registerSubmit(ft: Command): void {
  conn(
    ft
      .command('submit')
      .description('queue a fine-tuning job (FIFO; it starts when its predicted inference tail latency meets the SLO)')
      .requiredOption(
        '--kind <kind>',
        `${JOB_KINDS.join(' | ')}: gate = your training loop asks before each step over HTTP; command = a command from the server configuration file, paused between batches; sim = a simulated job on the twin`,
        oneOf('--kind', JOB_KINDS),
      )
      .option('--model <name>', 'model being fine-tuned (zoo name; default: the served model)')
      .option('--micro-batch <n>', 'fine-tuning micro-batch (the scheduler may run a smaller one to fit)', positiveInt('--micro-batch'))
      .option('--steps <n>', 'steps to run (required for sim jobs)', positiveInt('--steps'))
      .option('--command <name>', 'command jobs: the name of a command in the server configuration file')
      .option('--name <label>', 'label shown in listings')
      .option('--json', 'print the job as JSON'),
  ).action(
    action(async (o: ConnOpts & { kind: JobKind; model?: string; microBatch?: number; steps?: number; command?: string; name?: string; json?: boolean }) => {
      const { job } = await client(o).submit({
        kind: o.kind,
        ...(o.name ? { name: o.name } : {}),
        ...(o.model ? { model: o.model } : {}),
        ...(o.microBatch ? { microBatch: o.microBatch } : {}),
        ...(o.steps ? { steps: o.steps } : {}),
        ...(o.command ? { command: o.command } : {}),
      });
      if (o.json) process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      else process.stdout.write(`${jobLine(job)}\n`);
    }),
  );
}

function registerList(ft: Command): void {
  conn(ft.command('list').description('the job queue in FIFO order').option('--json', 'print JSON')).action(
    action(async (o: ConnOpts & { json?: boolean }) => {
      const { jobs } = await client(o).list();
      if (o.json) process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      else if (jobs.length === 0) process.stdout.write('no fine-tuning jobs\n');
      else for (const j of jobs) process.stdout.write(`${jobLine(j)}\n`);
    }),
  );
}

function registerCancel(ft: Command): void {
  conn(ft.command('cancel').description("cancel a queued or running job (a command job's process is terminated)").argument('<id>', 'job id')).action(
    action(async (id: string, o: ConnOpts) => {
      const { job } = await client(o).cancel(id);
      process.stdout.write(`${jobLine(job)}\n`);
    }),
  );
}

function registerReplay(ft: Command): void {
  const cmd = ft
    .command('replay')
    .description("replay a request stream on the device twin in virtual time with fine-tuning jobs queued (the paper's Appendix D by default)")
    .addOption(deviceOption('simulated board (sim:<board>)', 'sim:tx2'))
    .option('--model <name>', 'model served', 'efficientnet-b0')
    .option('--rate <rps>', 'Poisson arrival rate, requests/s', positiveNumber('--rate'), 40)
    .addOption(new Option('--duration <duration>', 'stream length, e.g. 60s').argParser(positiveDurationS('--duration')).default(60, '60s'))
    .addOption(new Option('--slo <latency>', 'SLO latency at the start').argParser(latencyMs('--slo')).default(250, '250ms'))
    .option('--slo-change <at:latency...>', 'SLO changes, e.g. 30s:700ms (repeatable; default 30s:700ms)', sloChange)
    .option('--quantile <q>', 'SLO quantile', quantile('--quantile'), DEFAULT_SLO_QUANTILE)
    .option('--finetune-model <name>', 'model being fine-tuned (default: the served model)')
    .option('--micro-batch <n>', 'fine-tuning micro-batch', positiveInt('--micro-batch'), 4)
    .option('--jobs <n>', 'jobs queued at t = 0', positiveInt('--jobs'), 4)
    .option('--steps <n>', 'steps per job', positiveInt('--steps'), 10)
    .option('--no-switch', "the paper's mode: admit or wait, no Pareto switch or smaller micro-batch")
    .option('--oracle', 'use exact co-run latencies instead of the fitted predictor')
    .option('--seed <n>', 'random seed', integer('--seed'), 7)
    .option('--timeline <file>', 'write the timeline JSON ({ t, sloMs, latencyMs, finetuneRunning }[]) for `report --timeline`');
  addTwinOptions(cmd);
  cmd.action(action(replay));
}

export function register(program: Command): void {
  const ft = program.command('finetune').description('fine-tuning beside inference: jobs on a running server, and a replay on the device twin');
  registerSubmit(ft);
  registerList(ft);
  registerCancel(ft);
  registerReplay(ft);
}

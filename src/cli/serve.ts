import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import type { FastifyPluginAsync } from 'fastify';
import pc from 'picocolors';
import { formatConfig } from '../core/config.ts';
import { badInput } from '../core/errors.ts';
import { SLO_MARGINS } from '../core/slo.ts';
import type { DeviceSpec } from '../device/device-spec.ts';
import { loadFinetuneConfig } from '../finetune/server/config-file.ts';
import { finetuneServePlugin } from '../finetune/server/serving-finetune.ts';
import { BACKEND_KINDS, type BackendKind, modelArg } from '../serve/open-backend.ts';
import { chooseServeDevice, modelsToServe, type ServedModels, serveModels } from '../serve/serve-models.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS, shutdownOnExit } from '../serve/serve-session.ts';
import { connectionTimeouts, DEFAULT_TIMEOUTS, MAX_TIMER_MS } from '../serve/server.ts';
import { type LoadedProfile, loadConfigOption, loadProfile, type PartialConfig } from '../serve/serving-config.ts';
import { defaultDbPath, userDataDir } from '../store/paths.ts';
import { recommendForSlo } from '../tune/recommend-for-slo.ts';
import type { BoardSpec } from '../device/sim/board-spec.ts';
import { RUNTIMES } from '../device/sim/runtime-names.ts';
import { openDeviceFromOptions, twinFromOptions } from './support/device-options.ts';
import {
  byteSize,
  collect,
  deviceSpec,
  durationMs,
  latencyMs,
  numberInRange,
  oneOf,
  port,
  positiveInt,
  positiveNumber,
  quantile,
} from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { dimOption } from './support/workload-flags.ts';
/** The sim board spec `--runtime` / `--twin-profile` select (empty when neither was given). */
async function twinOf(device: DeviceSpec, o: ServeCliOptions): Promise<{ simBoard?: BoardSpec }> {
  const twin = await twinFromOptions(device, { ...(o.runtime ? { runtime: o.runtime } : {}), ...(o.twinProfile ? { twinProfile: o.twinProfile } : {}) });
  return twin.board === undefined ? {} : { simBoard: twin.board };
}

interface ServeCliOptions {
  runtime?: string;
  twinProfile?: string;
  profile?: string;
  db?: string;
  config?: string;
  model: string[];
  backend?: BackendKind;
  upstream?: string;
  workers?: number;
  dim?: Record<string, number>;
  slo?: number;
  quantile?: number;
  batch?: number;
  device: DeviceSpec | 'none';
  forceDevice?: boolean;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
  host: string;
  port: number;
  adminToken?: string;
  maxQueue: number;
  bodyLimit: number;
  margin: number;
  maxQueueDelay?: number;
  retune?: 'retune' | 'detect' | 'off';
  finetune?: boolean;
  finetuneConfig?: string;
  rate?: number;
  drainTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  idleTimeout: number;
}

/** A duration flag for a timeout → whole ms in [0, MAX_TIMER_MS] (0: no limit). */
const timeoutMs =
  (flag: string) =>
  (text: string): number => {
    const ms = Math.round(durationMs(flag)(text));
    if (ms > MAX_TIMER_MS) throw badInput(`${flag} must be at most ${MAX_TIMER_MS} ms (about 24 days), got "${text}"`);
    return ms;
  };

/** `--device`: a device spec, or `none` to serve without controlling one. */
const servedDevice = (text: string): DeviceSpec | 'none' => (text.trim() === 'none' ? 'none' : deviceSpec('--device')(text));

/** `--profile` and `--config`: the tuned profile (from either) and the knobs given by hand. */
async function profileAndConfig(o: ServeCliOptions): Promise<{ profile: LoadedProfile | undefined; config: PartialConfig }> {
  const profile = o.profile ? await loadProfile(o.profile, o.db ?? defaultDbPath()) : undefined;
  if (!o.config) return { profile, config: {} };
  const c = await loadConfigOption(o.config);
  return { profile: profile ?? c.profile, config: c.config };
}

/** `--finetune` / `--finetune-config`: the admin plugin that admits and schedules fine-tuning jobs. */
function finetunePlugin(o: ServeCliOptions, profile: LoadedProfile | undefined, log: (line: string) => void): FastifyPluginAsync {
  const ftConfig = o.finetuneConfig ? loadFinetuneConfig(o.finetuneConfig) : undefined;
  const rateRps = o.rate ?? profile?.run?.rateRps;
  if (rateRps === undefined || !(rateRps > 0))
    throw badInput('fine-tuning admission needs the arrival rate: give --rate <requests/s> (or a profile tuned with --rate)');
  const dbFile = ftConfig?.db ?? join(userDataDir(), 'finetune.db');
  mkdirSync(dirname(dbFile), { recursive: true });
  return finetuneServePlugin({
    dbFile,
    model: modelArg(modelsToServe(o.model, profile)[0]!).model,
    rateRps,
    ...(o.device !== 'none' && o.device.kind === 'sim' ? { board: o.device.board } : {}),
    ...(profile?.run ? { run: profile.run, recommendForSlo } : {}),
    ...(ftConfig ? { commands: ftConfig.commands } : {}),
    log: (m) => log(`finetune: ${m}`),
  });
}

function printServing(s: ServedModels, tokenGenerated: boolean, log: (line: string) => void): void {
  const ctx = s.app.polythrottle;
  log(`${pc.green('serving')} ${s.url}  (KServe v2; /metrics; admin API under /v1)`);
  log(
    `  device   ${s.device ? `${s.device.name}${s.clocksApplied ? ` at ${formatConfig(s.config)}` : ' (clocks left as they are)'}` : 'none (no clocks, no energy metering)'}`,
  );
  log(`  SLO      p${Math.round(s.slo.quantile * 100)} ≤ ${s.slo.latencyMs} ms (margin ${Math.round(s.margin * 100)} %)`);
  for (const m of s.backend.models()) {
    const ms = ctx.batcher.fullBatchMs(m.name);
    log(
      `  model    ${m.name} (${s.backend.kind}): batch ≤ ${ctx.batcher.maxBatch(m.name)}, service ${ms === undefined ? '?' : ms.toFixed(1)} ms, queue delay ${ctx.batcher.queueDelayMs(m.name).toFixed(1)} ms`,
    );
  }
  if (tokenGenerated) log(`  admin    Authorization: Bearer ${s.adminToken}`);
}

async function serve(flags: ServeCliOptions): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // checked before anything is opened
  const timeouts = connectionTimeouts({
    headersMs: flags.headersTimeout,
    requestMs: flags.requestTimeout,
    keepAliveMs: flags.keepAliveTimeout,
    idleMs: flags.idleTimeout,
  });
  const { profile, config } = await profileAndConfig(flags);
  // With a profile, `auto` is the device it was tuned on; another one only with --force-device.
  const choice =
    flags.device === 'none'
      ? undefined
      : await chooseServeDevice(flags.device, profile?.run, {
          ...(flags.forceDevice ? { force: true } : {}),
          ...(flags.sysfsRoot ? { root: flags.sysfsRoot } : {}),
        });
  if (choice?.note) log(choice.note);
  const o: ServeCliOptions = choice ? { ...flags, device: choice.spec } : flags;
  const adminToken = o.adminToken ?? process.env.POLYTHROTTLE_ADMIN_TOKEN;
  const adminPlugins = o.finetune || o.finetuneConfig ? [finetunePlugin(o, profile, log)] : [];
  const served = await serveModels({
    ...(profile ? { profile } : {}),
    config,
    ...(o.batch === undefined ? {} : { batch: o.batch }),
    ...(o.slo === undefined ? {} : { slo: o.slo }),
    ...(o.quantile === undefined ? {} : { quantile: o.quantile }),
    margin: o.margin,
    ...(o.forceDevice ? { forceDevice: true } : {}),
    models: o.model,
    ...(o.backend === undefined ? {} : { backend: o.backend }),
    ...(o.upstream ? { upstream: o.upstream } : {}),
    ...(o.workers === undefined ? {} : { workers: o.workers }),
    ...(o.dim === undefined ? {} : { symbolicDims: o.dim }),
    ...(o.device === 'none' ? {} : { device: await openDeviceFromOptions({ ...o, device: o.device, ...(await twinOf(o.device, o)) }) }),
    ...(adminToken === undefined ? {} : { adminToken }),
    adminPlugins,
    host: o.host,
    port: o.port,
    maxQueueRows: o.maxQueue,
    bodyLimitBytes: o.bodyLimit,
    ...(o.maxQueueDelay === undefined ? {} : { maxQueueDelayMs: o.maxQueueDelay }),
    ...(o.retune === undefined ? {} : { retune: o.retune }),
    drainTimeoutMs: o.drainTimeout,
    timeouts,
    log,
  });
  // the signal handlers first: a SIGINT right after the "serving" line must drain and restore too
  const stopped = shutdownOnExit(served, { log });
  printServing(served, adminToken === undefined, log);
  const code = await stopped;
  log('stopped');
  // The device is restored; whatever the deadline or a second signal cut short (a connection, a
  // backend still closing) must not keep the process alive.
  process.exit(code);
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve models over KServe v2 at a tuned configuration: dynamic batching under the SLO, energy metering, /metrics')
    .option('--profile <id|file|key>', 'tuned profile: an id in the store, a registry key (`profile list`), or a tuning run written by `tune --json`')
    .option('--db <file|url>', `store of tuned profiles and the registry: a SQLite file or a postgres:// URL (default: ${defaultDbPath()})`)
    .option('--config <spec|file>', 'configuration by hand: cpu=…,gpu-min=…,gpu-max=…,emc=…,batch=… (Hz or kHz/MHz/GHz) or a JSON file')
    .option(
      '--model <model>',
      "model to serve (repeatable): a zoo name or path.onnx, optionally name=…; http: the upstream model name (default: the profile's)",
      collect,
      [] as string[],
    )
    .option('--backend <kind>', `execution backend: ${BACKEND_KINDS.join(' | ')} (default: sim on a sim: device, else onnx)`, oneOf('--backend', BACKEND_KINDS))
    .option('--upstream <url>', 'http backend: the upstream KServe v2 endpoint, e.g. Triton at http://127.0.0.1:8000')
    .option('--workers <n>', 'onnx backend: worker threads', positiveInt('--workers'))
    .addOption(dimOption())
    .option('--slo <latency>', "latency SLO, e.g. 50ms (default: the profile's)", latencyMs('--slo'))
    .option('--quantile <q>', "quantile the SLO applies to: 0.99, p99 or 99% (default: the profile's, else p99)", quantile('--quantile'))
    .option('--batch <n>', "batch size limit (default: the profile's, else 1)", positiveInt('--batch'))
    .option(
      '--device <spec>',
      "auto | jetson | nvidia | linux-cpu | sim:<board> | none (serve without controlling a device); with --profile, auto is the profile's device",
      servedDevice,
      servedDevice('auto'),
    )
    .option('--force-device', "serve a --profile on a device other than the one it was tuned on (default: refused; --device auto picks the profile's)")
    .option('--sysfs-root <dir>', 'read and write hardware files under this root instead of /')
    .option('--dry-run', 'print each clock write instead of doing it')
    .option('--allow-clock-changes', 'allow locking clocks on a desktop/server NVIDIA GPU')
    .addOption(
      new Option('--runtime <name>', 'sim: the execution stack the twin models: tensorrt (fused engine, the default), onnxruntime or pytorch (eager)').choices([
        ...RUNTIMES,
      ]),
    )
    .option('--twin-profile <file>', 'sim: a calibrated twin profile (`polythrottle calibrate --out`): the twin behaves as the measured board')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', port('--port'), 8000)
    .option('--admin-token <token>', 'bearer token of the /v1 admin API (env POLYTHROTTLE_ADMIN_TOKEN; generated and printed if absent)')
    .option('--max-queue <rows>', 'most rows waiting per model before 503', positiveInt('--max-queue'), 1024)
    .addOption(new Option('--body-limit <size>', 'largest request body').argParser(byteSize('--body-limit')).default(8 * 1024 ** 2, '8MiB'))
    .option('--margin <share>', 'share of the SLO kept as safety margin, in [0, 1)', numberInRange('--margin', 0, 1), SLO_MARGINS.serving)
    .option('--max-queue-delay <duration>', 'cap on the queue delay derived from the SLO, e.g. 20ms', durationMs('--max-queue-delay'))
    .option(
      '--retune <mode>',
      "on drift (CUSUM on batch service time and energy): retune (re-select from the profile's surrogates, probe when needed), detect (log only) or off (default: retune with a tuned profile and a device)",
      oneOf('--retune', ['retune', 'detect', 'off'] as const),
    )
    .option('--finetune', 'accept fine-tuning jobs (admin API /v1/finetune/…; see `polythrottle finetune`)')
    .option('--finetune-config <file>', 'fine-tuning configuration (JSON: db, commands); implies --finetune')
    .option('--rate <rps>', "arrival rate fine-tuning admission assumes (default: the profile's)", positiveNumber('--rate'))
    .addOption(
      new Option(
        '--drain-timeout <duration>',
        'on SIGTERM/SIGINT, longest wait for queued and running requests before closing connections and restoring the device (a second signal: at once)',
      )
        .argParser(timeoutMs('--drain-timeout'))
        .default(DEFAULT_DRAIN_TIMEOUT_MS, '10s'),
    )
    .addOption(
      new Option('--headers-timeout <duration>', 'a request line and headers must arrive within this (0: no limit)')
        .argParser(timeoutMs('--headers-timeout'))
        .default(DEFAULT_TIMEOUTS.headersMs, '10s'),
    )
    .addOption(
      new Option('--request-timeout <duration>', 'a whole request, body included, must arrive within this, else 408 (0: no limit)')
        .argParser(timeoutMs('--request-timeout'))
        .default(DEFAULT_TIMEOUTS.requestMs, '30s'),
    )
    .addOption(
      new Option('--keep-alive-timeout <duration>', 'an idle keep-alive connection is closed after this')
        .argParser(timeoutMs('--keep-alive-timeout'))
        .default(DEFAULT_TIMEOUTS.keepAliveMs, '5s'),
    )
    .addOption(
      new Option('--idle-timeout <duration>', 'a connection on which nothing moves is closed after this (0: no limit)')
        .argParser(timeoutMs('--idle-timeout'))
        .default(DEFAULT_TIMEOUTS.idleMs, '120s'),
    )
    .addHelpText(
      'after',
      `
Examples:
  polythrottle serve --device sim:orin-agx --model bert-base --slo 200ms --config gpu-min=918MHz,gpu-max=1.3GHz,batch=8
  polythrottle serve --device none --model resnet=models/resnet50.onnx --slo 300ms --batch 4
  polythrottle serve --profile 3f9c --backend http --upstream http://127.0.0.1:8000 --device jetson`,
    )
    .action(action(serve));
}

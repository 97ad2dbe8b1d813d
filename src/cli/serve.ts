import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { FastifyPluginAsync } from 'fastify';
import pc from 'picocolors';
import type { Config } from '../core/config.ts';
import { formatConfig } from '../core/config.ts';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import { SLO_MARGINS } from '../core/slo.ts';
import { guardDevice } from '../device/safety/guard.ts';
import { loadFinetuneConfig } from '../finetune/server/config-file.ts';
import { finetuneServePlugin } from '../finetune/server/serving-finetune.ts';
import { BACKEND_KINDS, type BackendKind, modelArg, openBackend } from '../serve/open-backend.ts';
import { shutdownOnSignals, startServing } from '../serve/serve-session.ts';
import { checkConfig, type LoadedProfile, loadConfigOption, loadProfileFile, type PartialConfig, profileFromRun, resolveSlo } from '../serve/serving-config.ts';
import { defaultDbPath, userDataDir } from '../store/paths.ts';
import { TuningStore } from '../store/tuning-store.ts';
import { recommendForSlo } from '../tune/recommend-for-slo.ts';
import { openDeviceFromOptions } from './support/device-options.ts';
import { parsePositiveInt } from './support/positive-int.ts';
import { action } from './support/run-action.ts';

interface ServeCliOptions {
  profile?: string;
  db?: string;
  config?: string;
  model: string[];
  backend?: string;
  upstream?: string;
  workers?: string;
  slo?: string;
  quantile?: string;
  batch?: string;
  device: string;
  sysfsRoot?: string;
  dryRun?: boolean;
  allowClockChanges?: boolean;
  host: string;
  port: string;
  adminToken?: string;
  maxQueue: string;
  bodyLimit: string;
  margin: string;
  maxQueueDelay?: string;
  finetune?: boolean;
  finetuneConfig?: string;
  rate?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `--profile`: a file (a tuning run as JSON), else a profile or run id (or prefix) in the store. */
async function loadProfile(ref: string, db: string | undefined): Promise<LoadedProfile> {
  if (existsSync(ref) || ref.endsWith('.json')) return loadProfileFile(ref);
  const store = new TuningStore(db ?? defaultDbPath());
  try {
    const run = store.getRun(ref);
    if (!run)
      throw new PolyThrottleError('NOT_FOUND', `no profile "${ref}": neither a file nor a profile id in ${store.path}`, {
        hint: 'give the profile id `polythrottle tune` printed (or its first characters), or a file written by `tune --json`',
      });
    return profileFromRun(run, `${ref} in ${store.path}`);
  } finally {
    store.close();
  }
}

function bytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  const v = m ? Math.round(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]!) : Number.NaN;
  if (!(v > 0)) throw badInput(`--body-limit: cannot read "${text}" as a size`, 'e.g. 8MiB');
  return v;
}

async function serve(o: ServeCliOptions): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let loaded: LoadedProfile | undefined = o.profile ? await loadProfile(o.profile, o.db) : undefined;
  let manual: PartialConfig = {};
  if (o.config) {
    const c = await loadConfigOption(o.config);
    manual = c.config;
    loaded ??= c.profile;
  }
  const base = loaded?.profile.config;
  const batch = o.batch !== undefined ? parsePositiveInt(o.batch, '--batch') : (manual.batch ?? base?.batch ?? 1);
  const config: Config = { ...base, ...manual, batch };
  const slo = resolveSlo(o.slo, o.quantile, loaded?.profile);
  const margin = Number(o.margin);
  if (!(margin >= 0 && margin < 1)) throw badInput(`--margin must be in [0, 1), got "${o.margin}"`);
  const kind = (o.backend ?? (o.device.startsWith('sim:') ? 'sim' : 'onnx')) as BackendKind;
  if (!BACKEND_KINDS.includes(kind)) throw badInput(`--backend must be one of ${BACKEND_KINDS.join(', ')}, got "${o.backend}"`);
  const models = o.model.length > 0 ? o.model : loaded?.profile.model ? [loaded.profile.model] : [];
  if (models.length === 0) throw badInput('no model to serve: give --model (repeat it to serve several) or a --profile');
  const token = o.adminToken ?? process.env.POLYTHROTTLE_ADMIN_TOKEN ?? randomBytes(18).toString('base64url');
  if (token.length < 8) throw badInput('the admin token must be at least 8 characters');

  const adminPlugins: FastifyPluginAsync[] = [];
  if (o.finetune || o.finetuneConfig) {
    const ftConfig = o.finetuneConfig ? loadFinetuneConfig(o.finetuneConfig) : undefined;
    const rateRps = o.rate !== undefined ? Number(o.rate) : loaded?.run?.rateRps;
    if (rateRps === undefined || !(rateRps > 0))
      throw badInput('fine-tuning admission needs the arrival rate: give --rate <requests/s> (or a profile tuned with --rate)');
    const first = modelArg(models[0]!);
    const dbFile = ftConfig?.db ?? join(userDataDir(), 'finetune.db');
    mkdirSync(dirname(dbFile), { recursive: true });
    adminPlugins.push(
      finetuneServePlugin({
        dbFile,
        model: first.model,
        rateRps,
        ...(o.device.startsWith('sim:') ? { board: o.device.slice(4) } : {}),
        ...(loaded?.run ? { run: loaded.run, recommendForSlo } : {}),
        ...(ftConfig ? { commands: ftConfig.commands } : {}),
        log: (m) => log(`finetune: ${m}`),
      }),
    );
  }
  const device =
    o.device === 'none'
      ? undefined
      : guardDevice(
          await openDeviceFromOptions(o),
        );
  const description = device ? await device.describe() : undefined;
  const { batch: _b, ...clocks } = config;
  const hasClocks = Object.values(clocks).some((v) => v !== undefined);
  if (hasClocks && (!device || !description))
    throw badInput('--device none cannot apply clocks', 'drop the clocks from --config/--profile, or name a device');
  if (hasClocks && device && description) checkConfig(config, await device.domains(), description);
  if (loaded?.run && description && loaded.run.device.id !== description.id)
    log(`${pc.yellow('warning:')} the profile was tuned on ${loaded.run.device.name}, serving on ${description.name}`);
  if (device?.kind === 'sim' && kind !== 'sim')
    log(`${pc.yellow('warning:')} ${kind} backend on a simulated device: the clocks are the twin's, the execution is real`);

  let backend: Awaited<ReturnType<typeof openBackend>>;
  try {
    backend = await openBackend({
      kind,
      models,
      log,
      ...(device ? { device } : {}),
      ...(o.upstream ? { upstream: o.upstream } : {}),
      ...(o.workers ? { workers: parsePositiveInt(o.workers, '--workers') } : {}),
    });
  } catch (e) {
    await device?.close();
    throw e;
  }
  const prior = loaded?.prior;
  const session = await startServing({
    backend,
    ...(device ? { device } : {}),
    ...(hasClocks ? { clocks } : {}),
    slo,
    batch,
    margin,
    maxQueueRows: parsePositiveInt(o.maxQueue, '--max-queue'),
    bodyLimitBytes: bytes(o.bodyLimit),
    ...(o.maxQueueDelay ? { maxQueueDelayMs: Number(o.maxQueueDelay) } : {}),
    ...(prior ? { priorServiceMs: Object.fromEntries(backend.models().map((m) => [m.name, prior])) } : {}),
    adminToken: token,
    adminPlugins,
    profile: loaded?.profile ?? { source: 'manual', config, slo, ...(description ? { device: description.name } : {}) },
    host: o.host,
    port: o.port === '0' ? 0 : parsePositiveInt(o.port, '--port'),
    log,
  });
  const ctx = session.app.polythrottle;
  log(`${pc.green('serving')} ${session.url}  (KServe v2; /metrics; admin API under /v1)`);
  log(`  device   ${description ? `${description.name}${hasClocks ? ` at ${formatConfig(config)}` : ' (clocks left as they are)'}` : 'none (no clocks, no energy metering)'}`);
  log(`  SLO      p${Math.round(slo.quantile * 100)} ≤ ${slo.latencyMs} ms (margin ${Math.round(margin * 100)} %)`);
  for (const m of backend.models()) {
    const s = ctx.batcher.fullBatchMs(m.name);
    log(
      `  model    ${m.name} (${backend.kind}): batch ≤ ${ctx.batcher.maxBatch(m.name)}, service ${s === undefined ? '?' : s.toFixed(1)} ms, queue delay ${ctx.batcher.queueDelayMs(m.name).toFixed(1)} ms`,
    );
  }
  if (!o.adminToken && !process.env.POLYTHROTTLE_ADMIN_TOKEN) log(`  admin    Authorization: Bearer ${token}`);
  const onFatal = (e: unknown) => {
    log(`${pc.red('error:')} ${(e as Error)?.stack ?? String(e)}`);
    void session.shutdown().finally(() => process.exit(1));
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  process.exitCode = await shutdownOnSignals(session, log);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  log('stopped');
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve models over KServe v2 at a tuned configuration: dynamic batching under the SLO, energy metering, /metrics')
    .option('--profile <id|file>', 'tuned profile: an id in the store, or a tuning run written by `tune --json` (configuration, SLO, service time)')
    .option('--db <file>', `store of tuned profiles (default: ${defaultDbPath()})`)
    .option('--config <spec|file>', 'configuration by hand: cpu=…,gpu-min=…,gpu-max=…,emc=…,batch=… (Hz or kHz/MHz/GHz) or a JSON file')
    .option('--model <model>', 'model to serve (repeatable): a zoo name or path.onnx, optionally name=…; http: the upstream model name (default: the profile\'s)', collect, [])
    .option('--backend <kind>', `execution backend: ${BACKEND_KINDS.join(' | ')} (default: sim on a sim: device, else onnx)`)
    .option('--upstream <url>', 'http backend: the upstream KServe v2 endpoint, e.g. Triton at http://127.0.0.1:8000')
    .option('--workers <n>', 'onnx backend: worker threads')
    .option('--slo <latency>', 'latency SLO, e.g. 50ms (default: the profile\'s)')
    .option('--quantile <q>', 'quantile the SLO applies to (default: the profile\'s, else 0.99)')
    .option('--batch <n>', 'batch size limit (default: the profile\'s, else 1)')
    .option('--device <spec>', 'auto | jetson | nvidia | linux-cpu | sim:<board> | none (serve without controlling a device)', 'auto')
    .option('--sysfs-root <dir>', 'read and write hardware files under this root instead of /')
    .option('--dry-run', 'print each clock write instead of doing it')
    .option('--allow-clock-changes', 'allow locking clocks on a desktop/server NVIDIA GPU')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', '8000')
    .option('--admin-token <token>', 'bearer token of the /v1 admin API (env POLYTHROTTLE_ADMIN_TOKEN; generated and printed if absent)')
    .option('--max-queue <rows>', 'most rows waiting per model before 503', '1024')
    .option('--body-limit <size>', 'largest request body', '8MiB')
    .option('--margin <share>', 'share of the SLO kept as safety margin', String(SLO_MARGINS.serving))
    .option('--max-queue-delay <ms>', 'cap on the queue delay derived from the SLO')
    .option('--finetune', 'accept fine-tuning jobs (admin API /v1/finetune/…; see `polythrottle finetune`)')
    .option('--finetune-config <file>', 'fine-tuning configuration (JSON: db, commands); implies --finetune')
    .option('--rate <rps>', 'arrival rate fine-tuning admission assumes (default: the profile\'s)')
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

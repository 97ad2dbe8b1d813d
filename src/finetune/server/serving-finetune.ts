/**
 * Fine-tuning inside `polythrottle serve`: builds the scheduler's environment (the twin for `sim:`
 * devices; the tuning profile's measured trials on real hardware), the job store, the service wired
 * to the server's batcher and serving context, and the admin routes plugin. The server registers
 * `plugin` among its admin plugins (under /v1, behind the token) and calls `close()` on shutdown.
 * Only serve's types are used here: what needs another layer (how a tuning run answers a new SLO) is
 * passed in by the caller that wires serving and fine-tuning together.
 */
import type { FastifyPluginAsync } from 'fastify';
import { type Config, configKey, formatConfig } from '../../core/config.ts';
import { paretoFront } from '../../core/pareto.ts';
import type { TuningRun } from '../../core/tuning-run.ts';
import type { Slo } from '../../core/slo.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import type { ServingContext } from '../../serve/serving-context.ts';
import type { InferenceBaseline } from '../scheduling/admission.ts';
import type { CommandSpec } from '../scheduling/command-runner.ts';
import { FinetuneService, type ServingHost } from '../scheduling/finetune-service.ts';
import { finetuneRoutes } from './admin-routes.ts';
import { SqliteJobStore } from '../scheduling/job-store.ts';
import { InterferencePredictor, type ProfiledRun } from '../prediction/predictor.ts';
import type { GrantPart, SchedulerEnvironment, SchedulerEvent } from '../scheduling/scheduler.ts';
import { createSimEnvironment, interferenceFeatures } from '../simulation/sim-environment.ts';
import { TWIN_PROFILING, twinCosts } from '../simulation/twin-costs.ts';
import { cachedZooProfile, runProfiles, twinParetoSet } from '../simulation/twin-replay.ts';

/**
 * A tuning run's answer to a new SLO without measuring: the lowest-energy measured configuration that
 * meets it, or null (tune's `recommendForSlo` has this shape).
 */
export type RecommendForSlo = (run: TuningRun, slo: Slo) => { readonly measured: { readonly config: Config } | null };

export interface ServingFinetuneOptions {
  /** SQLite file for the job queue. */
  readonly dbFile: string;
  /** The served model: a zoo name (its FLOPs and bytes are the predictor's inference features). */
  readonly model: string;
  /** Arrival rate the admission assumes, requests/s (the profile's when it has one). */
  readonly rateRps: number;
  /** `sim:` device board: the twin provides profiling, baselines and simulated steps. */
  readonly board?: string;
  /** The tuning profile: its measured Pareto set and baselines (real hardware). */
  readonly run?: TuningRun;
  /**
   * How the profile re-selects the configuration when the SLO changes at run time: needed with `run`
   * on real hardware (tune's `recommendForSlo`, passed in by the caller that wires serving and
   * fine-tuning together).
   */
  readonly recommendForSlo?: RecommendForSlo;
  /** Profiled co-runs per configuration key (real hardware): fits the predictor there. */
  readonly profiledRuns?: Readonly<Record<string, readonly ProfiledRun[]>>;
  readonly commands?: Readonly<Record<string, CommandSpec>>;
  /**
   * The configuration the server serves at (clocks as read back + batch size): the scheduler's base,
   * left only while a job needs a switch. `finetuneServePlugin` reads it from the serving context.
   */
  readonly servedConfig?: Config;
  readonly profileOf?: (name: string) => WorkloadProfile;
  /**
   * Let admission shrink a step that is too long for the inference slack (smaller micro-batches with
   * gradient accumulation, chunks that yield between batches) before switching configuration or
   * waiting. Default true; false keeps every job at its requested micro-batch.
   */
  readonly shrinkSteps?: boolean;
  readonly log?: (msg: string) => void;
  readonly onEvent?: (e: SchedulerEvent) => void;
}

export interface ServingFinetune {
  readonly service: FinetuneService;
  readonly plugin: FastifyPluginAsync;
  close(): Promise<void>;
}

function hostOf(ctx: ServingContext): ServingHost {
  // Configurations the scheduler is applying itself: not reported back to it as an operator's change.
  let applying = 0;
  return {
    runWhenIdle: (task) => ctx.batcher.runWhenIdle(task),
    onIdle: (fn) => {
      ctx.batcher.on('idle', (e) => fn(e.budgetMs));
    },
    onBatch: (fn) => {
      ctx.batcher.on('batch', (e) => {
        if (!e.failed) fn(e.serviceMs, e.requests);
      });
    },
    onSlo: (fn) => ctx.on('slo', fn),
    accountWork: (ms) => ctx.hostCosts?.recordWork(ms),
    applyConfig: async (c: Config) => {
      const { batch, ...clocks } = c;
      applying++;
      try {
        await ctx.applyConfig(ctx.device ? clocks : undefined, batch);
      } finally {
        applying--;
      }
    },
    onConfig: (fn) =>
      ctx.on('configured', (c, changed) => {
        if (applying === 0) fn(c, changed);
      }),
  };
}

/** The configurations of a tuning run's measured Pareto set (valid trials with finite figures): those fine-tuning may switch between. */
function measuredParetoSet(run: TuningRun): Config[] {
  const measured = run.trials.filter(
    (t) => t.measurement.valid && Number.isFinite(t.measurement.energyPerQueryJ) && Number.isFinite(t.measurement.latencyTailMs),
  );
  return paretoFront(
    measured,
    (t) => t.measurement.energyPerQueryJ,
    (t) => t.measurement.latencyTailMs,
  ).map((t) => t.config);
}

/** Environment from a tuning profile's measurements (real hardware). */
function profileEnvironment(
  run: TuningRun,
  recommendForSlo: RecommendForSlo,
  o: ServingFinetuneOptions,
  predictor: InterferencePredictor,
): SchedulerEnvironment {
  const profileOf = o.profileOf ?? runProfiles(run);
  const trials = new Map<string, InferenceBaseline>();
  for (const t of run.trials) {
    if (!t.measurement.valid) continue;
    const k = configKey(t.config);
    const prev = trials.get(k);
    const m = t.measurement;
    trials.set(k, {
      tailMs: Math.max(prev?.tailMs ?? 0, m.latencyTailMs),
      serviceMs: m.serviceMs,
      energyPerQueryJ: m.energyPerQueryJ,
    });
  }
  const candidates = measuredParetoSet(run);
  return {
    baseline: (c, _slo, rateRps) => {
      const b = trials.get(configKey(c));
      if (!b)
        throw new RangeError(
          `the configuration ${formatConfig(c)} was not measured by the tuning profile, so fine-tuning cannot be admitted beside it: serve at a configuration the profile measured (its recommendation or a Pareto point)`,
        );
      // The profile keeps each trial's tail at the run's quantile, not its samples: the sampling
      // margin cannot be re-derived here, the utilisation cap can.
      return { ...b, utilisation: (rateRps * b.serviceMs) / c.batch / 1000 };
    },
    features: (c, model, mb, part) => interferenceFeatures(profileOf, o.model, c.batch, model, mb, part),
    candidates: () => candidates,
    selectForSlo: (slo: Slo) => {
      const a = recommendForSlo(run, slo);
      return a.measured?.config ?? run.recommendation?.config ?? candidates[0]!;
    },
    ensureModel: (c) => {
      const k = configKey(c);
      if (predictor.has(k)) return true;
      const runs = o.profiledRuns?.[k];
      if (!runs || runs.length < predictor.minRuns) return false;
      predictor.fit(k, runs);
      return true;
    },
    validate: (spec) => {
      profileOf(spec.model);
    },
  };
}

export function createServingFinetune(ctx: ServingContext, o: ServingFinetuneOptions): ServingFinetune {
  const profileOf = o.profileOf ?? (o.run ? runProfiles(o.run) : cachedZooProfile);
  profileOf(o.model); // fail early on a model without a cost profile
  const predictor = new InterferencePredictor({ featureSet: 'roofline' });
  let environment: SchedulerEnvironment;
  let simStepMs: ((c: Config, m: string, mb: number, part?: GrantPart) => number) | undefined;
  if (o.board) {
    const costs = twinCosts(o.board, profileOf, o.model);
    const candidates = o.run ? measuredParetoSet(o.run) : twinParetoSet(o.board, o.model, o.rateRps);
    environment = createSimEnvironment({ costs, profileOf, model: o.model, candidates, predictor, profiling: TWIN_PROFILING, noise: 0.03, seed: 1 });
    // Profile every configuration admission may consider now, at start-up, rather than on the event
    // loop of the first submission while requests are being served.
    for (const c of [...(o.servedConfig ? [o.servedConfig] : []), ...candidates]) environment.ensureModel(c);
    simStepMs = (c, m, mb, part) => costs.finetuneStep(c, m, mb, part && part.count > 1 ? part : undefined).stepMs;
  } else if (o.run) {
    if (!o.recommendForSlo) throw new RangeError('fine-tuning beside a tuning profile needs recommendForSlo: how the profile answers a new SLO');
    environment = profileEnvironment(o.run, o.recommendForSlo, o, predictor);
  } else throw new RangeError('fine-tuning needs a simulated device or a tuning profile (its measured Pareto set and baselines)');
  const store = new SqliteJobStore(o.dbFile);
  const service = new FinetuneService({
    store,
    predictor,
    environment,
    slo: ctx.slo,
    rateRps: o.rateRps,
    ...(o.servedConfig ? { initialConfig: o.servedConfig } : {}),
    clock: () => performance.now(),
    host: hostOf(ctx),
    ...(o.commands ? { commands: o.commands } : {}),
    ...(simStepMs ? { simStepMs } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(o.shrinkSteps === false ? { shrinkMicroBatch: false } : {}),
  });
  return {
    service,
    plugin: finetuneRoutes({ service, defaultModel: o.model }),
    close: async () => {
      await service.close();
      store.close();
    },
  };
}

/**
 * The profile's measured configuration that the served one is (same batch, same value of every knob
 * the trial sets): clocks read back from the device name every knob, a profile's trial may not, and
 * the scheduler looks up baselines by the trial's configuration.
 */
export function measuredMatch(run: TuningRun, served: Config): Config | undefined {
  const knobs = ['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz'] as const;
  return run.trials.find(
    (t) => t.measurement.valid && t.config.batch === served.batch && knobs.every((k) => t.config[k] === undefined || t.config[k] === served[k]),
  )?.config;
}

/**
 * The whole of fine-tuning as one admin plugin for `createServer({ adminPlugins: [...] })`: it reads
 * the serving context (`app.polythrottle`) and takes the configuration being served as the
 * scheduler's base — it changes nothing at start: the warm-up that follows measures the served
 * configuration, and a switch happens only while a job needs one. Command jobs are stopped when the
 * server closes (queued jobs stay in the database).
 */
export function finetuneServePlugin(o: ServingFinetuneOptions): FastifyPluginAsync {
  return async (app) => {
    const ctx = app.polythrottle;
    const served = o.servedConfig ?? (await ctx.currentConfig());
    const servedConfig = o.run ? (measuredMatch(o.run, served) ?? served) : served;
    const ft = createServingFinetune(ctx, { ...o, servedConfig });
    app.addHook('onClose', async () => ft.close());
    await app.register(ft.plugin);
  };
}

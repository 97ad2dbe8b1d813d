import type { Config } from '../../core/config.ts';
import { paretoFront } from '../../core/pareto.ts';
import type { Slo } from '../../core/slo.ts';
import type { WorkloadProfile } from '../../core/workload-profile.ts';
import { type BoardSpec, resolveBoard } from '../../device/sim/board-spec.ts';
import { evaluateConfig } from '../../device/sim/evaluate.ts';
import { profileForSpec, runModelSpec } from '../../model/model-spec.ts';
import { zooProfile } from '../../model/zoo/index.ts';
import type { TuningRun } from '../../core/tuning-run.ts';
import { type SimResult, simulateCoRun, sloAttainment, type TimelinePoint, timeline } from './corun-sim.ts';
import type { FeatureSet } from '../prediction/features.ts';
import type { JobSpec } from '../scheduling/job.ts';
import { MemoryJobStore } from '../scheduling/job-store.ts';
import { InterferencePredictor } from '../prediction/predictor.ts';
import { poissonArrivals } from '../../numerics/random.ts';
import { FinetuneScheduler, type SchedulerEvent } from '../scheduling/scheduler.ts';
import { createSimEnvironment, OraclePredictor } from './sim-environment.ts';
import { TWIN_PROFILING, twinCosts } from './twin-costs.ts';

const profiles = new Map<string, WorkloadProfile>();
/** Zoo profiles, built once per process. */
export function cachedZooProfile(name: string): WorkloadProfile {
  let p = profiles.get(name);
  if (!p) {
    p = zooProfile(name);
    profiles.set(name, p);
  }
  return p;
}

/**
 * Profiles by model name for serving beside a tuning run: the tuned model at the precision and
 * sequence length the run recorded (an fp16 run is costed as fp16), any other model (a fine-tuning
 * job's) as the zoo builds it by default.
 */
export function runProfiles(run: Pick<TuningRun, 'model' | 'modelSpec'>): (name: string) => WorkloadProfile {
  const spec = runModelSpec(run);
  let tuned: WorkloadProfile | undefined;
  return (name) => {
    if (name !== spec.name) return cachedZooProfile(name);
    tuned ??= profileForSpec(spec);
    return tuned;
  };
}

/** BATCHES the twin's Pareto set is built over. */
const BATCHES = [1, 2, 4, 8, 16];

/**
 * The energy / tail-latency Pareto set of a model on a board at a load, from the twin's exact
 * landscape (GPU clock pinned, every EMC clock and batch size, CPU at its maximum), thinned to `size`
 * points — what a tuning profile stores.
 */
export function twinParetoSet(board: string | BoardSpec, model: string, rateRps: number, size = 12): Config[] {
  const spec = resolveBoard(board);
  const p = cachedZooProfile(model);
  const cpuHz = spec.cpu.freqsHz[spec.cpu.freqsHz.length - 1];
  const points: { config: Config; energyPerQueryJ: number; latencyTailMs: number }[] = [];
  for (const g of spec.gpu.freqsHz)
    for (const e of spec.emc.freqsHz)
      for (const b of BATCHES) {
        const config: Config = { cpuHz, gpuMinHz: g, gpuMaxHz: g, emcHz: e, batch: b };
        const ev = evaluateConfig(spec, p, config, { rateRps });
        if (ev.overloaded || !Number.isFinite(ev.energyPerQueryJ) || !Number.isFinite(ev.latencyTailMs)) continue;
        points.push({ config, energyPerQueryJ: ev.energyPerQueryJ, latencyTailMs: ev.latencyTailMs });
      }
  const front = paretoFront(
    points,
    (p) => p.energyPerQueryJ,
    (p) => p.latencyTailMs,
  );
  return thinFront(front, size).map((x) => x.config);
}

/** At most `n` points spread evenly along a front (keeping both ends). */
function thinFront<P>(front: readonly P[], n: number): P[] {
  if (front.length <= n) return [...front];
  const out: P[] = [];
  for (let i = 0; i < n; i++) out.push(front[Math.round((i * (front.length - 1)) / (n - 1))]!);
  return [...new Set(out)];
}

export interface TwinReplayOptions {
  /** Board name, or its spec (a runtime or a calibrated twin profile applied). */
  readonly board: string | BoardSpec;
  /** Model served. */
  readonly model: string;
  readonly rateRps: number;
  readonly durationMs: number;
  readonly slo: Slo;
  readonly sloChanges?: readonly { readonly atMs: number; readonly slo: Slo }[];
  readonly submissions: readonly { readonly atMs: number; readonly spec: JobSpec }[];
  /** 'fitted' (the predictor) or 'oracle' (exact latencies). */
  readonly predictor?: 'fitted' | 'oracle';
  readonly featureSet?: FeatureSet;
  readonly allowSwitch?: boolean;
  readonly shrinkMicroBatch?: boolean;
  readonly noise?: number;
  readonly seed?: number;
  readonly paretoSize?: number;
}

export interface TwinReplay {
  readonly result: SimResult;
  readonly timeline: TimelinePoint[];
  readonly events: SchedulerEvent[];
  readonly scheduler: FinetuneScheduler;
  readonly attainment: number;
  /** Attainment of requests in the server while a job ran. */
  readonly attainmentDuringFinetune: number;
  readonly requestsDuringFinetune: number;
  /** Fine-tuning samples processed per second of the replay. */
  readonly finetuneSamplesPerS: number;
  readonly configSwitches: number;
  /** Extra inference energy of switched configurations (ended jobs + the running one), J. */
  readonly switchEnergyJ: number;
  /** Inference energy per query over the replay (batches + idle), J. */
  readonly inferenceEnergyPerQueryJ: number;
}

/** The co-run replay on the twin in virtual time: server + batcher + scheduler + jobs. */
export function runTwinReplay(o: TwinReplayOptions): TwinReplay {
  const seed = o.seed ?? 1;
  const noise = o.noise ?? 0.03;
  const spec = resolveBoard(o.board);
  const costs = twinCosts(spec, cachedZooProfile, o.model);
  const predictor = new InterferencePredictor({ featureSet: o.featureSet ?? 'roofline' });
  const candidates = twinParetoSet(spec, o.model, o.rateRps, o.paretoSize);
  const env = createSimEnvironment({ costs, profileOf: cachedZooProfile, model: o.model, candidates, predictor, profiling: TWIN_PROFILING, noise, seed });
  const events: SchedulerEvent[] = [];
  let now = 0;
  const scheduler = new FinetuneScheduler({
    store: new MemoryJobStore(),
    predictor: o.predictor === 'oracle' ? new OraclePredictor(costs, o.model, noise) : predictor,
    environment: env,
    slo: o.slo,
    rateRps: o.rateRps,
    clock: () => now,
    allowSwitch: o.allowSwitch ?? true,
    shrinkMicroBatch: o.shrinkMicroBatch ?? true,
    onEvent: (e) => events.push(e),
    now: () => new Date(Date.UTC(2026, 10, 26) + now).toISOString(),
  });
  const arrivals = poissonArrivals(o.rateRps, o.durationMs, seed);
  const result = simulateCoRun({
    model: o.model,
    arrivalsMs: arrivals,
    costs,
    noise,
    seed: seed + 1,
    slo: o.slo,
    scheduler,
    sloChanges: o.sloChanges ?? [],
    submissions: o.submissions,
    finetuneUntilMs: o.durationMs,
    clockSink: (t) => {
      now = t;
    },
  });
  const changes = [...(o.sloChanges ?? [])].sort((a, b) => a.atMs - b.atMs);
  const sloAt = (t: number) => {
    let s = o.slo.latencyMs;
    for (const c of changes) if (c.atMs <= t) s = c.slo.latencyMs;
    return s;
  };
  const during = result.requests.filter((r) => r.duringFinetune);
  const samples = result.steps.reduce((s, x) => s + x.samples, 0);
  const switchEnergyJ = scheduler.list().reduce((s, j) => s + (j.switchEnergyJ ?? 0), 0) + scheduler.runningSwitchEnergyJ;
  return {
    result,
    timeline: timeline(result, sloAt, o.durationMs),
    events,
    scheduler,
    attainment: sloAttainment(result.requests),
    attainmentDuringFinetune: sloAttainment(during),
    requestsDuringFinetune: during.length,
    finetuneSamplesPerS: samples / (o.durationMs / 1000),
    configSwitches: events.filter((e) => e.type === 'config-switch').length,
    switchEnergyJ,
    inferenceEnergyPerQueryJ: result.inferenceEnergyJ / Math.max(1, result.requests.length),
  };
}

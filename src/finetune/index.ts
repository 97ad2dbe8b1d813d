/** Fine-tuning beside inference: interference predictor, FIFO admission scheduler, jobs, replay on the twin. */
export {
  type Admission,
  type AdmissionOption,
  decideAdmission,
  type InferenceBaseline,
  MAX_UTILISATION,
  MIN_FINETUNE_SHARE,
} from './scheduling/admission.ts';
export { describeGranularity, granularities, MAX_CHUNKS, type StepGranularity } from './scheduling/granularity.ts';
export { quantileWithMargin } from './scheduling/quantile-margin.ts';
export { coRunBoundMs, partMayStart } from './scheduling/step-guard.ts';
export { type StepQueueOutcome, stepQueueTail } from './scheduling/step-queue.ts';
export { FinetuneAdminClient, type SubmitRequest } from './server/admin-client.ts';
export { type CommandSpec, CommandProcess, commandsSchema } from './scheduling/command-runner.ts';
export { type FinetuneConfig, loadFinetuneConfig, parseFinetuneConfig } from './server/config-file.ts';
export {
  type DeviceCosts,
  latencyQuantile,
  type SimResult,
  simulateCoRun,
  sloAttainment,
  type TimelinePoint as FinetuneTimelinePoint,
  timeline,
} from './simulation/corun-sim.ts';
export { type FeatureSet, finetuneStepFeatures, inferenceFeatures, type InterferenceFeatures } from './prediction/features.ts';
export { FinetuneService, type ServingHost } from './scheduling/finetune-service.ts';
export { finetuneRoutes, type FinetuneRoutesOptions, standaloneFinetuneAdmin, type StandaloneFinetuneAdminOptions } from './server/admin-routes.ts';
export type { Job, JobKind, JobSpec, JobState } from './scheduling/job.ts';
export { type JobStore, MemoryJobStore, SqliteJobStore } from './scheduling/job-store.ts';
export { InterferencePredictor, type LatencyPrediction, type LatencyPredictor, type ProfiledRun } from './prediction/predictor.ts';
export { FinetuneScheduler, type GrantPart, type SchedulerEnvironment, type SchedulerEvent, type StepGrant } from './scheduling/scheduler.ts';
export { createServingFinetune, finetuneServePlugin, type RecommendForSlo, type ServingFinetuneOptions } from './server/serving-finetune.ts';
export { createSimEnvironment, OraclePredictor, profileCoRuns } from './simulation/sim-environment.ts';
export { TWIN_PROFILING, twinCosts } from './simulation/twin-costs.ts';
export { runTwinReplay, type TwinReplay, type TwinReplayOptions, twinParetoSet } from './simulation/twin-replay.ts';

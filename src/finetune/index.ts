/** Fine-tuning beside inference: interference predictor, FIFO admission scheduler, jobs, replay on the twin. */
export { type Admission, type AdmissionOption, decideAdmission, type InferenceBaseline } from './admission.ts';
export { FinetuneAdminClient, type SubmitRequest } from './admin-client.ts';
export { type CommandSpec, CommandProcess, commandsSchema } from './command-runner.ts';
export { type FinetuneConfig, loadFinetuneConfig, parseFinetuneConfig } from './config-file.ts';
export { type DeviceCosts, latencyQuantile, type SimResult, simulateCoRun, sloAttainment, type TimelinePoint as FinetuneTimelinePoint, timeline } from './corun-sim.ts';
export { type FeatureSet, finetuneStepFeatures, inferenceFeatures, type InterferenceFeatures } from './features.ts';
export { FinetuneService, type ServingHost } from './finetune-service.ts';
export { finetuneRoutes } from './http-plugin.ts';
export type { Job, JobKind, JobSpec, JobState } from './job.ts';
export { type JobStore, MemoryJobStore, SqliteJobStore } from './job-store.ts';
export { paretoFromRun, paretoFront } from './pareto.ts';
export { InterferencePredictor, type LatencyPrediction, type LatencyPredictor, type ProfiledRun } from './predictor.ts';
export { FinetuneScheduler, type SchedulerEnvironment, type SchedulerEvent, type StepGrant } from './scheduler.ts';
export { createServingFinetune, finetuneServePlugin, type ServingFinetuneOptions } from './serving.ts';
export { createSimEnvironment, OraclePredictor, profileCoRuns } from './sim-environment.ts';
export { TWIN_PROFILING, twinCosts } from './twin-costs.ts';
export { runTwinReplay, type TwinReplay, type TwinReplayOptions, twinParetoSet } from './twin-replay.ts';

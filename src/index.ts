/** PolyThrottle as a library: every CLI capability is a function here first. */
export * from './core/index.ts';
export { paretoFront } from './core/pareto.ts';
export * from './model/index.ts';
export * from './workload/index.ts';
export { MeasuredTrialRunner, type MeasuredTrialOptions } from './measure/measured-trial.ts';
export { openTrialRunner, type OpenTrialRunnerOptions, type WorkloadOptions } from './measure/open-trial-runner.ts';
export { measureLandscape, landscapeConfigs, type MeasureLandscapeOptions, type MeasuredLandscape } from './measure/measured-landscape.ts';
export { openDevice, detectDevice, resolveJetsonOrTwin, type OpenDeviceOptions } from './device/open.ts';
export { parseDeviceSpec, readDeviceSpec, formatDeviceSpec, DEVICE_SPEC_CHOICES, type DeviceSpec } from './device/device-spec.ts';
export {
  BOARDS,
  loadBoard,
  evaluateConfig,
  createSimDevice,
  createSimTrialRunner,
  computeLandscape,
  landscapeCsv,
  writeLandscapeCsv,
  fineTuneStepCost,
  type BoardSpec,
  type EvaluateOptions,
  type Evaluation,
  type SimDevice,
  type SimLoad,
  type SimTrialRunner,
  type Landscape,
  type LandscapeRow,
  type FineTuneStepCost,
  applyRuntime,
  loadRuntime,
  RUNTIMES,
  type RuntimeProfile,
} from './device/sim/index.ts';
export {
  calibrateTwin,
  readMeasuredPoints,
  loadTwinProfile,
  applyTwinProfile,
  writeTwinProfile,
  type CalibrationResult,
  type MeasuredPoint,
  type TwinCoefficients,
  type TwinProfile,
} from './device/sim/calibrate/index.ts';
export { inventory } from './device/inventory.ts';
export { withDeviceGuard, installRestoreHandlers, guardDevice, GuardedDevice } from './device/safety/guard.ts';
export { restoreFromSnapshotFiles } from './device/safety/restore-file.ts';
export { PowerMeter, type EnergyWindow, type WindowHandle } from './measure/power-meter.ts';
export {
  loadReportInputs,
  planReport,
  renderReport,
  writeReport,
  renderChart,
  parseTimeline,
  twinLandscape,
  type ReportInputs,
  type ReportSources,
  type RenderedReport,
  type TimelinePoint,
} from './report/index.ts';
export * from './finetune/index.ts';
export {
  ConstrainedBo,
  type ConstrainedBoOptions,
  randomSearch,
  gridSearch,
  exhaustiveSearch,
  type Optimizer,
  type Observation,
  type Suggestion,
  type SearchSpace,
  type Dimension,
  enumerateGrid,
  fitGp,
  gpFromState,
  type Gp,
  type GpState,
  type GpHyperparameters,
  type GpPrediction,
  scoreAcquisition,
  logExpectedImprovement,
  logProbabilityOfFeasibility,
} from './optimize/index.ts';
export {
  tune,
  type TuneOptions,
  type TuneProgress,
  runTuningSession,
  type TuningSessionOptions,
  type TuningSessionResult,
  recommendForSlo,
  type SloAnswer,
  type RecommendOptions,
  chooseCpuClock,
  createKnobSpace,
  type KnobSpace,
} from './tune/index.ts';
export { paretoSet } from './core/pareto.ts';
export { TuningStore, defaultDbPath, readTuningRunFile, parseTuningRun, readRunSource, openStore, PostgresStore, type Store } from './store/index.ts';
export { runAgent, runFleetTuning, pushProfile, pullProfile, profileKeyOf, type FleetTuningRun } from './fleet/index.ts';
export * from './serve/index.ts';

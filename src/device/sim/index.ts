/** The device twin: simulated Jetson boards that behave like the real ones (DESIGN.md §4). */
export { BOARDS, type BoardName, type BoardSpec, isBoardName, loadBoard, parseBoardSpec, voltageAt } from './board-spec.ts';
export { type EvaluateOptions, type Evaluation, evaluateConfig, resolveConfig } from './evaluate.ts';
export {
  type SimDevice,
  type SimDeviceOptions,
  type SimLoad,
  createSimDevice,
  describeBoard,
  presetsOf,
  simDomains,
} from './sim-device.ts';
export {
  DEFAULT_NOISE,
  DEFAULT_REPEATS,
  DEFAULT_WINDOW_S,
  type SimTrialRunner,
  type SimTrialRunnerOptions,
  createSimTrialRunner,
} from './trial-runner.ts';
export {
  LANDSCAPE_COLUMNS,
  type Landscape,
  type LandscapeOptions,
  type LandscapeRow,
  computeLandscape,
  landscapeCsv,
  landscapeOptimum,
  landscapeSize,
  tailColumn,
  writeLandscapeCsv,
} from './landscape.ts';
export {
  type FineTuneStepCost,
  OPTIMIZER_BYTES_PER_PARAM,
  OPTIMIZER_FLOPS_PER_PARAM,
  fineTuneStepCost,
  trainingProfile,
} from './fine-tune.ts';
export { NOMINAL, SHIFTED_BOARDS, type TwinPerturbation, perturbBoard, perturbationSets, randomPerturbation, shiftBoard } from './perturbation.ts';
export {
  DEFAULT_RUNTIME,
  RUNTIMES,
  type RuntimeName,
  type RuntimeProfile,
  applyRuntime,
  boardRuntime,
  isRuntimeName,
  loadRuntime,
  runtimePrecision,
} from './runtime-profile.ts';

/** The tuning loop and SLO re-selection from stored surrogates. */
export { chooseCpuClock, type CpuPhaseOptions, type CpuPhaseResult } from './cpu-phase.ts';
export { createKnobSpace, type KnobSpace, type KnobSpaceOptions } from './knob-space.ts';
export { type RecommendOptions, recommendForSlo, type SloAnswer } from './recommend-for-slo.ts';
export {
  type ConfirmedRecommendation,
  type ConfirmOptions,
  confirmRecommendation,
  explainPassedOver,
  infeasibleReason,
  MAX_CONFIRMATIONS,
  meetsWithMargin,
  poolMeasurements,
  pooledByConfig,
  rankCandidates,
} from './recommendation.ts';
export { TrialCache } from './trial-cache.ts';
export { budgetOf, CONFIRM_RESERVE, DEFAULT_BUDGET, DEFAULT_PRESETS, DEFAULT_TWO_PHASE_BUDGET, type TuneMethod, type TuneOptions, tune } from './tune.ts';
export { type PriorPrediction, type PriorPredictor, twinPrior, type TwinPriorOptions } from './twin-prior.ts';
export { runSearchPhase, type SearchPhaseOptions, type TuneOptimizer } from './search-phase.ts';
export { denoisedEnergy, fitSurrogates, knobLengthscales, rankByModel } from './surrogates.ts';
export { type TunePhase, type TuneProgress, TuningState, type TuningStateOptions } from './tuning-state.ts';
export { runTuningSession, settingsKey, type TuningSessionOptions, type TuningSessionResult } from './tuning-session.ts';

/** Calibrating the twin from measured points: readers, the fit, and the calibrated twin profile. */
export { type CalibrationInput, type CalibrationResult, MIN_POINTS, type PointFit, calibrateTwin, checkPoints } from './fit.ts';
export { type MeasuredPoint, type MeasuredPoints, type PointsFormat, pointsFromCsv, pointsFromRun, readMeasuredPoints } from './measured-points.ts';
export {
  COEFFICIENT_NAMES,
  type TwinCoefficients,
  type TwinProfile,
  UNIT_COEFFICIENTS,
  applyTwinCoefficients,
  applyTwinProfile,
  coefficientsBoard,
  loadTwinProfile,
  loadTwinProfileFile,
  parseTwinProfile,
  recordedCoefficients,
  writeTwinProfile,
} from './twin-profile.ts';
export { type CalibrationTarget, type TargetChoices, calibrationTarget } from './target.ts';

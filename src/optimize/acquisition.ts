/**
 * Constrained acquisition functions, in log space: log EI(objective) + log P(constraint ≤ threshold)
 * (Gardner et al. 2014, with Ament et al.'s stable log-EI), and log P(feasible) alone for the phase
 * when no feasible point has been seen yet. The objective is minimised.
 */
import { logH, logNormCdf } from '../numerics/normal.ts';

export type AcquisitionMode = 'log-ei-pof' | 'log-pof';

/** log EI of a Gaussian N(mean, variance) below `best` (minimisation), raw units. */
export function logExpectedImprovement(mean: number, variance: number, best: number): number {
  const sd = Math.sqrt(Math.max(variance, 1e-18));
  return Math.log(sd) + logH((best - mean) / sd);
}

/** log P(c ≤ threshold) for c ~ N(mean, variance). */
export function logProbabilityOfFeasibility(mean: number, variance: number, threshold: number): number {
  const sd = Math.sqrt(Math.max(variance, 1e-18));
  return logNormCdf((threshold - mean) / sd);
}

export interface AcquisitionInputs {
  readonly objMean: Float64Array;
  readonly objVar: Float64Array;
  readonly conMean: Float64Array;
  readonly conVar: Float64Array;
  readonly threshold: number;
  /** Incumbent objective; null = nothing feasible yet (feasibility mode). */
  readonly best: number | null;
}

/** Acquisition value at every point. */
export function scoreAcquisition(a: AcquisitionInputs): { mode: AcquisitionMode; values: Float64Array } {
  const m = a.objMean.length;
  const values = new Float64Array(m);
  if (a.best === null) {
    for (let i = 0; i < m; i++) values[i] = logProbabilityOfFeasibility(a.conMean[i]!, a.conVar[i]!, a.threshold);
    return { mode: 'log-pof', values };
  }
  for (let i = 0; i < m; i++)
    values[i] = logExpectedImprovement(a.objMean[i]!, a.objVar[i]!, a.best) + logProbabilityOfFeasibility(a.conMean[i]!, a.conVar[i]!, a.threshold);
  return { mode: 'log-ei-pof', values };
}

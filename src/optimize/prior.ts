/**
 * Priors on the GP hyperparameters, all in log space (θ = log ℓ_i, log σ_f², log σ_n²), with inputs
 * in [0, 1] and standardised outputs. Each is a normal density on the log-parameter (a log-normal
 * on the parameter), wide enough to let the data decide, tight enough to keep a handful of
 * observations from collapsing a lengthscale to zero or infinity.
 */
export interface LogNormalPrior {
  /** Mean of the log-parameter. */
  readonly mu: number;
  /** Standard deviation of the log-parameter. */
  readonly sigma: number;
}

export interface GpPriors {
  readonly lengthscale: LogNormalPrior;
  readonly signalVariance: LogNormalPrior;
  readonly noiseVariance: LogNormalPrior;
}

export const DEFAULT_PRIORS: GpPriors = {
  // median lengthscale 0.6 of the unit interval; ±1 σ spans 0.22–1.6
  lengthscale: { mu: Math.log(0.6), sigma: 1.0 },
  signalVariance: { mu: 0, sigma: 1.0 },
  // median noise 1 % of the output variance; measurement noise of a few % is well inside ±2 σ
  noiseVariance: { mu: Math.log(1e-2), sigma: 2.0 },
};

/** Negative log density (up to a constant) of θ under a log-normal prior, and its derivative. */
export function negLogPrior(theta: number, p: LogNormalPrior): { value: number; grad: number } {
  const z = (theta - p.mu) / p.sigma;
  return { value: 0.5 * z * z, grad: z / p.sigma };
}

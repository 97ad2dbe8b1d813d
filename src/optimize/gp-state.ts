/**
 * The JSON-serialisable state of a fitted Gaussian process: everything needed to rebuild it and
 * predict without refitting (gp.ts builds and reads it; a stored tuning run keeps one per surrogate).
 */

/** Fitted GP hyperparameters in natural units (inputs in [0,1], outputs standardised). */
export interface GpHyperparameters {
  readonly lengthscales: readonly number[];
  readonly signalVariance: number;
  readonly noiseVariance: number;
}

export interface GpState {
  readonly dims: number;
  /** n×d inputs in [0,1]^dims, row-major. */
  readonly x: readonly number[];
  /** Raw (unstandardised) outputs. */
  readonly y: readonly number[];
  /** Known per-observation noise variances in raw output units (optional). */
  readonly yNoiseVar?: readonly number[];
  readonly yMean: number;
  readonly yStd: number;
  readonly hyper: GpHyperparameters;
  /** Negative log posterior at the fit (lower is better). */
  readonly nlp: number;
}

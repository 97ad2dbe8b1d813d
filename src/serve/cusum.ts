/**
 * Two-sided CUSUM (Page's test) on a stream of observations, standardised by a noise band learned
 * from the first `calibration` observations: a sequential test, so a small persistent shift is
 * detected after a few observations and noise alone rarely alarms (with k = 0.5 and h = 5 the
 * in-control average run length is several hundred observations; a 2σ shift alarms in about 4).
 *
 *     z = (x − μ₀)/σ;  S⁺ = max(0, S⁺ + z − k);  S⁻ = max(0, S⁻ − z − k);  alarm when S⁺ or S⁻ > h
 *
 * μ₀ is the mean of the calibration window and σ its standard deviation, floored at `minSigma`
 * (a deterministic stream would otherwise alarm at any rounding).
 */

export interface CusumOptions {
  /** Observations that set μ₀ and σ (12). */
  readonly calibration?: number;
  /** Slack, in σ (0.5: tuned to shifts of about 1σ and more). */
  readonly k?: number;
  /** Decision threshold, in σ (5). */
  readonly h?: number;
  /** Smallest σ used (0.02: on ln ratios, 2 %). */
  readonly minSigma?: number;
}

export type CusumState = 'calibrating' | 'watching' | 'alarm';

export interface CusumView {
  readonly state: CusumState;
  readonly mean: number;
  readonly sigma: number;
  readonly up: number;
  readonly down: number;
  readonly observations: number;
}

export class Cusum {
  readonly #n: number;
  readonly #k: number;
  readonly #h: number;
  readonly #minSigma: number;
  readonly #cal: number[] = [];
  #mean = 0;
  #sigma = 0;
  #up = 0;
  #down = 0;
  #count = 0;
  #alarm: 'up' | 'down' | null = null;
  /** Observations since each statistic was last 0: the change point's estimate, and the shift's. */
  #sinceUp: number[] = [];
  #sinceDown: number[] = [];

  constructor(opts: CusumOptions = {}) {
    this.#n = opts.calibration ?? 12;
    this.#k = opts.k ?? 0.5;
    this.#h = opts.h ?? 5;
    this.#minSigma = opts.minSigma ?? 0.02;
  }

  /** Add an observation; returns the direction of a new alarm, else null. */
  add(x: number): 'up' | 'down' | null {
    if (!Number.isFinite(x)) return null;
    this.#count++;
    if (this.#cal.length < this.#n) {
      this.#cal.push(x);
      if (this.#cal.length === this.#n) {
        const m = this.#cal.reduce((a, b) => a + b, 0) / this.#n;
        const v = this.#cal.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, this.#n - 1);
        this.#mean = m;
        this.#sigma = Math.max(this.#minSigma, Math.sqrt(v));
      }
      return null;
    }
    if (this.#alarm) return null;
    const z = (x - this.#mean) / this.#sigma;
    this.#up = Math.max(0, this.#up + z - this.#k);
    this.#down = Math.max(0, this.#down - z - this.#k);
    if (this.#up === 0) this.#sinceUp = [];
    else this.#sinceUp.push(x);
    if (this.#down === 0) this.#sinceDown = [];
    else this.#sinceDown.push(x);
    if (this.#up > this.#h) this.#alarm = 'up';
    else if (this.#down > this.#h) this.#alarm = 'down';
    return this.#alarm;
  }

  /**
   * The shift's estimate: the mean of the observations since the alarming statistic was last 0
   * (CUSUM's change-point estimate), less μ₀; NaN without an alarm.
   */
  get shift(): number {
    const since = this.#alarm === 'up' ? this.#sinceUp : this.#alarm === 'down' ? this.#sinceDown : [];
    return since.length === 0 ? Number.NaN : since.reduce((a, b) => a + b, 0) / since.length - this.#mean;
  }

  /** Observations since the change point (0 without an alarm). */
  get sinceChange(): number {
    return this.#alarm === 'up' ? this.#sinceUp.length : this.#alarm === 'down' ? this.#sinceDown.length : 0;
  }

  /** Start over: calibrate again on the next observations. */
  reset(): void {
    this.#cal.length = 0;
    this.#mean = 0;
    this.#sigma = 0;
    this.#up = 0;
    this.#down = 0;
    this.#count = 0;
    this.#alarm = null;
    this.#sinceUp = [];
    this.#sinceDown = [];
  }

  get calibrated(): boolean {
    return this.#cal.length >= this.#n;
  }

  get view(): CusumView {
    return {
      state: this.#alarm ? 'alarm' : this.calibrated ? 'watching' : 'calibrating',
      mean: this.#mean,
      sigma: this.#sigma,
      up: this.#up,
      down: this.#down,
      observations: this.#count,
    };
  }
}

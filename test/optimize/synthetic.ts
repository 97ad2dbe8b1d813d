/** A synthetic constrained landscape shaped like a Jetson grid (test helper, not a test file). */
import { createKnobSpace, type KnobSpace } from '../../src/tune/knob-space.ts';
import { createRandom } from '../../src/numerics/random.ts';

export interface Synthetic {
  readonly space: KnobSpace;
  /** Noise-free log energy and log latency at a point. */
  truth(p: readonly number[]): { logE: number; logLat: number };
  /** With multiplicative noise of `cv`. */
  noisy(p: readonly number[], seed: number): { logE: number; logLat: number };
  readonly logThreshold: number;
}

export function orinLikeLandscape(sloMs = 40, cv = 0.02): Synthetic {
  const gpu = Array.from({ length: 13 }, (_, i) => 114.75e6 + i * 100e6);
  const space = createKnobSpace({ domains: { gpuHz: gpu, emcHz: [665.6e6, 2133e6, 3199e6, 4266e6], batch: [1, 2, 4, 8, 16] } });
  const truth = (p: readonly number[]) => {
    const c = space.toConfig(p);
    const fg = c.gpuMaxHz! / 1.3e9;
    const fmin = c.gpuMinHz! / 1.3e9;
    const fe = c.emcHz! / 4.266e9;
    const b = c.batch;
    // service time: compute-bound part ∝ 1/f_gpu, memory part ∝ 1/f_emc, ramp penalty when min ≪ max
    const ramp = 1 + (0.3 * (1 - fmin / fg)) / b;
    const serviceMs = ((b * 4) / fg) * ramp + (6 + b * 1.5) / fe + 2;
    const latency = serviceMs * (1 + (0.5 * (b - 1)) / b);
    const powerW = 8 + 25 * fg ** 2.2 + 6 * fe + 2 * fmin;
    const energy = (powerW * serviceMs) / b / 1000;
    return { logE: Math.log(energy), logLat: Math.log(latency) };
  };
  return {
    space,
    truth,
    noisy(p, seed) {
      const r = createRandom(seed);
      const g = () => Math.sqrt(-2 * Math.log(Math.max(r.next(), 1e-12))) * Math.cos(2 * Math.PI * r.next());
      const t = truth(p);
      return { logE: t.logE + cv * g(), logLat: t.logLat + cv * g() };
    },
    logThreshold: Math.log(sloMs),
  };
}

import { describe, expect, it } from 'vitest';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import { boardDeviation, estimateBoardOffsets, normalised, worstLatencyOffset } from '../../src/fleet/index.ts';
import type { FleetTrialRecord } from '../../src/store/index.ts';

const base: TrialMeasurement = {
  config: { batch: 1 },
  valid: true,
  energyPerQueryJ: 0.1,
  latencyP50Ms: 5,
  latencyTailMs: 8,
  tailQuantile: 0.99,
  serviceMs: 5,
  throughputQps: 200,
  powerW: 20,
  railsW: {},
  queries: 6000,
  windowS: 30,
  noise: { energyCv: 0, latencyTailCv: 0 },
};

let q = 0;
function trial(boardId: string, energy: number, tail: number, source: FleetTrialRecord['source'] = 'baseline', cv = 0): FleetTrialRecord {
  return {
    index: q,
    queueId: q++,
    boardId,
    source,
    config: { batch: 1 },
    feasible: true,
    measurement: { ...base, energyPerQueryJ: energy, latencyP50Ms: tail * 0.6, latencyTailMs: tail, noise: { energyCv: cv, latencyTailCv: cv } },
  };
}

describe('per-board offsets', () => {
  it('recovers each board’s deviation from the fleet mean from noise-free reference trials (latency from the median)', () => {
    const boards = ['a', 'b', 'c', 'd', 'e'];
    const devs = boards.map((b) => boardDeviation(b));
    const trials = boards.map((b, i) => trial(b, 0.1 * devs[i]!.energy, 8 * devs[i]!.latency));
    const off = estimateBoardOffsets(trials);
    const meanE = devs.reduce((s, d) => s + Math.log(d.energy), 0) / devs.length;
    const meanL = devs.reduce((s, d) => s + Math.log(d.latency), 0) / devs.length;
    boards.forEach((b, i) => {
      expect(off.get(b)!.energy).toBeCloseTo(Math.log(devs[i]!.energy) - meanE, 10);
      expect(off.get(b)!.latency).toBeCloseTo(Math.log(devs[i]!.latency) - meanL, 10);
    });
    // a trial normalised by its board's offset reads as the fleet mean board's
    const t = trial('c', 0.2 * devs[2]!.energy, 9, 'bo');
    expect(Math.exp(normalised(t, off).energy)).toBeCloseTo(0.2 * Math.exp(meanE), 10);
    expect(worstLatencyOffset(off)).toBeCloseTo(Math.max(...devs.map((d) => Math.log(d.latency))) - meanL, 10);
  });

  it('shrinks offsets that the measurement noise explains towards 0, and gives a board without a reference none', () => {
    // the spread between boards (±1 %) is inside the windows' noise (10 % cv): the offsets shrink to 0
    const noisy = estimateBoardOffsets([trial('a', 0.101, 8, 'baseline', 0.1), trial('b', 0.099, 8, 'baseline', 0.1), trial('c', 0.1, 8, 'bo')]);
    expect(noisy.get('a')!.energy).toBe(0);
    expect(noisy.get('c')).toMatchObject({ referenced: false, energy: 0, trials: 1 });
    // a spread well above the noise is kept almost whole
    const clear = estimateBoardOffsets([trial('a', 0.11, 8, 'baseline', 0.01), trial('b', 0.09, 8, 'baseline', 0.01), trial('c', 0.1, 8, 'baseline', 0.01)]);
    const raw = Math.log(0.11) - (Math.log(0.11) + Math.log(0.09) + Math.log(0.1)) / 3;
    expect(clear.get('a')!.energy).toBeGreaterThan(0.95 * raw);
    expect(clear.get('a')!.energy).toBeLessThanOrEqual(raw);
  });
});

import { describe, expect, it } from 'vitest';
import { coefficientOfVariation, quantileSorted } from '../../src/numerics/stats.ts';
import { MeasuredTrialRunner, replayArrivals, windowFigures } from '../../src/measure/measured-trial.ts';
import { BackendRunner, plainSender } from '../../src/workload/backend-runner.ts';
import { InputFactory } from '../../src/workload/inputs.ts';
import { requestLatenciesMs } from '../../src/workload/runner.ts';
import { FakeCpuBackend, FakeCpuDevice } from './trial-fakes.ts';

function setup(msPerSample = 10) {
  const device = new FakeCpuDevice();
  const backend = new FakeCpuBackend(device, msPerSample);
  const runner = new BackendRunner({
    kind: 'sim',
    description: 'fake',
    backend,
    inputs: InputFactory.forModel(backend.models()[0]!),
    sender: plainSender(backend, 'm'),
  });
  const trials = new MeasuredTrialRunner({ device, runner, periodMs: 10, settleS: 0, warmupS: 0.05, windowS: 0.3, repeats: 2, idleS: 0.1 });
  return { device, backend, trials };
}

describe('measured trial on a device with a power meter', () => {
  it('measures energy per query from the board power and the batch latency, per configuration', async () => {
    const { device, trials } = setup();
    const fast = await trials.measure({ cpuHz: 2e9, batch: 4 });
    const slow = await trials.measure({ cpuHz: 1e9, batch: 4 });
    expect(fast.valid).toBe(true);
    expect(slow.valid).toBe(true);
    // Batch of 4 at 10 ms/sample/GHz: 20 ms at 2 GHz, 40 ms at 1 GHz (timers only add).
    expect(fast.serviceMs).toBeGreaterThanOrEqual(20);
    expect(slow.serviceMs).toBeGreaterThanOrEqual(40);
    expect(slow.serviceMs).toBeGreaterThan(fast.serviceMs * 1.4);
    // The board draws 5 W busy at 2 GHz and 3.5 W at 1 GHz (2 W idle between batches): energy per
    // query is about busy power × batch time / 4, whatever the timers added to the batch time.
    const ratio = (m: typeof fast, busyW: number) => m.energyPerQueryJ / ((busyW * m.serviceMs) / 1000 / 4);
    expect(ratio(fast, 5)).toBeGreaterThan(0.8);
    expect(ratio(fast, 5)).toBeLessThan(1.15);
    expect(ratio(slow, 3.5)).toBeGreaterThan(0.8);
    expect(ratio(slow, 3.5)).toBeLessThan(1.15);
    expect(fast.powerW).toBeGreaterThan(4);
    expect(fast.powerW).toBeLessThanOrEqual(5.01);
    expect(fast.railsW.board).toBeCloseTo(fast.powerW, 6);
    expect(fast.latencyTailMs).toBeGreaterThanOrEqual(fast.latencyP50Ms);
    expect(fast.throughputQps).toBeGreaterThan(100);
    expect(fast.queries % 4).toBe(0);
    expect(fast.noise.energyCv).toBeGreaterThanOrEqual(0);
    expect(device.applied).toEqual([{ cpuHz: 2e9 }, { cpuHz: 1e9 }]);
    await trials.close();
    expect(device.restored?.values.cpuHz).toBe('2000000000');
    expect(device.closed).toBe(true);
    expect(device.cpuHz).toBe(2e9);
  });

  it('adds batch-fill waiting and idle power in load-aware mode', async () => {
    const { trials } = setup();
    const saturated = await trials.measure({ cpuHz: 2e9, batch: 4 });
    const loaded = await trials.measure({ cpuHz: 2e9, batch: 4 }, { rateRps: 20 });
    // At 20 req/s the first request of a batch of 4 waits for 3 more arrivals (150 ms on average).
    expect(loaded.latencyTailMs - saturated.latencyTailMs).toBeGreaterThan(100);
    // 200 ms period, ≤ 40 ms busy: ≥ 160 ms at 2 W idle = ≥ 320 mJ per batch, ≥ 80 mJ more per query.
    expect(loaded.energyPerQueryJ - saturated.energyPerQueryJ).toBeGreaterThan(0.06);
    expect(loaded.energyPerQueryJ - saturated.energyPerQueryJ).toBeLessThan(0.11);
    expect(loaded.throughputQps).toBe(20);
    await trials.close();
  });

  it('fails the trial with the reason on workload errors, a bad power read, or a clamped knob', async () => {
    const { device, backend, trials } = setup();
    backend.failing = true;
    const failed = await trials.measure({ cpuHz: 2e9, batch: 2 });
    expect(failed.valid).toBe(false);
    expect(failed.invalidReason).toMatch(/warming up: .*503 Service Unavailable: overloaded/);
    expect(Number.isNaN(failed.energyPerQueryJ)).toBe(true);
    backend.failing = false;
    device.failReads = true;
    const badPower = await trials.measure({ cpuHz: 2e9, batch: 2 });
    expect(badPower.valid).toBe(false);
    expect(badPower.invalidReason).toMatch(/power window is invalid: .*EIO reading the sensor/);
    device.failReads = false;
    device.stuckPower = true;
    const stuck = await trials.measure({ cpuHz: 2e9, batch: 2 });
    expect(stuck.valid).toBe(false);
    expect(stuck.invalidReason).toMatch(/read no energy/);
    device.stuckPower = false;
    const snapped = await trials.measure({ cpuHz: 1.4e9, batch: 2 });
    expect(snapped.valid).toBe(false);
    expect(snapped.invalidReason).toMatch(/did not take the configuration: cpuHz snapped/);
    await trials.close();
  });
});

describe('trial arithmetic', () => {
  it('quantiles, CV and batch-fill waits', () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileSorted([0, 10], 0.99)).toBeCloseTo(9.9, 10);
    expect(coefficientOfVariation([1])).toBe(0);
    expect(coefficientOfVariation([9, 11])).toBeCloseTo(Math.SQRT2 / 10, 10);
    // Poisson arrivals: the last request of each batch waits for nobody; the mean wait of the k-th
    // of b is (b − 1 − k)/λ.
    const many = requestLatenciesMs({ batch: 3, batchLatenciesMs: Array(4000).fill(10) }, 100, 7);
    const byPosition = [0, 1, 2].map((k) => many.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0) / 4000);
    expect(byPosition[0]).toBeCloseTo(30, 0);
    expect(byPosition[1]).toBeCloseTo(20, 0);
    expect(byPosition[2]).toBe(10);
    expect(requestLatenciesMs({ batch: 3, batchLatenciesMs: [10, 10] }, 100, 7)).toEqual(many.slice(0, 6));
    expect(requestLatenciesMs({ batch: 2, batchLatenciesMs: [10, 12] })).toEqual([10, 10, 12, 12]);
  });

  it('replays measured batches against Poisson arrivals: fill wait, queueing, and a growing backlog when overloaded', () => {
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    // Light load: 10 ms batches of 2 every ~50 ms. The last request of a batch waits only for it.
    const light = replayArrivals(Array(2000).fill(10), 2, 40, 3);
    expect(Math.min(...light.latenciesMs)).toBeCloseTo(10, 6);
    const meanLight = light.latenciesMs.reduce((a, b) => a + b, 0) / light.latenciesMs.length;
    expect(meanLight).toBeGreaterThan(10 + 12.5 * 0.9); // the first of two waits 25 ms on average
    expect(meanLight).toBeLessThan(10 + 12.5 * 1.2);
    // 80 % busy: batches queue behind each other, so the tail is longer than fill + batch alone.
    const busy = replayArrivals(Array(2000).fill(40), 2, 40, 3);
    const fillOnly = requestLatenciesMs({ batch: 2, batchLatenciesMs: Array(2000).fill(40) }, 40, 3);
    expect(quantileSorted(sorted(busy.latenciesMs), 0.99)).toBeGreaterThan(quantileSorted(sorted(fillOnly), 0.99) * 1.5);
    // Overloaded: 100 ms batches of 2 arrive every 50 ms: 100 batches run 10 s while they arrived
    // within ~5 s, so the last requests wait ~5 s and the device never idles.
    const over = replayArrivals(Array(100).fill(100), 2, 40, 3);
    expect(over.latenciesMs[0]!).toBeLessThan(300);
    expect(over.latenciesMs.at(-1)!).toBeGreaterThan(3500);
    expect(over.latenciesMs.at(-1)!).toBeLessThan(6500);
    const run = { batch: 2, batchLatenciesMs: Array(100).fill(100), served: 200, errors: 0, errorReasons: [], wallS: 10 };
    const f = windowFigures({ run, activeJ: 50, meanPowerW: 5, railsW: {}, durationS: 10 }, 2, 40, 2, 3);
    expect(f.energyPerQueryJ).toBeGreaterThanOrEqual(0.25);
    expect(f.energyPerQueryJ).toBeLessThan(0.25 * 1.01); // idle only before the first batch filled
    expect(f.throughputQps).toBeCloseTo(20, 0); // what the device serves, not the 40/s offered
  });
});

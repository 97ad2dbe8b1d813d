import { describe, expect, it } from 'vitest';
import { evaluateConfig, loadBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/index.ts';
import type { TrialMeasurement } from '../../src/core/measurement.ts';
import { openTrialRunner } from '../../src/measure/open-trial-runner.ts';

const board = loadBoard('orin-agx');
const low = board.gpu.freqsHz[2]!;

describe('openTrialRunner on the twin', () => {
  it('sim:<board> with the default workload is the twin’s own virtual-time trial runner', async () => {
    const runner = await openTrialRunner({ device: 'sim:orin-agx', model: 'resnet-50', noise: 0 });
    const t0 = performance.now();
    const m = await runner.measure({ batch: 8 }, { windowS: 30 });
    // 30 s windows in virtual time: real time would take at least the 30 s (bound far from both)
    expect(performance.now() - t0).toBeLessThan(30_000 / 5);
    const want = evaluateConfig('orin-agx', zooProfile('resnet-50'), { batch: 8 });
    expect(m.valid).toBe(true);
    expect(m.energyPerQueryJ).toBeCloseTo(want.energyPerQueryJ, 6);
    expect((await runner.describe()).name).toMatch(/Orin/);
    await runner.close();
  });

  it('--workload sim runs the twin in real time through device + runner + power meter, matching the twin', async () => {
    const runner = await openTrialRunner({
      device: 'sim:orin-agx',
      model: 'resnet-50',
      workload: 'sim',
      trial: { settleS: 0, warmupS: 0.05, windowS: 0.6, repeats: 1, periodMs: 5 },
    });
    const profile = zooProfile('resnet-50');
    const measured: TrialMeasurement[] = [];
    for (const config of [{ batch: 8 }, { batch: 8, gpuMinHz: low, gpuMaxHz: low }]) {
      const m = await runner.measure(config);
      const want = evaluateConfig('orin-agx', profile, config);
      expect(m.valid, m.invalidReason).toBe(true);
      // Each batch is held for the twin's period (batch / throughput), never less.
      const periodMs = (1000 * config.batch) / want.throughputQps;
      expect(m.serviceMs).toBeGreaterThanOrEqual(periodMs - 0.5);
      // On a busy host the process gets the CPU late, so batches are held longer than the period and
      // the board reads busy for that long: the energy per query grows with the measured stretch.
      // Normalised by that stretch (measured in this run) the sensors must agree with the twin.
      const stretch = m.serviceMs / periodMs;
      expect(m.energyPerQueryJ / want.energyPerQueryJ / stretch).toBeGreaterThan(0.9);
      expect(m.energyPerQueryJ / want.energyPerQueryJ / stretch).toBeLessThan(1.1);
      measured.push(m);
    }
    // The slower GPU clock holds each batch longer (3.6× the period here; far beyond any host stretch).
    expect(measured[1]!.serviceMs).toBeGreaterThan(measured[0]!.serviceMs * 2);
    await runner.close();
  });

  it('refuses --workload sim on real hardware', async () => {
    await expect(openTrialRunner({ device: 'jetson', model: 'resnet-50', workload: 'sim' })).rejects.toThrow(/simulated device only/);
  });
});

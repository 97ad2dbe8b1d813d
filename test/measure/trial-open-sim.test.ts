import { describe, expect, it } from 'vitest';
import { evaluateConfig, loadBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/index.ts';
import { openTrialRunner } from '../../src/measure/open-trial-runner.ts';

const board = loadBoard('orin-agx');
const low = board.gpu.freqsHz[2]!;

describe('openTrialRunner on the twin', () => {
  it('sim:<board> with the default workload is the twin’s own virtual-time trial runner', async () => {
    const runner = await openTrialRunner({ device: 'sim:orin-agx', model: 'resnet-50', noise: 0 });
    const t0 = performance.now();
    const m = await runner.measure({ batch: 8 }, { windowS: 30 });
    expect(performance.now() - t0).toBeLessThan(1000); // 30 s windows in virtual time
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
    for (const config of [{ batch: 8 }, { batch: 8, gpuMinHz: low, gpuMaxHz: low }]) {
      const m = await runner.measure(config);
      const want = evaluateConfig('orin-agx', profile, config);
      expect(m.valid, m.invalidReason).toBe(true);
      // Measured from the simulated board's power sensors over wall-clock time: within timer jitter.
      expect(m.energyPerQueryJ / want.energyPerQueryJ).toBeGreaterThan(0.85);
      // (On a busy host the process gets the CPU late, which stretches batches: generous above.)
      expect(m.energyPerQueryJ / want.energyPerQueryJ).toBeLessThan(1.35);
      expect(m.serviceMs).toBeGreaterThanOrEqual(want.serviceMs - 0.5);
      expect(m.serviceMs).toBeLessThan(want.serviceMs * 1.5 + 5);
    }
    await runner.close();
  });

  it('refuses --workload sim on real hardware', async () => {
    await expect(openTrialRunner({ device: 'jetson', model: 'resnet-50', workload: 'sim' })).rejects.toThrow(/simulated device only/);
  });
});

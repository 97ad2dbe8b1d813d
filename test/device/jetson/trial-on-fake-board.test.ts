import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchResult, InferenceBackend, ModelMetadata } from '../../../src/core/inference.ts';
import { openDevice } from '../../../src/device/open.ts';
import { withDeviceGuard } from '../../../src/device/safety/guard.ts';
import { MeasuredTrialRunner } from '../../../src/measure/measured-trial.ts';
import { BackendRunner, plainSender } from '../../../src/workload/backend-runner.ts';
import { InputFactory } from '../../../src/workload/inputs.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { agxOrinR36, buildBoard, treeManifest } from '../../fixtures/hardware/fake-tree.ts';

/** A model that holds each batch 2 ms per sample. */
class SleepBackend implements InferenceBackend {
  readonly kind = 'fake';
  models(): readonly ModelMetadata[] {
    return [{ name: 'm', platform: 'fake', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }];
  }
  async infer(_m: string, inputs: readonly { shape: readonly number[] }[]): Promise<BatchResult> {
    const ms = 2 * inputs[0]!.shape[0]!;
    await new Promise((r) => setTimeout(r, ms));
    return { outputs: [], serviceMs: ms };
  }
  async close(): Promise<void> {}
}

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe('a measured trial on a fake AGX Orin runs as on the twin', () => {
  it('applies the configuration, meters the INA3221 rails, and leaves the board as it was', async () => {
    const root = await buildBoard(agxOrinR36());
    roots.push(root);
    const before = await treeManifest(root);
    const device = await openDevice('jetson', { root, io: new FakeKernel(root, { kernel: 'new' }) });
    const backend = new SleepBackend();
    const runner = new BackendRunner({
      kind: 'sim',
      description: 'sleep',
      backend,
      inputs: InputFactory.forModel(backend.models()[0]!),
      sender: plainSender(backend, 'm'),
    });
    const m = await withDeviceGuard(
      device,
      async (d) => {
        const trials = new MeasuredTrialRunner({
          device: d,
          runner,
          periodMs: 10,
          settleS: 0,
          warmupS: 0.02,
          windowS: 0.3,
          repeats: 2,
          restore: false,
          owns: false,
        });
        const r = await trials.measure({ gpuMinHz: 624750000, gpuMaxHz: 1300500000, emcHz: 2133000000, cpuHz: 1497600000, batch: 4 });
        expect(await d.readClocks()).toMatchObject({ gpuMinHz: 624750000, gpuMaxHz: 1300500000, emcHz: 2133000000, cpuHz: 1497600000 });
        await trials.close();
        return r;
      },
      { file: join(tmpdir(), `pt-trial-${process.pid}.json`), log: () => {} },
    );
    expect(m.valid).toBe(true);
    expect(m.energyPerQueryJ).toBeGreaterThan(0);
    // Fixture rails sum to ~7 W (±10 % over time).
    expect(m.powerW).toBeGreaterThan(6);
    expect(m.powerW).toBeLessThan(8);
    expect(Object.keys(m.railsW).sort()).toEqual(['SUM_OF_RAILS', 'VDDQ_VDD2_1V8AO', 'VDD_CPU_CV', 'VDD_GPU_SOC', 'VIN_SYS_5V0']);
    expect(await treeManifest(root)).toEqual(before);
  });
});

import { describe, expect, it } from 'vitest';
import { computeLandscape, landscapeCsv, loadBoard } from '../../src/device/sim/index.ts';
import { landscapeConfigs, measureLandscape } from '../../src/measure/measured-landscape.ts';
import { openTrialRunner } from '../../src/measure/open-trial-runner.ts';
import { zooProfile } from '../../src/model/index.ts';
import { FakeCpuBackend, FakeCpuDevice } from './trial-fakes.ts';
import { MeasuredTrialRunner } from '../../src/measure/measured-trial.ts';
import { BackendRunner, plainSender } from '../../src/workload/backend-runner.ts';
import { InputFactory } from '../../src/workload/inputs.ts';

describe('measured landscape', () => {
  it('enumerates the grid of the knobs a device has', () => {
    const g = [1, 2, 3];
    expect(landscapeConfigs({ gpuHz: g, emcHz: [10, 20] }, [1, 4])).toHaveLength(2 * 2 * 6);
    expect(landscapeConfigs({ cpuHz: [5, 6] }, [1], 'all')).toEqual([
      { cpuHz: 5, gpuMinHz: undefined, gpuMaxHz: undefined, emcHz: undefined, batch: 1 },
      { cpuHz: 6, gpuMinHz: undefined, gpuMaxHz: undefined, emcHz: undefined, batch: 1 },
    ]);
    expect(() => landscapeConfigs({ cpuHz: [5, 6] }, [1], 7)).toThrow(/not in the device's table/);
    expect(() => landscapeConfigs({}, [0])).toThrow(/positive integers/);
  });

  it('through the twin’s trial runner (noise 0) equals the twin’s exact landscape, row for row', async () => {
    const runner = await openTrialRunner({ device: 'sim:orin-nano', model: 'mobilenet-v2', noise: 0 });
    const board = loadBoard('orin-nano');
    const cpu = board.modes.find((m) => m.name === board.defaultMode)!.cpuHz;
    const measured = await measureLandscape({ runner, model: 'mobilenet-v2', batchSizes: [1, 4], cpu });
    const exact = computeLandscape({ board: 'orin-nano', profile: zooProfile('mobilenet-v2'), batchSizes: [1, 4], cpuHz: cpu });
    expect(measured.invalid).toEqual([]);
    expect(measured.rows).toHaveLength(exact.rows.length);
    const key = (r: (typeof exact.rows)[number]) => `${r.cpu_hz}|${r.gpu_min_hz}|${r.gpu_max_hz}|${r.emc_hz}|${r.batch}`;
    const byKey = new Map(exact.rows.map((r) => [key(r), r]));
    for (const r of measured.rows) {
      const e = byKey.get(key(r))!;
      expect(r.energy_per_query_j).toBeCloseTo(e.energy_per_query_j, 9);
      expect(r.latency_p99_ms).toBeCloseTo(e.latency_p99_ms, 6);
    }
    expect(landscapeCsv(measured).split('\n')[0]).toBe(landscapeCsv(exact).split('\n')[0]);
    await runner.close();
  });

  it('in real time on a device: one row per configuration, invalid trials as NaN rows with the reason', async () => {
    const device = new FakeCpuDevice();
    const backend = new FakeCpuBackend(device, 2);
    const runner = new BackendRunner({
      kind: 'sim',
      description: 'fake',
      backend,
      inputs: InputFactory.forModel(backend.models()[0]!),
      sender: plainSender(backend, 'm'),
    });
    const trials = new MeasuredTrialRunner({ device, runner, periodMs: 10, settleS: 0, warmupS: 0, windowS: 0.1, repeats: 1 });
    let seen = 0;
    const l = await measureLandscape({
      runner: trials,
      model: 'm',
      batchSizes: [1, 2],
      cpu: 'all',
      onRow: (_r, done, total) => {
        seen = done;
        expect(total).toBe(4);
        backend.failing = done === 2; // the third configuration fails
      },
    });
    expect(seen).toBe(4);
    expect(l.rows.map((r) => [r.cpu_hz, r.batch])).toEqual([
      [1e9, 1],
      [1e9, 2],
      [2e9, 1],
      [2e9, 2],
    ]);
    expect(l.rows.map((r) => Number.isNaN(r.energy_per_query_j))).toEqual([false, false, true, false]);
    expect(l.invalid).toEqual([{ config: expect.objectContaining({ cpuHz: 2e9, batch: 1 }), reason: expect.stringMatching(/503/) }]);
    expect(Number.isNaN(l.rows[0]!.gpu_min_hz)).toBe(true);
    await trials.close();
  });
});

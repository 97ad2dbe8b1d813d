import { describe, expect, it } from 'vitest';
import type { FrequencyConfig } from '../../src/core/device.ts';
import { evaluateConfig, loadBoard, type SimLoad } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/index.ts';
import { InputFactory } from '../../src/workload/inputs.ts';
import { modelMetadata } from '../../src/workload/model-source.ts';
import { openWorkloadRunner } from '../../src/workload/open-runner.ts';
import { SimBackend } from '../../src/workload/sim-backend.ts';

const board = loadBoard('orin-agx');
const lowGpu = board.gpu.freqsHz[2]!;

describe('sim backend (the twin as an execution backend)', () => {
  const metadata = modelMetadata('resnet-50');
  const profile = zooProfile('resnet-50');

  it('holds a batch for the twin’s batch time (service + host, 1/throughput) at the active clocks and reports its energy', async () => {
    let clocks: FrequencyConfig = {};
    const backend = new SimBackend({ board: 'orin-agx', models: [{ metadata, profile }], clocks: () => clocks });
    const inputs = InputFactory.forModel(metadata).batch(8);
    const fast = await backend.infer('resnet-50', inputs);
    clocks = { gpuMinHz: lowGpu, gpuMaxHz: lowGpu };
    const t0 = performance.now();
    const slow = await backend.infer('resnet-50', inputs);
    const held = performance.now() - t0;
    const want = evaluateConfig('orin-agx', profile, { batch: 8, gpuMinHz: lowGpu, gpuMaxHz: lowGpu });
    const period = (1000 * 8) / want.throughputQps;
    expect(period).toBeGreaterThanOrEqual(want.serviceMs);
    expect(slow.serviceMs).toBeCloseTo(period, 6);
    expect(held).toBeGreaterThanOrEqual(period);
    expect(slow.serviceMs).toBeGreaterThan(fast.serviceMs * 2);
    expect(slow.energyJ).toBeCloseTo(want.energyPerQueryJ * 8, 9);
    expect(slow.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [8, 1000], data: new Float32Array(8000) }]);
    await backend.close();
    await expect(backend.infer('resnet-50', inputs)).rejects.toMatchObject({ failure: 'closed' });
  });

  it('runs one batch at a time and marks the simulated device busy while one runs, idle after', async () => {
    const loads: (SimLoad | null)[] = [];
    const device = { readClocks: async () => ({}), setLoad: (l: SimLoad | null) => void loads.push(l) };
    const backend = new SimBackend({ board: 'orin-agx', models: [{ metadata, profile }], device });
    const inputs = InputFactory.forModel(metadata).batch(2);
    const t0 = performance.now();
    const [a, b] = await Promise.all([backend.infer('resnet-50', inputs), backend.infer('resnet-50', inputs)]);
    // One batch at a time, like the board's GPU: the second waited for the first.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(a.serviceMs + b.serviceMs);
    expect(loads.map((l) => l?.batch ?? null)).toEqual([2, null, 2, null]);
  });

  it('rejects an unknown board at once and a missing input per batch', async () => {
    expect(() => new SimBackend({ board: 'tx9', models: [{ metadata, profile }] })).toThrow(/tx9/);
    const backend = new SimBackend({ board: 'orin-agx', models: [{ metadata, profile }] });
    await expect(backend.infer('resnet-50', [])).rejects.toThrow(/input "input" of model "resnet-50" is missing/);
  });

  it('as a runner: batches of a zoo model at a batch size, client-side latency ≥ the twin’s batch time', async () => {
    const runner = await openWorkloadRunner('efficientnet-b0', { kind: 'sim', board: 'orin-agx' });
    const r = await runner.run({ batch: 8, length: { batches: 10 } });
    const want = evaluateConfig('orin-agx', zooProfile('efficientnet-b0'), { batch: 8 });
    expect(r.errors).toBe(0);
    expect(r.served).toBe(80);
    for (const l of r.batchLatenciesMs) expect(l).toBeGreaterThanOrEqual((1000 * 8) / want.throughputQps);
    expect(r.energyJ).toBeCloseTo(want.energyPerQueryJ * 80, 9);
    await runner.close();
  });
});

/**
 * End to end: a tuning run with the onnx runner on the linux-cpu backend over a fake cpufreq + RAPL
 * tree. The knobs there are the CPU clock (three table values) and the batch size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrialRunner } from '../../src/measure/open-trial-runner.ts';
import { tune } from '../../src/tune/tune.ts';
import { FakeKernel } from '../fixtures/hardware/fake-kernel.ts';
import { cpufreqPolicy, raplZone, type TreeSpec, treeManifest, writeTree } from '../fixtures/hardware/fake-tree.ts';
import { writeSmallModel } from '../workload/small-model.ts';

const KHZ = [1200000, 1800000, 2400000];

/** Two acpi-cpufreq policies with a frequency table and one RAPL package zone. */
function cpuTree(): TreeSpec {
  const s: TreeSpec = {};
  for (let c = 0; c < 2; c++) {
    const policy = { id: c, cpus: [c], minKhz: KHZ[0]!, maxKhz: KHZ[2]!, curKhz: KHZ[1]!, tableKhz: [...KHZ].reverse() };
    Object.assign(s, cpufreqPolicy({ ...policy, governor: 'ondemand', governors: 'ondemand performance powersave userspace', driver: 'acpi-cpufreq' }));
  }
  return { ...s, ...raplZone('intel-rapl:0', 'package-0', 1000000, { enabled: true }) };
}

describe('tuning run with the onnx runner on linux-cpu (fake cpufreq + RAPL)', () => {
  let root: string;
  let state: string;
  let model: string;
  const saved = process.env.POLYTHROTTLE_STATE_DIR;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pt-cpu-tree-'));
    await writeTree(root, cpuTree());
    state = mkdtempSync(join(tmpdir(), 'pt-state-'));
    process.env.POLYTHROTTLE_STATE_DIR = state;
    model = writeSmallModel();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.POLYTHROTTLE_STATE_DIR;
    else process.env.POLYTHROTTLE_STATE_DIR = saved;
    for (const d of [root, state, dirname(model)]) rmSync(d, { recursive: true, force: true });
  });

  it('completes, measures only CPU clock and batch, recommends a configuration and restores the tree', async () => {
    const before = await treeManifest(root);
    const kernel = new FakeKernel(root, { raplWatts: 15 });
    const runner = await openTrialRunner({
      device: 'linux-cpu',
      model,
      workload: 'onnx',
      workloadOptions: { intraOpThreads: 1 },
      deviceOptions: { io: kernel },
      trial: { settleS: 0, warmupS: 0.05, windowS: 0.2, repeats: 1, periodMs: 20 },
    });
    const desc = await runner.describe();
    expect(desc.knobs.cpuHz).toEqual(KHZ.map((k) => k * 1000));
    expect(desc.knobs.gpuHz).toBeUndefined();
    let run: Awaited<ReturnType<typeof tune>>;
    try {
      run = await tune({ runner, model: 'bert-tiny', slo: { latencyMs: 2000, quantile: 0.95 }, budget: 5, seed: 3, batchSizes: [1, 2, 4] });
    } finally {
      await runner.close();
    }
    expect(run.trials.length).toBeGreaterThanOrEqual(5);
    for (const t of run.trials) {
      expect(t.measurement.valid, t.measurement.invalidReason).toBe(true);
      expect(t.config.gpuMinHz ?? t.config.gpuMaxHz ?? t.config.emcHz).toBeUndefined();
      expect([1, 2, 4]).toContain(t.config.batch);
      if (t.config.cpuHz !== undefined) expect(KHZ.map((k) => k * 1000)).toContain(t.config.cpuHz);
      // RAPL draws 15 W in the fake: energy per query is 15 W over the measured throughput.
      expect(t.measurement.energyPerQueryJ).toBeGreaterThan((15 / t.measurement.throughputQps) * 0.8);
      expect(t.measurement.energyPerQueryJ).toBeLessThan((15 / t.measurement.throughputQps) * 1.25);
    }
    expect(new Set(run.trials.map((t) => t.config.cpuHz)).size).toBeGreaterThan(1);
    expect(run.recommendation).not.toBeNull();
    expect(kernel.writes.some((w) => w.path.endsWith('scaling_max_freq'))).toBe(true);
    expect(await treeManifest(root)).toEqual(before);
  });
});

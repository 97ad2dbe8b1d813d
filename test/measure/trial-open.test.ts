import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrialRunner } from '../../src/measure/open-trial-runner.ts';
import { FakeKernel } from '../fixtures/hardware/fake-kernel.ts';
import { buildBoard, treeManifest, x86Desktop } from '../fixtures/hardware/fake-tree.ts';
import { type KServeFixture, startKServeFixture } from '../fixtures/kserve-fixture.ts';
import { writeSmallModel } from '../workload/small-model.ts';

const FAST = { settleS: 0, warmupS: 0.1, windowS: 0.3, repeats: 2, periodMs: 20 };

describe('openTrialRunner on a Linux CPU (fake cpufreq + RAPL tree)', () => {
  let root: string;
  let model: string;
  let state: string;
  let before: Record<string, string>;
  let srv: KServeFixture;
  const savedState = process.env.POLYTHROTTLE_STATE_DIR;
  beforeAll(async () => {
    root = await buildBoard(x86Desktop());
    before = await treeManifest(root);
    model = writeSmallModel();
    state = mkdtempSync(join(tmpdir(), 'pt-state-'));
    process.env.POLYTHROTTLE_STATE_DIR = state;
    srv = await startKServeFixture({ delayMs: 3 });
  });
  afterAll(async () => {
    await srv?.close();
    if (savedState === undefined) delete process.env.POLYTHROTTLE_STATE_DIR;
    else process.env.POLYTHROTTLE_STATE_DIR = savedState;
    for (const d of [root, dirname(model), state]) rmSync(d, { recursive: true, force: true });
  });

  it('measures the onnx runner at two CPU clocks with RAPL energy, then restores the tree', async () => {
    const kernel = new FakeKernel(root, { raplWatts: 20 });
    const runner = await openTrialRunner({
      device: 'linux-cpu',
      model,
      workload: 'onnx',
      workloadOptions: { intraOpThreads: 1 },
      deviceOptions: { io: kernel },
      trial: FAST,
    });
    const desc = await runner.describe();
    expect(desc.kind).toBe('linux-cpu');
    const a = await runner.measure({ cpuHz: 2_000_000_000, batch: 4 });
    const b = await runner.measure({ cpuHz: 3_000_000_000, batch: 8 });
    for (const m of [a, b]) {
      expect(m.valid, m.invalidReason).toBe(true);
      // The fake package draws 20 W whatever runs: energy/query = 20 W / measured throughput.
      expect(m.powerW).toBeCloseTo(20, 0);
      expect(m.energyPerQueryJ).toBeGreaterThan((20 / m.throughputQps) * 0.8);
      expect(m.energyPerQueryJ).toBeLessThan((20 / m.throughputQps) * 1.2);
      expect(m.latencyTailMs).toBeGreaterThanOrEqual(m.latencyP50Ms);
      expect(m.queries).toBeGreaterThan(0);
    }
    expect(b.queries % 8).toBe(0);
    expect(kernel.writes.some((w) => w.path.endsWith('scaling_max_freq') && w.value.trim() === '3000000')).toBe(true);
    await runner.close();
    expect(await treeManifest(root)).toEqual(before);
  });

  it('builds a zoo model into the cache the first time the onnx runner needs it', async () => {
    const saved = process.env.POLYTHROTTLE_CACHE;
    process.env.POLYTHROTTLE_CACHE = join(state, 'cache');
    let built = 0;
    try {
      const open = () =>
        openTrialRunner({
          device: 'linux-cpu',
          model: 'bert-tiny',
          seq: 16,
          workload: 'onnx',
          deviceOptions: { io: new FakeKernel(root) },
          trial: FAST,
          onBuild: () => built++,
        });
      const runner = await open();
      const m = await runner.measure({ batch: 2 });
      expect(m.valid, m.invalidReason).toBe(true);
      await runner.close();
      expect(built).toBeGreaterThan(0);
      expect(existsSync(join(state, 'cache', 'models', 'bert-tiny-fp32-seq16.onnx'))).toBe(true);
      const calls = built;
      await (await open()).close(); // second time: from the cache
      expect(built).toBe(calls);
    } finally {
      if (saved === undefined) delete process.env.POLYTHROTTLE_CACHE;
      else process.env.POLYTHROTTLE_CACHE = saved;
    }
  });

  it('fails a trial with the server’s reason when the http endpoint answers errors', async () => {
    const runner = await openTrialRunner({
      device: 'linux-cpu',
      model: 'doubler',
      workload: 'http',
      workloadOptions: { url: srv.url, concurrency: 2 },
      deviceOptions: { io: new FakeKernel(root) },
      trial: FAST,
    });
    const ok = await runner.measure({ batch: 2 });
    expect(ok.valid, ok.invalidReason).toBe(true);
    expect(ok.serviceMs).toBeGreaterThanOrEqual(3);
    srv.behaviour.failStatus = 503;
    const bad = await runner.measure({ batch: 2 });
    srv.behaviour.failStatus = 0;
    expect(bad.valid).toBe(false);
    expect(bad.invalidReason).toMatch(/503 Service Unavailable: injected failure 503/);
    await runner.close();
  });

  it('runs a command workload and fails the trial on a non-zero exit', async () => {
    const script = join(state, 'bench.sh');
    writeFileSync(
      script,
      '#!/bin/sh\nif [ "$2" -gt 4 ]; then echo "CUDA out of memory at batch $2" >&2; exit 3; fi\ni=0; while [ $i -lt 20 ]; do sleep 0.01; echo "latency_ms=1.5"; i=$((i+1)); done\n',
    );
    chmodSync(script, 0o755);
    const runner = await openTrialRunner({
      device: 'linux-cpu',
      model: 'engine.plan',
      workload: 'command',
      workloadOptions: { command: `${script} {model} {batch}`, latencyPattern: 'latency_ms=([0-9.]+)' },
      deviceOptions: { io: new FakeKernel(root) },
      trial: { ...FAST, warmupS: 0 },
    });
    const ok = await runner.measure({ batch: 2 });
    expect(ok.valid, ok.invalidReason).toBe(true);
    expect(ok.latencyP50Ms).toBe(1.5);
    const oom = await runner.measure({ batch: 8 });
    expect(oom.valid).toBe(false);
    expect(oom.invalidReason).toMatch(/exited with code 3; last lines:\nCUDA out of memory at batch 8/);
    await runner.close();
  });

  it('names what is missing or wrong before opening anything', async () => {
    const io = new FakeKernel(root);
    await expect(openTrialRunner({ device: 'linux-cpu', model, workload: 'sim', deviceOptions: { io } })).rejects.toThrow(/simulated device only/);
    await expect(openTrialRunner({ device: 'linux-cpu', model, workload: 'http', deviceOptions: { io } })).rejects.toThrow(/http needs --url/);
    await expect(openTrialRunner({ device: 'linux-cpu', model, workload: 'command', deviceOptions: { io } })).rejects.toThrow(/command needs --command/);
    await expect(openTrialRunner({ device: 'linux-cpu', model: 'no-such-model', deviceOptions: { io } })).rejects.toThrow(
      /neither a zoo model nor an \.onnx file/,
    );
  });
});

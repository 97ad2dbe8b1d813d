import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startServing } from '../../src/serve/serve-session.ts';
import { killChildrenAfterEach, spawnTsx } from '../fixtures/child-process.ts';
import { FakeBackend, FakeDevice, doubleRequest, post } from './fakes.ts';

killChildrenAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'pt-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const snapshotFile = join(dir, 'snapshot.json');

describe('serve session', () => {
  it('applies the configuration, drains in-flight requests on shutdown, restores the device', async () => {
    const device = new FakeDevice();
    const backend = new FakeBackend({ fixedMs: 60, perRowMs: 0 });
    const session = await startServing({
      backend,
      device,
      snapshotFile,
      clocks: { gpuMinHz: 918_000_000, gpuMaxHz: 918_000_000 },
      slo: { latencyMs: 2000, quantile: 0.99 },
      batch: 2,
      port: 0,
      warmupBatches: 1,
    });
    expect(device.applies).toEqual([{ gpuMinHz: 918_000_000, gpuMaxHz: 918_000_000 }]);
    expect(device.clocks.gpuMinHz).toBe(918_000_000);
    const inflight = Array.from({ length: 5 }, (_, i) => post(`${session.url}/v2/models/double/infer`, doubleRequest(1, i)));
    // wait until all five reached the server (queued or running), however loaded the machine is
    const batcher = session.app.polythrottle.batcher;
    const warmupRows = backend.batches.reduce((s, b) => s + b.rows, 0);
    while (backend.batches.reduce((s, b) => s + b.rows, 0) - warmupRows + batcher.queuedRows('double') < 5) await new Promise((r) => setTimeout(r, 5));
    const done = session.shutdown();
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await done;
    expect(device.restored).not.toBeNull();
    expect(device.clocks).toEqual({ gpuMinHz: 306_000_000, gpuMaxHz: 1_300_500_000 });
    expect(backend.closed).toBe(true);
    expect(device.closed).toBe(true);
    await expect(fetch(`${session.url}/v2/health/live`)).rejects.toThrow();
    await session.shutdown(); // idempotent
    expect(device.restores).toBe(1);
  });

  it('restores the device when the server cannot start', async () => {
    const device = new FakeDevice();
    const first = await startServing({ backend: new FakeBackend(), slo: { latencyMs: 100, quantile: 0.99 }, batch: 1, port: 0, warmupBatches: 0 });
    const port = Number(new URL(first.url).port);
    await expect(
      startServing({
        backend: new FakeBackend(),
        device,
        snapshotFile,
        clocks: { gpuMaxHz: 918_000_000 },
        slo: { latencyMs: 100, quantile: 0.99 },
        batch: 1,
        port,
      }),
    ).rejects.toThrow(/port \d+ on 127.0.0.1 is already in use/);
    expect(device.restored).not.toBeNull();
    expect(device.clocks.gpuMaxHz).toBe(1_300_500_000);
    await first.shutdown();
  });

  it('meters energy from the board power sensor on a real device', async () => {
    const device = new FakeDevice('jetson');
    device.powerW = 12;
    const session = await startServing({
      backend: new FakeBackend({ fixedMs: 30, perRowMs: 0 }), // reports no energy: the meter must
      device,
      slo: { latencyMs: 1000, quantile: 0.99 },
      batch: 1,
      port: 0,
      warmupBatches: 0,
      powerSampleMs: 5,
    });
    const r = await post(`${session.url}/v2/models/double/infer`, doubleRequest(1));
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 60));
    const text = await (await fetch(`${session.url}/metrics`)).text();
    const j = Number(/polythrottle_energy_joules_total\{model="double"\} ([\d.e-]+)/.exec(text)?.[1]);
    const batchS = Number(/polythrottle_batch_duration_seconds_sum\{model="double"\} ([\d.e-]+)/.exec(text)?.[1]);
    expect(j).toBeCloseTo(12 * batchS, 2); // constant 12 W over the batch's duration
    expect(text).toMatch(/polythrottle_board_power_watts 12/);
    expect(Number(/polythrottle_board_energy_joules ([\d.e-]+)/.exec(text)?.[1])).toBeGreaterThan(0);
    await session.shutdown();
  });

  it('on SIGTERM stops accepting, finishes the in-flight request, restores the device and exits 0', async () => {
    const server = spawnTsx(fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url)), [], { SERVICE_MS: '400', POLYTHROTTLE_STATE_DIR: dir });
    const url = (await server.waitFor(/listening (\S+)/))[1]!;
    const inflight = post(`${url}/v2/models/double/infer`, doubleRequest(1));
    await server.waitFor(/batch started/);
    server.child.kill('SIGTERM');
    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('SIGTERM: draining');
    expect(server.output()).toContain('restored=true gpuMin=306000000 backendClosed=true');
  }, 20_000);
});

/**
 * The serving session is the one owner of the device's restore: exactly one restore on a normal
 * shutdown, on SIGINT / SIGTERM, on an uncaught error, when the server cannot start, and when the
 * caller had guarded the device already.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceSnapshot } from '../../src/core/device.ts';
import { guardDevice } from '../../src/device/safety/guard.ts';
import { createSimDevice } from '../../src/device/sim/index.ts';
import { serveModels } from '../../src/serve/serve-models.ts';
import { type ServeSessionOptions, shutdownOnExit, startServing } from '../../src/serve/serve-session.ts';
import { FakeBackend, FakeDevice } from './fakes.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-restore-once-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const snapshotFile = () => join(dir, `snapshot-${files++}.json`);

const sessionOptions = (device: FakeDevice): ServeSessionOptions => ({
  backend: new FakeBackend(),
  device,
  clocks: { gpuMinHz: 918_000_000 },
  slo: { latencyMs: 1000, quantile: 0.99 },
  batch: 1,
  port: 0,
  warmupBatches: 0,
  snapshotFile: snapshotFile(),
});

describe('device restore: one owner, once on every path', () => {
  it('serveModels on the twin: one restore at shutdown, none more when shut down again', async () => {
    const twin = createSimDevice('orin-agx');
    const before = await twin.readClocks();
    let restores = 0;
    const device = Object.assign(Object.create(twin) as typeof twin, {
      restore: async (s: DeviceSnapshot) => {
        restores++;
        await twin.restore(s);
      },
      close: async () => {},
    });
    const served = await serveModels({
      device,
      models: ['mobilenet-v2'],
      config: { gpuMinHz: 930_750_000, gpuMaxHz: 930_750_000 },
      batch: 2,
      slo: '500ms',
      port: 0,
      warmupBatches: 0,
    });
    expect(served.clocksApplied).toBe(true);
    expect((await twin.readClocks()).gpuMaxHz).toBe(930_750_000);
    await served.shutdown();
    await served.shutdown();
    expect(restores).toBe(1);
    expect(await twin.readClocks()).toEqual(before);
  });

  for (const [event, code] of [
    ['SIGINT', 0],
    ['SIGTERM', 0],
    ['uncaughtException', 1],
    ['unhandledRejection', 1],
  ] as const)
    it(`${event}: restores once (${event.startsWith('SIG') ? 'a second signal while draining restores at once' : 'a second error while draining changes nothing'}), exit code ${code}`, async () => {
      const device = new FakeDevice();
      const opts = sessionOptions(device);
      const session = await startServing(opts);
      expect(existsSync(opts.snapshotFile!)).toBe(true);
      const events = new EventEmitter();
      const lines: string[] = [];
      const exited = shutdownOnExit(session, { events, log: (l) => lines.push(l) });
      const payload = event.startsWith('SIG') ? event : new Error('boom');
      events.emit(event, payload);
      events.emit(event, payload);
      expect(await exited).toBe(code);
      expect(device.restores).toBe(1);
      expect(device.clocks.gpuMinHz).toBe(306_000_000);
      expect(device.closed).toBe(true);
      expect(existsSync(opts.snapshotFile!)).toBe(false);
      expect(lines.join('\n')).toMatch(
        event.startsWith('SIG')
          ? new RegExp(`${event} again: closing every connection, restoring the device and exiting now`)
          : /while draining: still draining/,
      );
      expect(events.listenerCount(event)).toBe(0);
    });

  it('restores once when the server cannot start', async () => {
    const first = await startServing({ backend: new FakeBackend(), slo: { latencyMs: 100, quantile: 0.99 }, batch: 1, port: 0, warmupBatches: 0 });
    const device = new FakeDevice();
    const backend = new FakeBackend();
    await expect(startServing({ ...sessionOptions(device), backend, port: Number(new URL(first.url).port) })).rejects.toThrow(/already in use/);
    expect(device.restores).toBe(1);
    expect(device.closed).toBe(true);
    expect(backend.closed).toBe(true);
    await first.shutdown();
  });

  it('restores once when the caller had guarded the device already', async () => {
    const device = new FakeDevice();
    const file = snapshotFile();
    const session = await startServing({ ...sessionOptions(device), device: guardDevice(device, { file, log: () => {} }) });
    await session.shutdown();
    expect(device.restores).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('a failed restore is tried once, reported, and the device is still closed (its snapshot file kept)', async () => {
    const device = new FakeDevice();
    const opts = sessionOptions(device);
    const session = await startServing(opts);
    device.failRestore = true;
    await expect(session.shutdown()).rejects.toThrow(/shutdown finished with errors: EBUSY/);
    await expect(session.shutdown()).rejects.toThrow(/EBUSY/);
    expect(device.restores).toBe(1);
    expect(device.closed).toBe(true);
    expect(existsSync(opts.snapshotFile!)).toBe(true);
  });
});

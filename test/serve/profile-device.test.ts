/**
 * `serve --profile` serves on the device the profile was tuned on: `--device auto` (the default) is
 * the profile's twin, or the real board when this machine is one; an explicitly named other device
 * is refused (exit 2) unless `--force-device`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PolyThrottleError } from '../../src/core/errors.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { parseDeviceSpec } from '../../src/device/device-spec.ts';
import { openDevice } from '../../src/device/open.ts';
import { chooseServeDevice, serveModels } from '../../src/serve/serve-models.ts';
import { loadProfileFile } from '../../src/serve/serving-config.ts';
import { killChildrenAfterEach, spawnTsx } from '../fixtures/child-process.ts';
import { runCli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'serve-profile-device-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
killChildrenAfterEach();

const config = { gpuMinHz: 930_750_000, gpuMaxHz: 930_750_000, batch: 2 };
const measurement = {
  config,
  valid: true,
  energyPerQueryJ: 0.05,
  latencyP50Ms: 8,
  latencyTailMs: 12,
  tailQuantile: 0.99,
  serviceMs: 6,
  throughputQps: 300,
  powerW: 20,
  railsW: {},
  queries: 1000,
  windowS: 3,
  noise: { energyCv: 0, latencyTailCv: 0 },
};
const tunedOn = (id: string, kind: 'sim' | 'jetson', name: string): TuningRun => ({
  id: `run-${kind}`,
  createdAt: '2026-12-04T00:00:00Z',
  device: { id, kind, name, knobs: {}, presets: [], rails: [], missing: [], warnings: [] },
  model: 'mobilenet-v2',
  slo: { latencyMs: 100, quantile: 0.99 },
  optimizer: 'bo',
  seed: 1,
  budget: 10,
  trials: [],
  recommendation: { config, measurement },
  baselines: [],
});
const simRun = tunedOn('sim:orin-agx', 'sim', 'NVIDIA Jetson AGX Orin 64GB (simulated)');
const jetsonRun = tunedOn('jetson:tegra234', 'jetson', 'NVIDIA Jetson AGX Orin');
const profileFile = join(dir, 'sim-run.json');
writeFileSync(profileFile, JSON.stringify(simRun));

async function rejection(p: Promise<unknown>): Promise<PolyThrottleError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PolyThrottleError);
  expect((e as PolyThrottleError).exitCode).toBe(2);
  return e as PolyThrottleError;
}

describe('the device a profile is served on', () => {
  it('auto is the twin the profile was tuned on, and says so', async () => {
    expect(await chooseServeDevice(parseDeviceSpec('auto'), simRun)).toEqual({
      spec: { kind: 'sim', board: 'orin-agx' },
      note: 'device sim:orin-agx (from the profile)',
    });
    // without a profile the flag alone decides
    expect(await chooseServeDevice(parseDeviceSpec('auto'), undefined)).toEqual({ spec: { kind: 'auto' } });
  });

  it('auto is the real board when this machine is that kind of board, else a clear error', async () => {
    const onJetson = await chooseServeDevice(parseDeviceSpec('auto'), jetsonRun, { detect: async () => 'jetson' });
    expect(onJetson.spec).toEqual({ kind: 'jetson' });
    expect(onJetson.note).toBe('device jetson (from the profile)');
    const e = await rejection(chooseServeDevice(parseDeviceSpec('auto'), jetsonRun, { detect: async () => 'linux-cpu' }));
    expect(e.message).toMatch(/tuned on NVIDIA Jetson AGX Orin \(jetson:tegra234\); this machine has no jetson \(detected: linux-cpu\)/);
    expect(e.hint).toMatch(/--force-device/);
  });

  it('an explicitly named other device is refused unless --force-device', async () => {
    const e = await rejection(chooseServeDevice(parseDeviceSpec('sim:tx2'), simRun));
    expect(e.message).toMatch(/the profile was tuned on .*\(sim:orin-agx\); --device sim:tx2 names another device/);
    const forced = await chooseServeDevice(parseDeviceSpec('sim:tx2'), simRun, { force: true });
    expect(forced).toEqual({ spec: { kind: 'sim', board: 'tx2' } });
    expect((await chooseServeDevice(parseDeviceSpec('sim:orin-agx'), simRun)).spec).toEqual({ kind: 'sim', board: 'orin-agx' });
  });

  it('serveModels serves the profile on its twin with the sim backend, and refuses another device it is handed', async () => {
    const profile = await loadProfileFile(profileFile);
    const choice = await chooseServeDevice(parseDeviceSpec('auto'), profile.run);
    const served = await serveModels({ profile, device: await openDevice(choice.spec), port: 0, warmupBatches: 1, snapshotFile: join(dir, 'snap1.json') });
    try {
      expect(served.backend.kind).toBe('sim');
      expect(served.device?.id).toBe('sim:orin-agx');
    } finally {
      await served.shutdown();
    }
    const e = await rejection(serveModels({ profile, device: await openDevice('sim:tx2'), port: 0, warmupBatches: 1, snapshotFile: join(dir, 'snap2.json') }));
    expect(e.message).toMatch(/tuned on .*\(sim:orin-agx\); serving on .*\(sim:tx2\)/);
    // forced: served, with one warning naming both devices (the configuration is the profile's by hand: TX2 has other tables)
    const lines: string[] = [];
    const forced = await serveModels({
      profile,
      config: { gpuMinHz: undefined, gpuMaxHz: undefined },
      forceDevice: true,
      device: await openDevice('sim:tx2'),
      port: 0,
      warmupBatches: 1,
      snapshotFile: join(dir, 'snap3.json'),
      log: (l) => lines.push(l),
    });
    await forced.shutdown();
    expect(lines.filter((l) => l.startsWith('warning: the profile was tuned on'))).toEqual([
      expect.stringMatching(/\(sim:orin-agx\), serving on .*\(sim:tx2\) as --force-device asks$/),
    ]);
  });

  it('the CLI refuses --profile with another --device: exit 2, one error line', async () => {
    const r = await runCli('serve', '--profile', profileFile, '--device', 'sim:tx2', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: the profile was tuned on .*\(sim:orin-agx\); --device sim:tx2 names another device/);
    expect(r.err).toMatch(/--force-device/);
  });

  it('the CLI serves --profile on the twin by default and prints where the device came from', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const server = spawnTsx(main, ['serve', '--profile', profileFile, '--port', '0'], { XDG_DATA_HOME: dir, POLYTHROTTLE_STATE_DIR: dir });
    const closed = new Promise<number | null>((r) => server.child.on('close', (code) => r(code)));
    await server.waitFor(/device sim:orin-agx \(from the profile\)/);
    await server.waitFor(/model {4}mobilenet-v2 \(sim\): batch ≤ 2/);
    await server.waitFor(/admin {4}Authorization: Bearer \S+/);
    server.child.kill('SIGINT');
    expect(await closed).toBe(0);
  }, 120_000);
});

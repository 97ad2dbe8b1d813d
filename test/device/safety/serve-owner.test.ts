/** serve takes the device's lock through the same guard (GuardedDevice): one owner per device while serving too. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../../src/device/open.ts';
import { lockPathFor, processStartTime, readLock } from '../../../src/device/safety/owner-lock.ts';
import { startServing } from '../../../src/serve/serve-session.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { buildBoard, orinNanoR36, treeManifest } from '../../fixtures/hardware/fake-tree.ts';
import { FakeBackend } from '../../serve/fakes.ts';

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

describe('serve and the device lock', () => {
  it('refuses to serve on a device another live process owns (exit 2, naming it); holds the lock while serving; lets it go at shutdown', async () => {
    const root = await buildBoard(orinNanoR36());
    const state = await mkdtemp(join(tmpdir(), 'pt-serve-owner-'));
    temps.push(root, state);
    const before = await treeManifest(root);
    const snapshotFile = join(state, 'snapshot-dev.json');
    const open = () => openDevice('jetson', { root, io: new FakeKernel(root, { kernel: 'new' }) });
    const session = async () =>
      startServing({
        backend: new FakeBackend(),
        device: await open(),
        clocks: { gpuMinHz: 612_000_000, gpuMaxHz: 612_000_000 },
        slo: { latencyMs: 1000, quantile: 0.99 },
        batch: 1,
        port: 0,
        warmupBatches: 0,
        snapshotFile,
      });

    // a live holder: PID 1 with its own start time (what a running `tune` on this device leaves)
    await writeFile(
      lockPathFor(snapshotFile),
      JSON.stringify({
        format: 'polythrottle-lock/1',
        pid: 1,
        startTime: processStartTime(1),
        command: 'polythrottle tune --device jetson',
        since: '2026-12-04T20:00:00.000Z',
        what: 'jetson:tegra234',
      }),
    );
    await expect(session()).rejects.toMatchObject({
      exitCode: 2,
      message: 'jetson:tegra234 is in use by polythrottle tune --device jetson (pid 1, since 2026-12-04 20:00:00 UTC)',
    });
    expect(await treeManifest(root)).toEqual(before);
    expect(existsSync(snapshotFile)).toBe(false);

    await rm(lockPathFor(snapshotFile));
    const s = await session();
    expect((await readLock(lockPathFor(snapshotFile)))?.pid).toBe(process.pid);
    await s.shutdown();
    expect(existsSync(lockPathFor(snapshotFile))).toBe(false);
    expect(existsSync(snapshotFile)).toBe(false);
    expect(await treeManifest(root)).toEqual(before);
  });
});

/**
 * Fault injection on fake trees of every board (TX2 R32, Xavier NX R35, AGX Orin R35/R36, Orin
 * Nano R36, x86 desktop): writes failing mid-run (EIO, EACCES, EBUSY), a write failing during the
 * restore, a rail disappearing, a cap clamping a clock, and `kill -9` at seeded points of ≥ 50 runs
 * followed by the next run or `restore`. After each, the tree is byte-identical to before.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../../src/device/open.ts';
import { withDeviceGuard } from '../../../src/device/safety/guard.ts';
import { lockPathFor } from '../../../src/device/safety/owner-lock.ts';
import { restoreFromSnapshotFiles } from '../../../src/device/safety/restore-file.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { type BoardFixture, agxOrinR36, buildBoard, treeManifest } from '../../fixtures/hardware/fake-tree.ts';
import { FaultyIo } from '../../fixtures/hardware/faulty-io.ts';
import { ALL_BOARDS, killLoop, randomConfig, specOfTree } from '../../fixtures/hardware/kill-loop.ts';

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

async function setup(board: BoardFixture, kernel: ConstructorParameters<typeof FakeKernel>[1] = {}) {
  const root = await buildBoard(board);
  temps.push(root);
  const state = await mkdtemp(join(tmpdir(), 'pt-fault-state-'));
  temps.push(state);
  const spec = await specOfTree(root);
  // the options object itself (not a copy): a test may change it mid-run (a cap appearing)
  const io = new FaultyIo(new FakeKernel(root, Object.assign(kernel, { kernel: kernel.kernel ?? (spec === 'jetson' ? 'old' : 'new') })));
  const device = await openDevice(spec, { root, io });
  return { root, io, device, file: join(state, 'snapshot-dev.json'), before: await treeManifest(root) };
}

describe('writes failing mid-run on every board', () => {
  for (const board of ALL_BOARDS)
    for (const code of ['EIO', 'EACCES', 'EBUSY'] as const)
      it(`${board().name}: ${code} on a write of the second configuration → the run fails, the guard restores, the tree is as before`, async () => {
        const { root, io, device, file, before } = await setup(board());
        const logs: string[] = [];
        const run = withDeviceGuard(
          device,
          async (d) => {
            const domains = await d.domains();
            await d.apply(randomConfig(domains, 1));
            expect(existsSync(file)).toBe(true);
            io.arm({ failAt: 2, code });
            await d.apply(randomConfig(domains, 2));
          },
          { file, log: (l) => logs.push(l) },
        );
        await expect(run).rejects.toThrow(new RegExp(code === 'EACCES' ? 'permission denied' : code));
        expect(io.failed).toHaveLength(1);
        expect(logs).toContain(`restoring ${device.id} clocks (run failed)`);
        expect(await treeManifest(root)).toEqual(before);
        expect(existsSync(file)).toBe(false);
        expect(existsSync(lockPathFor(file))).toBe(false);
      });
});

describe('a write failing during the restore', () => {
  for (const board of ALL_BOARDS)
    it(`${board().name}: EBUSY on the first restore write → reported, the snapshot is kept, \`restore\` then puts everything back`, async () => {
      const { root, io, device, file, before } = await setup(board());
      const logs: string[] = [];
      await expect(
        withDeviceGuard(
          device,
          async (d) => {
            await d.apply(randomConfig(await d.domains(), 7));
            io.arm({ failAt: 1, code: 'EBUSY' });
          },
          { file, log: (l) => logs.push(l) },
        ),
      ).rejects.toThrow(/EBUSY/);
      expect(existsSync(file)).toBe(true); // not lost: the only record of the original clocks
      // the device is let go: the snapshot file now carries the duty (the next run restores it first, or `restore`)
      expect(existsSync(lockPathFor(file))).toBe(false);
      io.disarm();
      await restoreFromSnapshotFiles({ file });
      expect(await treeManifest(root)).toEqual(before);
      expect(existsSync(file)).toBe(false);
    });
});

describe('hardware changing under a run', () => {
  it('a rail disappearing mid-run: its reads fail, the clocks still come back', async () => {
    const { root, device, file, before } = await setup(agxOrinR36());
    const hwmon = join(root, 'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3');
    await withDeviceGuard(
      device,
      async (d) => {
        const sources = await d.powerSources();
        const gpuRail = sources.find((s) => s.name === 'VDD_GPU_SOC')!;
        await d.apply(randomConfig(await d.domains(), 11));
        expect(await gpuRail.read()).toBeGreaterThan(0);
        await rename(hwmon, `${hwmon}.gone`);
        await expect(gpuRail.read()).rejects.toThrow();
        await d.apply(randomConfig(await d.domains(), 12));
      },
      { file, log: () => {} },
    );
    await rename(`${hwmon}.gone`, hwmon);
    expect(await treeManifest(root)).toEqual(before);
  });

  it('a cap clamping the memory clock mid-run: the apply reports it; a restore the cap blocks keeps the snapshot until the cap is lifted', async () => {
    const kernel: { emcCapHz?: number } = {};
    const { root, device, file, before } = await setup(agxOrinR36(), kernel);
    let clamped = false;
    await expect(
      withDeviceGuard(
        device,
        async (d) => {
          await d.apply({ emcHz: 2133000000 });
          kernel.emcCapHz = 665600000; // nvpmodel / the bandwidth manager caps EMC meanwhile
          const r = await d.apply({ emcHz: 2133000000, gpuMinHz: 1300500000, gpuMaxHz: 1300500000 });
          clamped = r.adjustments.some((a) => a.knob === 'emcHz' && a.got === 665600000);
        },
        { file, log: () => {} },
      ),
    ).rejects.toThrow(/restore incomplete: .*emc\/rate is 665600000, expected 3199000000/);
    expect(clamped).toBe(true);
    expect(existsSync(file)).toBe(true);
    delete kernel.emcCapHz;
    // the next run on the device puts the earlier snapshot back before anything else
    const again = await openDevice('jetson', { root, io: new FakeKernel(root, { kernel: 'new' }) });
    const logs: string[] = [];
    await withDeviceGuard(again, async (d) => void (await d.apply({ emcHz: 204000000 })), { file, log: (l) => logs.push(l) });
    expect(logs.join('\n')).toMatch(/an earlier run \(pid \d+\) left jetson:tegra234 changed without restoring it: restoring its snapshot/);
    expect(await treeManifest(root)).toEqual(before);
  });
});

describe('a signal in the middle of an apply', () => {
  for (const board of ALL_BOARDS)
    it(`${board().name}: the restore waits for the write in flight, then refuses further writes; the tree is as before`, async () => {
      const kernel: { onWrite?: (rel: string, value: string) => Promise<void> } = {};
      const { root, device, file, before } = await setup(board(), kernel);
      const { GuardedDevice } = await import('../../../src/device/safety/guard.ts');
      const g = new GuardedDevice(device, { file, log: () => {} });
      let restoring: Promise<void> | undefined;
      // the SIGINT handler's call, made at the first write reaching the tree (the apply has more to do)
      kernel.onWrite = async () => {
        restoring ??= g.restoreOriginal('SIGINT');
      };
      const applied = g.apply(randomConfig(await g.domains(), 5));
      await applied;
      await restoring;
      expect(restoring).toBeDefined();
      await expect(g.apply(randomConfig(await g.domains(), 6))).rejects.toThrow(/is being restored \(SIGINT\): no more clock changes/);
      expect(await treeManifest(root)).toEqual(before);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(lockPathFor(file))).toBe(false);
    });
});

describe('kill -9 at seeded points', () => {
  // Runs in CI (not skipped): 60 seeded runs, 4 children at a time, each killed at a seeded write
  // (before or after it reaches the tree; during the applies or during the run's own restore).
  it('≥ 50 kills, each followed by the next run or `restore`: the tree is byte-identical every time, no snapshot lost', async () => {
    const r = await killLoop({ runs: 60, parallel: 4, maxWrite: 45 });
    const bad = r.runs.filter((x) => !x.identical || x.lostSnapshot || x.leftovers.length > 0);
    expect(bad).toEqual([]);
    expect(r.killed).toBeGreaterThanOrEqual(50);
    expect(new Set(r.runs.filter((x) => x.killed).map((x) => x.board)).size).toBe(ALL_BOARDS.length);
    expect(r.runs.some((x) => x.killed && x.recovery === 'next-run')).toBe(true);
    expect(r.runs.some((x) => x.killed && x.recovery === 'restore')).toBe(true);
  }, 240_000);
});

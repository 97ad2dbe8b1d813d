import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JetsonDevice } from '../../../src/device/jetson/index.ts';
import { DryRunIo } from '../../../src/device/sysfs.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { TABLES, agxOrinR36, buildBoard, orinNanoR36, treeManifest, tx2R32 } from '../../fixtures/hardware/fake-tree.ts';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
async function board(make: typeof tx2R32) {
  const b = make();
  const root = await buildBoard(b);
  roots.push(root);
  return { b, root };
}
const text = (root: string, rel: string) => readFile(join(root, rel), 'utf8').then((s) => s.trim());

describe('jetson apply on an old kernel (TX2, L4T R32: min above max is EINVAL)', () => {
  it('the fake refuses a min above the current max, and apply writes in the order that works', async () => {
    const { b, root } = await board(tx2R32);
    const k = new FakeKernel(root, { kernel: 'old' });
    await expect(k.write(`${b.gpuDir}/min_freq`, '1300500000')).rejects.toMatchObject({ code: 'EINVAL' });
    const dev = await JetsonDevice.open({ io: k });
    // Up: current max is 1122000000, so max must go first.
    let r = await dev.apply({ gpuMinHz: 1300500000, gpuMaxHz: 1300500000 });
    expect(r.adjustments).toEqual([]);
    expect(r.applied).toMatchObject({ gpuMinHz: 1300500000, gpuMaxHz: 1300500000 });
    // Down below the current min: min must go first.
    r = await dev.apply({ gpuMinHz: 114750000, gpuMaxHz: 216750000 });
    expect(r.adjustments).toEqual([]);
    expect(await text(root, `${b.gpuDir}/max_freq`)).toBe('216750000');
  });

  it('reports a value off the table as snapped, and what it got', async () => {
    const { root } = await board(tx2R32);
    const dev = await JetsonDevice.open({ io: new FakeKernel(root, { kernel: 'old' }) });
    const r = await dev.apply({ gpuMinHz: 1_000_000_000, gpuMaxHz: 1_300_500_000 });
    expect(r.adjustments).toEqual([expect.objectContaining({ knob: 'gpuMinHz', requested: 1_000_000_000, got: 1_032_750_000, kind: 'snapped' })]);
    expect(r.applied.gpuMinHz).toBe(1_032_750_000);
  });

  it('locks EMC before setting the rate; pins every online CPU cluster and leaves the offline one', async () => {
    const { root } = await board(tx2R32);
    const k = new FakeKernel(root, { kernel: 'old' });
    const dev = await JetsonDevice.open({ io: k });
    const r = await dev.apply({ emcHz: 1331200000, cpuHz: 1420800000 });
    expect(r.adjustments).toEqual([]);
    expect(r.applied).toMatchObject({ emcHz: 1331200000, cpuHz: 1420800000 });
    const emcWrites = k.writes.filter((w) => w.path.includes('clk/emc')).map((w) => w.path.split('/').pop());
    expect(emcWrites).toEqual(['mrq_rate_locked', 'rate']);
    expect(await text(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_min_freq')).toBe('1420800');
    expect(await text(root, 'sys/devices/system/cpu/cpufreq/policy1/scaling_min_freq')).toBe('345600');
  });

  it('an EMC rate written without the lock does not take (the fake follows BPMP)', async () => {
    const { root } = await board(tx2R32);
    const k = new FakeKernel(root);
    await k.write('sys/kernel/debug/bpmp/debug/clk/emc/rate', '204000000');
    expect(await text(root, 'sys/kernel/debug/bpmp/debug/clk/emc/rate')).toBe('1600000000');
  });
});

describe('jetson apply on a new kernel (R36) and caps', () => {
  it('reports an EMC rate clamped by the BPMP bandwidth cap, never silently accepting it', async () => {
    const { root } = await board(agxOrinR36);
    const dev = await JetsonDevice.open({ io: new FakeKernel(root, { kernel: 'new', emcCapHz: 2133000000 }) });
    const r = await dev.apply({ emcHz: 3199000000 });
    expect(r.adjustments).toEqual([expect.objectContaining({ knob: 'emcHz', requested: 3199000000, got: 2133000000, kind: 'clamped' })]);
    expect(r.applied.emcHz).toBe(2133000000);
  });

  it('on R36 also sets the EMC state and bwmgr_halt switches before the rate', async () => {
    const { root } = await board(orinNanoR36);
    const k = new FakeKernel(root, { kernel: 'new' });
    const dev = await JetsonDevice.open({ io: k });
    await dev.apply({ emcHz: 665600000, gpuMinHz: 612000000, gpuMaxHz: 612000000 });
    expect(k.writes.filter((w) => /emc|bwmgr/.test(w.path)).map((w) => w.path.split('/').pop())).toEqual(['state', 'bwmgr_halt', 'mrq_rate_locked', 'rate']);
    expect(await dev.readClocks()).toMatchObject({ emcHz: 665600000, gpuMinHz: 612000000, gpuMaxHz: 612000000 });
  });
});

describe('jetson restore', () => {
  for (const [name, make, kernel] of [
    ['TX2 R32', tx2R32, 'old'],
    ['AGX Orin R36', agxOrinR36, 'new'],
  ] as const) {
    it(`${name}: snapshot → many changes → restore leaves the tree byte-identical`, async () => {
      const { root } = await board(make);
      const before = await treeManifest(root);
      const dev = await JetsonDevice.open({ io: new FakeKernel(root, { kernel }) });
      const snap = await dev.snapshot();
      const gpu = make === tx2R32 ? TABLES.TX2_GPU : TABLES.AGX_ORIN_GPU;
      await dev.apply({ gpuMinHz: gpu[gpu.length - 1], gpuMaxHz: gpu[gpu.length - 1], emcHz: 204000000, cpuHz: 652800000 });
      await dev.apply({ gpuMinHz: gpu[0], gpuMaxHz: gpu[1] });
      expect(await treeManifest(root)).not.toEqual(before);
      await dev.restore(snap);
      expect(await treeManifest(root)).toEqual(before);
    });
  }
});

describe('dry run', () => {
  it('prints each write instead of doing it, and reports the clocks it would set', async () => {
    const { root } = await board(agxOrinR36);
    const before = await treeManifest(root);
    const lines: string[] = [];
    const dev = await JetsonDevice.open({ io: new DryRunIo(new FakeKernel(root), (l) => lines.push(l)) });
    const r = await dev.apply({ gpuMinHz: 624750000, gpuMaxHz: 624750000, emcHz: 2133000000 });
    expect(await treeManifest(root)).toEqual(before);
    expect(r.applied).toMatchObject({ gpuMinHz: 624750000, gpuMaxHz: 624750000, emcHz: 2133000000 });
    expect(lines.some((l) => /would write "624750000" to .*17000000\.gpu\/min_freq/.test(l))).toBe(true);
    expect(lines.some((l) => /would write "1" to .*mrq_rate_locked/.test(l))).toBe(true);
  });
});

describe('older and harder paths', () => {
  it('a rail-gated GPU with no devfreq node yet: powered up once, found, railgate put back', async () => {
    const { symlink, unlink } = await import('node:fs/promises');
    const { agxOrinR35 } = await import('../../fixtures/hardware/fake-tree.ts');
    const { root } = await board(agxOrinR35);
    const link = join(root, 'sys/class/devfreq/17000000.ga10b');
    await unlink(link);
    const k = new FakeKernel(root, {
      onWrite: async (rel, v) => {
        if (rel.endsWith('gpu.0/railgate_enable') && v === '0') await symlink('../../devices/17000000.ga10b/devfreq/17000000.ga10b', link).catch(() => {});
      },
    });
    const d = await (await JetsonDevice.open({ io: k })).describe();
    expect(d.knobs.gpuHz).toEqual(TABLES.AGX_ORIN_GPU);
    expect(k.writes.map((w) => `${w.path.split('/').pop()}=${w.value}`)).toEqual(['railgate_enable=0', 'railgate_enable=1']);
  });

  it('Nano-style EMC through clk/override.emc: rate then state, read back, restored', async () => {
    const { writeTree } = await import('../../fixtures/hardware/fake-tree.ts');
    const { rm: remove } = await import('node:fs/promises');
    const { root } = await board(tx2R32);
    await remove(join(root, 'sys/kernel/debug/bpmp'), { recursive: true });
    await writeTree(root, {
      'proc/device-tree/compatible': 'nvidia,p3449-0000-b00+p3448-0000-b00\0nvidia,jetson-nano\0nvidia,tegra210\0',
      'sys/kernel/debug/clk/override.emc/clk_rate': '1600000000\n',
      'sys/kernel/debug/clk/override.emc/clk_update_rate': '0\n',
      'sys/kernel/debug/clk/override.emc/clk_state': '0\n',
      'sys/kernel/debug/tegra_bwmgr/emc_min_rate': '204000000\n',
      'sys/kernel/debug/tegra_bwmgr/emc_max_rate': '1600000000\n',
    });
    const before = await treeManifest(root);
    const dev = await JetsonDevice.open({ io: new FakeKernel(root, { kernel: 'old' }) });
    expect((await dev.domains()).emcHz).toEqual([204000000, 1600000000]);
    const snap = await dev.snapshot();
    const r = await dev.apply({ emcHz: 204000000 });
    expect(r.adjustments).toEqual([]);
    expect(r.applied.emcHz).toBe(204000000);
    await dev.restore(snap);
    const after = await treeManifest(root);
    // clk_rate is the clock itself (not a knob): restore sets the request back and releases the override.
    expect({ ...after, 'sys/kernel/debug/clk/override.emc/clk_rate': '' }).toEqual({ ...before, 'sys/kernel/debug/clk/override.emc/clk_rate': '' });
  });

  it('never writes a file that is not a known knob', async () => {
    const { writeKnob } = await import('../../../src/device/sysfs.ts');
    const { root } = await board(tx2R32);
    await expect(writeKnob(new FakeKernel(root), 'etc/nv_tegra_release', 'x')).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

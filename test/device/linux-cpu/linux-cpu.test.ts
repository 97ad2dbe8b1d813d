import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinuxCpuDevice } from '../../../src/device/linux-cpu/index.ts';
import { openDevice } from '../../../src/device/open.ts';
import { PowerMeter } from '../../../src/measure/power-meter.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { buildBoard, treeManifest, x86Desktop } from '../../fixtures/hardware/fake-tree.ts';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
async function desktop() {
  const b = x86Desktop();
  const root = await buildBoard(b);
  roots.push(root);
  return { b, root };
}

describe('linux-cpu backend (x86 desktop: intel_pstate, RAPL)', () => {
  it('describes a synthesized CPU table (no scaling_available_frequencies) and the RAPL package as total', async () => {
    const { b, root } = await desktop();
    const d = await (await LinuxCpuDevice.open({ io: new FakeKernel(root) })).describe();
    expect(d.name).toMatch(/i7-10700/);
    expect(d.knobs.cpuHz).toEqual(b.expect.cpuHz);
    expect(d.knobs.gpuHz).toBeUndefined();
    expect(d.rails).toEqual([expect.objectContaining({ name: 'package-0', role: 'total' })]);
    expect(d.warnings.join()).toMatch(/intel_pstate.*lists no frequency table/);
  });

  it('openDevice("auto") picks linux-cpu here', async () => {
    const { root } = await desktop();
    const d = await openDevice('auto', { root });
    expect(d.kind).toBe('linux-cpu');
  });

  it('pins every policy (min = max) going down and up, and restores byte-identically', async () => {
    const { root } = await desktop();
    const before = await treeManifest(root);
    const dev = await LinuxCpuDevice.open({ io: new FakeKernel(root, { kernel: 'old' }) });
    const snap = await dev.snapshot();
    let r = await dev.apply({ cpuHz: 1_200_000_000 });
    expect(r.adjustments).toEqual([]);
    expect(r.applied.cpuHz).toBe(1_200_000_000);
    r = await dev.apply({ cpuHz: 4_800_000_000 });
    expect(r.adjustments).toEqual([]);
    for (let p = 0; p < 4; p++)
      expect((await readFile(join(root, `sys/devices/system/cpu/cpufreq/policy${p}/scaling_min_freq`), 'utf8')).trim()).toBe('4800000');
    await dev.restore(snap);
    expect(await treeManifest(root)).toEqual(before);
  });

  it('refuses knobs it does not have, reporting them', async () => {
    const { root } = await desktop();
    const r = await (await LinuxCpuDevice.open({ io: new FakeKernel(root) })).apply({ gpuMaxHz: 1e9 });
    expect(r.adjustments).toEqual([expect.objectContaining({ knob: 'gpuMaxHz', kind: 'refused' })]);
  });

  it('RAPL energy is counted across the counter wrap (max_energy_range_uj)', async () => {
    const { root } = await desktop();
    let t = 0;
    const dev = await LinuxCpuDevice.open({ io: new FakeKernel(root, { now: () => t, raplWatts: 20 }) });
    const meter = new PowerMeter(await dev.powerSources(), { now: () => t });
    const h = await meter.begin();
    // The fixture counter sits 0.33 J below its range: at 20 W it wraps after ~16 ms.
    for (t = 10; t <= 1000; t += 10) await meter.sample();
    t = 1000;
    const w = await meter.end(h);
    expect(w.valid).toBe(true);
    expect(w.energyJ).toBeCloseTo(20, 3);
    expect(w.meanPowerW).toBeCloseTo(20, 3);
  });

  it('as a non-root user (Linux ≥ 5.10) RAPL is reported missing with the reason, not read as zero', async () => {
    const { root } = await desktop();
    const dev = await LinuxCpuDevice.open({ io: new FakeKernel(root, { user: 'user' }) });
    const d = await dev.describe();
    expect(await dev.powerSources()).toEqual([]);
    expect(d.missing.map((m) => m.why).join('\n')).toMatch(/energy_uj is root-only since Linux 5\.10/);
    expect(d.missing.map((m) => m.why).join('\n')).toMatch(/scaling_max_freq is not writable \(not root\)/);
    await expect(dev.apply({ cpuHz: 1_200_000_000 })).rejects.toMatchObject({ code: 'PERMISSION', exitCode: 3 });
  });
});

import { describe, expect, it } from 'vitest';
import { createSimDevice, evaluateConfig, loadBoard } from '../../../src/device/sim/index.ts';
import { denseCnn } from './synthetic-profiles.ts';

const profile = denseCnn();

describe('createSimDevice', () => {
  it('describes itself like a real backend: id, knobs from its tables, presets from nvpmodel modes', async () => {
    const d = createSimDevice('orin-agx');
    expect(d.id).toBe('sim:orin-agx');
    expect(d.kind).toBe('sim');
    const desc = await d.describe();
    expect(desc.knobs.gpuHz).toEqual(loadBoard('orin-agx').gpu.freqsHz);
    expect(desc.presets.map((p) => p.name)).toEqual(['MAXN', 'MODE_15W', 'MODE_30W', 'MODE_50W']);
    expect(desc.presets[1]!.clocks.gpuMaxHz).toBe(420750000);
    expect(desc.currentMode).toBe('MAXN');
    expect(desc.warnings.join(' ')).toMatch(/sum of its rails/);
    expect(await d.domains()).toEqual(desc.knobs);
  });

  it('snaps like the kernel: max rounds down, min rounds up, EMC rounds up, and reports it', async () => {
    const d = createSimDevice('tx2');
    const r = await d.apply({ gpuMaxHz: 900e6, gpuMinHz: 300e6, emcHz: 1e9, cpuHz: 1.5e9 });
    expect(r.applied).toEqual({ gpuMaxHz: 854250000, gpuMinHz: 318750000, emcHz: 1062400000, cpuHz: 1420800000 });
    expect(r.adjustments.map((a) => [a.knob, a.kind])).toEqual([
      ['cpuHz', 'snapped'],
      ['gpuMaxHz', 'snapped'],
      ['gpuMinHz', 'snapped'],
      ['emcHz', 'snapped'],
    ]);
    expect(await d.readClocks()).toEqual(r.applied);
    const exact = await d.apply({ gpuMinHz: 522750000, gpuMaxHz: 522750000 });
    expect(exact.adjustments).toEqual([]);
  });

  it('lets max win over min, clamps to the mode caps, refuses nonsense', async () => {
    const d = createSimDevice('orin-agx', { mode: 'MODE_15W' });
    const r = await d.apply({ gpuMinHz: 1300500000, gpuMaxHz: 1300500000, emcHz: 3199000000 });
    expect(r.applied.gpuMaxHz).toBe(420750000);
    expect(r.applied.gpuMinHz).toBe(420750000);
    expect(r.applied.emcHz).toBe(2133000000);
    expect(r.adjustments.every((a) => a.kind === 'clamped')).toBe(true);
    const bad = await d.apply({ cpuHz: Number.NaN });
    expect(bad.adjustments[0]).toMatchObject({ knob: 'cpuHz', kind: 'refused' });
    expect(() => createSimDevice('orin-agx', { mode: 'TURBO' })).toThrow(/no power mode 'TURBO'/);
  });

  it('reports rail power for the current load and clocks', async () => {
    const d = createSimDevice('tx2');
    const sources = await d.powerSources();
    expect(sources.map((s) => s.name)).toContain('VDD_IN');
    const total = sources.find((s) => s.role === 'total')!;
    const idle = await total.read();
    d.setLoad({ profile, batch: 8 });
    const busy = await total.read();
    expect(busy).toBeGreaterThan(idle + 1);
    const clocks = await d.readClocks();
    expect(busy).toBeCloseTo(evaluateConfig('tx2', profile, { ...clocks, batch: 8 }, { onlineCpus: 6 }).powerW, 9);
    await d.apply({ gpuMinHz: 114750000, gpuMaxHz: 114750000 });
    expect(await total.read()).toBeLessThan(busy);
  });

  it('adds seeded noise to power readings when asked', async () => {
    const read = async (seed: number) => {
      const d = createSimDevice('xavier-nx', { noise: 0.05, seed });
      d.setLoad({ profile, batch: 4 });
      const s = (await d.powerSources())[0]!;
      return [await s.read(), await s.read(), await s.read()];
    };
    const a = await read(7);
    expect(await read(7)).toEqual(a);
    expect(await read(8)).not.toEqual(a);
    expect(new Set(a).size).toBe(3);
  });

  it('snapshots and restores every knob; refuses a foreign or corrupt snapshot', async () => {
    const d = createSimDevice('orin-nano');
    const snap = await d.snapshot();
    await d.apply({ gpuMinHz: 612000000, gpuMaxHz: 612000000, emcHz: 665600000 });
    await d.restore(snap);
    expect(await d.readClocks()).toEqual({
      cpuHz: Number(snap.values.cpuHz),
      gpuMinHz: Number(snap.values.gpuMinHz),
      gpuMaxHz: Number(snap.values.gpuMaxHz),
      emcHz: Number(snap.values.emcHz),
    });
    const other = await createSimDevice('tx2').snapshot();
    await expect(d.restore(other)).rejects.toThrow(/not sim:orin-nano/);
    await expect(d.restore({ ...snap, values: { ...snap.values, emcHz: '5' } })).rejects.toThrow(/not a sim:orin-nano table/);
    await d.close();
    await expect(d.readClocks()).rejects.toThrow(/closed/);
  });
});

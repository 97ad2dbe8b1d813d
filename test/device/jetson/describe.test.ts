import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { inventory } from '../../../src/device/inventory.ts';
import { JetsonDevice } from '../../../src/device/jetson/index.ts';
import { parseNvTegraRelease } from '../../../src/device/jetson/detect.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { JETSON_BOARDS, buildBoard } from '../../fixtures/hardware/fake-tree.ts';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe.each(JETSON_BOARDS.map((b) => [b().name, b] as const))('jetson backend on %s', (_name, make) => {
  const board = make();
  it('describes SoC, release, each knob table, rails and the total', async () => {
    const root = await buildBoard(board);
    roots.push(root);
    const dev = await JetsonDevice.open({ io: new FakeKernel(root) });
    const d = await dev.describe();
    expect(d.kind).toBe('jetson');
    expect(d.soc).toBe(board.expect.soc);
    expect(d.release).toBe(board.expect.release);
    expect(d.knobs.gpuHz).toEqual(board.expect.gpuHz);
    expect(d.knobs.emcHz).toEqual(board.expect.emcHz);
    expect(d.knobs.cpuHz).toEqual(board.expect.cpuHz);
    expect(d.rails.map((r) => r.name).sort()).toEqual([...board.expect.rails].sort());
    expect(d.rails.filter((r) => r.role === 'total').map((r) => r.name)).toEqual([board.expect.total]);
    expect(
      d.rails
        .filter((r) => r.shared)
        .map((r) => r.name)
        .sort(),
    ).toEqual([...(board.expect.shared ?? [])].sort());
    if (board.expect.currentMode) expect(d.currentMode).toBe(board.expect.currentMode);
    expect(d.warnings.join(' ')).toMatch(/nvpmodel -m.*jetson_clocks/);
    // As root nothing is missing but clusters taken offline by the power mode.
    expect(d.missing.filter((m) => !m.why.includes('offline'))).toEqual([]);
  });

  it('reads power that changes over time and is never zero', async () => {
    const root = await buildBoard(board);
    roots.push(root);
    let t = 0;
    const dev = await JetsonDevice.open({ io: new FakeKernel(root, { now: () => t }) });
    const total = (await dev.powerSources()).find((s) => s.role === 'total')!;
    t = 0;
    const a = await total.read();
    t = 250;
    const b = await total.read();
    expect(a).toBeGreaterThan(0.5);
    expect(b).not.toBe(a);
  });

  it('as a non-root user: reads work, debugfs and writes are reported missing with the reason', async () => {
    const root = await buildBoard(board);
    roots.push(root);
    const dev = await JetsonDevice.open({ io: new FakeKernel(root, { user: 'user' }) });
    const d = await dev.describe();
    expect(d.knobs.gpuHz).toEqual(board.expect.gpuHz);
    expect(d.knobs.emcHz).toBeUndefined();
    const why = d.missing.map((m) => `${m.what}: ${m.why}`).join('\n');
    expect(why).toMatch(/EMC.*root/);
    expect(why).toMatch(/GPU clock writes: .*max_freq is not writable \(not root\)/);
    await expect(dev.apply({ gpuMaxHz: board.expect.gpuHz![0] })).rejects.toThrow(/cannot write .*(min|max)_freq: permission denied/);
  });
});

describe('detection details', () => {
  it('parses nv_tegra_release lines of R32 and R36', () => {
    expect(parseNvTegraRelease('# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64, DATE: Sat Feb 19')).toEqual({
      major: 32,
      version: '32.7.1',
    });
    expect(parseNvTegraRelease('# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64')).toEqual({ major: 36, version: '36.4.7' });
    expect(parseNvTegraRelease('garbage')).toBeUndefined();
  });

  it('inventory picks the jetson backend on every board and not linux-cpu beside it', async () => {
    for (const make of JETSON_BOARDS) {
      const root = await buildBoard(make());
      roots.push(root);
      const inv = await inventory({ root });
      expect(inv.detection.spec).toBe('jetson');
      expect(inv.devices.map((d) => d.spec)).toEqual(['jetson']);
      expect(inv.devices[0]!.sensors.every((s) => s.error === undefined && s.watts! > 0)).toBe(true);
    }
  });

  it('finds the GPU by scanning even when another devfreq node comes first', async () => {
    const { tx2R32, writeTree } = await import('../../fixtures/hardware/fake-tree.ts');
    const root = await buildBoard(tx2R32());
    roots.push(root);
    await writeTree(root, {
      'sys/devices/13e10000.host1x/15340000.vic/devfreq/15340000.vic/available_frequencies': '115200000 1036800000\n',
      'sys/devices/13e10000.host1x/15340000.vic/of_node/name': 'vic\0',
      'sys/devices/13e10000.host1x/15340000.vic/devfreq/15340000.vic/device': { link: '../..' },
      'sys/class/devfreq/15340000.vic': { link: '../../devices/13e10000.host1x/15340000.vic/devfreq/15340000.vic' },
    });
    const d = await (await JetsonDevice.open({ io: new FakeKernel(root) })).describe();
    expect(d.knobs.gpuHz?.[0]).toBe(114750000);
  });
});

describe('nvpmodel', () => {
  it('parses `nvpmodel -q` and turns conf modes into presets on the device tables', async () => {
    const { parseNvpModelQuery, parseNvpModelConf, modeToPreset } = await import('../../../src/device/jetson/nvpmodel.ts');
    expect(parseNvpModelQuery('NV Power Mode: MODE_30W\n2\n')).toEqual({ name: 'MODE_30W', id: 2 });
    const [maxn, m15] = parseNvpModelConf(
      '< POWER_MODEL ID=0 NAME=MAXN >\nGPU MAX_FREQ -1\nEMC MAX_FREQ 0\n< POWER_MODEL ID=1 NAME=MODE_15W >\nCPU_A78_0 MAX_FREQ 1113600\nGPU MAX_FREQ 420750000\nEMC MAX_FREQ 2133000000\n',
    );
    const tables = { cpuHz: [729600000, 1113600000, 2201600000], gpuHz: [114750000, 420750000, 1300500000], emcHz: [204000000, 2133000000, 3199000000] };
    expect(modeToPreset(maxn!, tables)).toMatchObject({
      name: 'MAXN',
      id: 0,
      clocks: { cpuHz: 2201600000, gpuMinHz: 114750000, gpuMaxHz: 1300500000, emcHz: 3199000000 },
    });
    expect(modeToPreset(m15!, tables)).toMatchObject({ name: 'MODE_15W', budgetW: 15, clocks: { cpuHz: 1113600000, gpuMaxHz: 420750000, emcHz: 2133000000 } });
  });
});

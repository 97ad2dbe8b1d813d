import { rm } from 'node:fs/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { detectDevice, openDevice } from '../../../src/device/open.ts';
import { buildBoard, orinNanoR36 } from '../../fixtures/hardware/fake-tree.ts';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.POLYTHROTTLE_SYSFS_ROOT;
});

describe('openDevice', () => {
  it('auto falls back to the simulated AGX Orin when nothing is controllable', async () => {
    const det = await detectDevice({ root: '/nonexistent-root' });
    expect(det.spec).toBe('sim:orin-agx');
    expect(det.checks.every((c) => !c.found)).toBe(true);
    const d = await openDevice('sim:orin-agx');
    expect(d.kind).toBe('sim');
  });

  it('honours POLYTHROTTLE_SYSFS_ROOT', async () => {
    const root = await buildBoard(orinNanoR36());
    roots.push(root);
    process.env.POLYTHROTTLE_SYSFS_ROOT = root;
    const d = await openDevice('auto');
    expect(d.kind).toBe('jetson');
    expect((await d.describe()).name).toMatch(/Orin Nano/);
  });

  it('rejects an unknown spec and a non-Jetson root with one clear error', async () => {
    await expect(openDevice('tpu')).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'unknown device "tpu"' });
    await expect(openDevice('jetson', { root: '/nonexistent-root' })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/not a Jetson/),
    });
    await expect(openDevice('linux-cpu', { root: '/nonexistent-root' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});

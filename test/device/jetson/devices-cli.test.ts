import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBoard, xavierNxR35 } from '../../fixtures/hardware/fake-tree.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((res) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args],
      { cwd: REPO, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );

describe('polythrottle devices on a fake Xavier NX tree', () => {
  it('prints detection, knob tables, rails with readings, and the nvpmodel warning; --json has the same', async () => {
    const root = await buildBoard(xavierNxR35());
    roots.push(root);
    const text = await run(['devices', '--sysfs-root', root]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/jetson\s+Jetson Xavier \(tegra194\)/);
    expect(text.stdout).toMatch(/auto → jetson/);
    expect(text.stdout).toMatch(/NVIDIA Jetson Xavier NX Developer Kit/);
    expect(text.stdout).toMatch(/gpu\s+15 values, 114\.75 MHz … 1\.1093 GHz/);
    expect(text.stdout).toMatch(/emc\s+8 values, 204 MHz … 1\.8660 GHz/);
    expect(text.stdout).toMatch(/VDD_CPU_GPU_CV\s+rail\s+[\d.]+ W\s+CPU \+ GPU \+ CV accelerators \(shared rail\)/);
    expect(text.stdout).toMatch(/VDD_IN\s+total/);
    expect(text.stdout).toMatch(/nvpmodel -m/);
    const json = await run(['devices', '--sysfs-root', root, '--device', 'jetson', '--json']);
    const inv = JSON.parse(json.stdout);
    expect(inv.devices).toHaveLength(1);
    expect(inv.devices[0].description.knobs.emcHz).toHaveLength(8);
    expect(inv.devices[0].sensors.find((s: { name: string }) => s.name === 'VDD_IN').watts).toBeGreaterThan(4);
  });
});

import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { NvidiaDevice } from '../../../src/device/nvidia/index.ts';
import { parseClocksSet, parseCsvRows, parseGpuRow, parseSupportedClocks, probePowerField } from '../../../src/device/nvidia/nvidia-smi.ts';
import { openDevice } from '../../../src/device/open.ts';

const STUB_DIR = resolve(import.meta.dirname, '../../fixtures/hardware/bin');
process.env.PATH = `${STUB_DIR}${delimiter}${process.env.PATH}`;
let dir: string;
const dirs: string[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pt-nvsmi-'));
  dirs.push(dir);
  process.env.FAKE_NVSMI_STATE = join(dir, 'state.json');
  process.env.FAKE_NVSMI_LOG = join(dir, 'log');
  delete process.env.FAKE_NVSMI_USER;
  delete process.env.FAKE_NVSMI_NO_POWER;
  delete process.env.FAKE_NVSMI_GPU;
  delete process.env.FAKE_NVSMI_INSTANT;
});
/** Real nvidia-smi output of an H200 (driver 580), see fixtures/hardware/nvidia-h200/README.md. */
const h200 = (name: string) => readFileSync(resolve(import.meta.dirname, '../../fixtures/hardware/nvidia-h200', name), 'utf8');
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const calls = async () => (await readFile(join(dir, 'log'), 'utf8').catch(() => '')).trim().split('\n');

describe('nvidia-smi output parsing', () => {
  it('parses query rows, treating [N/A] and [Not Supported] as absent (never zero)', () => {
    const [row] = parseCsvRows('0, NVIDIA A100-SXM4-40GB, GPU-aa, 535.104.05, P0, 33, [N/A], 400.00, 1410, 1215, [Not Supported], 1215\n');
    const g = parseGpuRow(row!);
    expect(g).toMatchObject({ index: 0, name: 'NVIDIA A100-SXM4-40GB', temperatureC: 33, powerLimitW: 400, graphicsMHz: 1410, memoryMHz: 1215 });
    expect(g.powerW).toBeUndefined();
    expect(g.maxGraphicsMHz).toBeUndefined();
  });
  it('parses supported clocks and the -lgc / -lmc confirmations', () => {
    const m = parseSupportedClocks('1215, 1410\n1215, 1395\n1215, 210\n');
    expect(m.get(1215)).toEqual([210, 1395, 1410]);
    expect(parseClocksSet('GPU clocks set to "(gpuClkMin 1200, gpuClkMax 1500)" for GPU 00000000:01:00.0\nAll done.')).toEqual([1200, 1500]);
    expect(parseClocksSet('Memory clocks set to "(memClkMin 5001, memClkMax 5001)" for GPU 00000000:01:00.0')).toEqual([5001, 5001]);
    expect(parseClocksSet('All done.')).toBeUndefined();
  });
});

describe('nvidia backend against the nvidia-smi stub', () => {
  it('describes the GPU: supported graphics clocks (ascending, Hz) and memory clocks', async () => {
    const dev = await openDevice('nvidia');
    const d = await dev.describe();
    await dev.close();
    expect(d.name).toBe('NVIDIA GeForce RTX 3090 (GPU 0)');
    expect(d.knobs.gpuHz?.[0]).toBe(210e6);
    expect(d.knobs.gpuHz?.at(-1)).toBe(2100e6);
    expect(d.knobs.gpuHz).toHaveLength(127);
    expect(d.knobs.emcHz).toEqual([405e6, 810e6, 5001e6, 9501e6, 9751e6]);
    expect(d.missing.map((m) => m.what)).toContain('clock changes');
  });

  it('refuses clock changes without --allow-clock-changes and runs nothing', async () => {
    const dev = await NvidiaDevice.open();
    await expect(dev.apply({ gpuMinHz: 1200e6, gpuMaxHz: 1200e6 })).rejects.toThrow(/--allow-clock-changes/);
    await dev.close();
    expect((await calls()).some((c) => c.includes('-lgc'))).toBe(false);
  });

  it('locks clocks with the allowance, reports snapping, and restore resets them', async () => {
    const dev = await NvidiaDevice.open({ allowClockChanges: true });
    const snap = await dev.snapshot();
    const r = await dev.apply({ gpuMinHz: 1000e6, gpuMaxHz: 1500e6, emcHz: 5001e6 });
    expect(r.adjustments).toEqual([expect.objectContaining({ knob: 'gpuMinHz', requested: 1000e6, got: 1005e6, kind: 'snapped' })]);
    expect(r.applied).toMatchObject({ gpuMinHz: 1005e6, gpuMaxHz: 1500e6, emcHz: 5001e6 });
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({ gr: [1005, 1500], mem: [5001, 5001] });
    await dev.restore(snap);
    await dev.close();
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({ gr: null, mem: null });
    const log = await calls();
    expect(log).toContain('-i 0 -lgc 1005,1500');
    expect(log).toContain('-i 0 -rgc');
    expect(log).toContain('-i 0 -rmc');
  });

  it('without root the lock fails with one PERMISSION line', async () => {
    process.env.FAKE_NVSMI_USER = '1';
    const dev = await NvidiaDevice.open({ allowClockChanges: true });
    await expect(dev.apply({ gpuMaxHz: 1500e6 })).rejects.toMatchObject({ code: 'PERMISSION', message: expect.stringMatching(/Insufficient Permissions/) });
    await dev.close();
  });

  it('dry-run prints the nvidia-smi command instead of running it', async () => {
    const lines: string[] = [];
    const dev = await NvidiaDevice.open({ allowClockChanges: true, dryRun: true, print: (l) => lines.push(l) });
    await dev.apply({ gpuMinHz: 1500e6, gpuMaxHz: 1500e6 });
    await dev.close();
    expect(lines).toEqual(['dry-run: would run nvidia-smi -i 0 -lgc 1500,1500']);
    expect((await calls()).some((c) => c.includes('-lgc'))).toBe(false);
  });

  it('streams power.draw (W); [N/A] is a read error, not zero', async () => {
    let dev = await NvidiaDevice.open({ periodMs: 20 });
    const [src] = await dev.powerSources();
    const w = await src!.read();
    expect(w).toBeGreaterThan(70);
    expect(w).toBeLessThan(130);
    await dev.close();
    process.env.FAKE_NVSMI_NO_POWER = '1';
    dev = await NvidiaDevice.open({ periodMs: 20 });
    const [na] = await dev.powerSources();
    await expect(na!.read()).rejects.toMatchObject({ code: 'MEASUREMENT', message: expect.stringMatching(/N\/A/) });
    await dev.close();
  });
});

describe('nvidia restore after a hard kill', () => {
  it('the guard persists a snapshot before locking; restoring from the file resets the locks', async () => {
    const { guardDevice } = await import('../../../src/device/safety/guard.ts');
    const { restoreFromSnapshotFiles } = await import('../../../src/device/safety/restore-file.ts');
    const file = join(dir, 'snapshot.json');
    const guarded = guardDevice(await openDevice('nvidia', { allowClockChanges: true }), { file, log: () => {} });
    await guarded.apply({ gpuMinHz: 1500e6, gpuMaxHz: 1500e6 });
    await guarded.inner.close(); // as if the process died: no restore
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).gr).toEqual([1500, 1500]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ spec: 'nvidia', snapshot: { values: { 'graphics-clocks': 'reset' } } });
    const done = await restoreFromSnapshotFiles({ file });
    expect(done).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({ gr: null, mem: null });
  });
});

describe('real output of an H200 (driver 580)', () => {
  it('parses its query row: clocks, power, limit', () => {
    const rows = parseCsvRows(h200('query-gpu.csv'));
    expect(rows).toHaveLength(1);
    expect(parseGpuRow(rows[0]!)).toEqual({
      index: 0,
      name: 'NVIDIA H200',
      uuid: 'GPU-757f367c-c8b0-16cc-8863-2d3693ee379b',
      driver: '580.159.04',
      pstate: 'P0',
      temperatureC: 44,
      powerW: 101,
      powerLimitW: 700,
      graphicsMHz: 345,
      memoryMHz: 3201,
      maxGraphicsMHz: 1980,
      maxMemoryMHz: 3201,
    });
  });

  it('parses its supported clocks: two memory clocks, 110 graphics clocks each from 345 to 1980 MHz in 15 MHz steps', () => {
    const m = parseSupportedClocks(h200('supported-clocks.txt'));
    expect([...m.keys()].sort()).toEqual([2201, 3201]);
    const steps = Array.from({ length: 110 }, (_, i) => 345 + 15 * i);
    expect(m.get(3201)).toEqual(steps);
    expect(m.get(2201)).toEqual(steps);
  });

  it('parses its power.draw stream (each 1 s average printed twice) as watts', () => {
    const w = parseCsvRows(h200('power-stream.txt')).map(([v]) => Number(v));
    expect(w).toHaveLength(40);
    expect(w.every((x) => x > 80 && x < 100)).toBe(true);
    expect(w[0]).toBe(98.99);
  });

  it('the backend on the H200 stub: name, clock tables in Hz, live clocks, and power.draw.instant sampled', async () => {
    process.env.FAKE_NVSMI_GPU = 'h200';
    const dev = await NvidiaDevice.open({ periodMs: 20 });
    expect(dev.powerField).toBe('power.draw.instant');
    const d = await dev.describe();
    expect(d.name).toBe('NVIDIA H200 (GPU 0)');
    expect(d.release).toBe('driver 580.159.04');
    expect(d.knobs.gpuHz).toHaveLength(110);
    expect(d.knobs.gpuHz?.[0]).toBe(345e6);
    expect(d.knobs.gpuHz?.at(-1)).toBe(1980e6);
    expect(d.knobs.emcHz).toEqual([2201e6, 3201e6]);
    expect(d.rails).toEqual([expect.objectContaining({ name: 'power.draw.instant', role: 'total' })]);
    expect(d.warnings.join(' ')).not.toMatch(/1 s average/);
    expect(await dev.readClocks()).toEqual({ gpuMinHz: undefined, gpuMaxHz: 345e6, emcHz: 3201e6 });
    const [src] = await dev.powerSources();
    expect(src!.name).toBe('power.draw.instant');
    // the "Instantaneous Power Draw" of the same GPU's `nvidia-smi -q`
    const instant = Number(/GPU Power Readings[\s\S]*?Instantaneous Power Draw\s*:\s*([\d.]+) W/.exec(h200('q-clock-power-performance.txt'))![1]);
    expect(await src!.read()).toBe(instant);
    await dev.close();
    expect((await calls()).filter((c) => c.includes('power.draw.instant') && !c.includes('-lms'))).toHaveLength(1); // probed once
  });

  it('falls back to power.draw (the 1 s average) where power.draw.instant reads [N/A], and on a driver without the field', async () => {
    process.env.FAKE_NVSMI_GPU = 'h200';
    process.env.FAKE_NVSMI_INSTANT = 'na';
    expect(await probePowerField(0)).toBe('power.draw');
    const dev = await NvidiaDevice.open({ periodMs: 20 });
    expect(dev.powerField).toBe('power.draw');
    expect((await dev.describe()).warnings.join(' ')).toMatch(/no power.draw.instant: power.draw is a 1 s average/);
    const [src] = await dev.powerSources();
    const streamed = parseCsvRows(h200('power-stream.txt')).map(([v]) => Number(v));
    expect(streamed).toContain(await src!.read()); // a value of the captured stream
    await dev.close();
    delete process.env.FAKE_NVSMI_GPU;
    delete process.env.FAKE_NVSMI_INSTANT;
    expect(await probePowerField(0)).toBe('power.draw'); // the RTX 3090 stub (driver 550): "not a valid field to query"
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { applyTwinProfile, loadTwinProfile } from '../../src/device/sim/calibrate/index.ts';
import { applyRuntime, evaluateConfig, loadBoard, perturbBoard, SHIFTED_BOARDS } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { twinLandscape } from '../../src/report/twin-landscape.ts';
import { runCli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-calibrate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const board = loadBoard('orin-agx');
const g = board.gpu.freqsHz;
const e = board.emc.freqsHz;
const configs = [
  { gpuMinHz: g[12]!, gpuMaxHz: g[12]!, emcHz: e[3]!, batch: 1 },
  { gpuMinHz: g[12]!, gpuMaxHz: g[12]!, emcHz: e[3]!, batch: 16 },
  { gpuMinHz: g[3]!, gpuMaxHz: g[3]!, emcHz: e[3]!, batch: 8 },
  { gpuMinHz: g[8]!, gpuMaxHz: g[8]!, emcHz: e[1]!, batch: 4 },
  { gpuMinHz: g[0]!, gpuMaxHz: g[12]!, emcHz: e[2]!, batch: 2 },
];

/** A plain CSV of points measured on a board that is the twin with a slower GPU (eager fp32 ResNet-50). */
function plainCsv(): string {
  const profile = zooProfile('resnet-50', { dtype: 'fp32' });
  const truth = perturbBoard(applyRuntime(board, 'pytorch'), SHIFTED_BOARDS[1]!);
  const rows = configs.map((c) => {
    const v = evaluateConfig(truth, profile, c);
    return `resnet-50,${c.batch},${c.gpuMinHz},${c.gpuMaxHz},${c.emcHz},${v.latencyP50Ms},${v.powerW}`;
  });
  return `model,batch,gpu_min_hz,gpu_max_hz,emc_hz,latency_ms,power_w\n${rows.join('\n')}\n`;
}

describe('polythrottle calibrate', () => {
  it('fits a plain CSV, prints coefficients with leave-one-out error, writes a profile the twin loads', async () => {
    const csv = join(dir, 'points.csv');
    writeFileSync(csv, plainCsv());
    const out = join(dir, 'profile.json');
    const r = await runCli('calibrate', csv, '--device', 'sim:orin-agx', '--runtime', 'pytorch', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/calibrated sim:orin-agx × pytorch × resnet-50 \(fp32\) from 5 points \(csv\)/);
    expect(r.out).toMatch(/computeEfficiency\s+0\.7\d\d/);
    expect(r.out).toMatch(/leave-one-out error: latency median [\d.]+ % \(max [\d.]+ %\), power median/);
    const profile = JSON.parse(readFileSync(out, 'utf8'));
    expect(profile).toMatchObject({ format: 'polythrottle-twin-profile', board: 'orin-agx', runtime: 'pytorch', model: 'resnet-50', dtype: 'fp32' });

    // The calibrated twin behind --device sim:orin-agx --twin-profile: a landscape row matches the "measured" board.
    const land = await runCli(
      'landscape',
      '--device',
      'sim:orin-agx',
      '--twin-profile',
      out,
      '--model',
      'resnet-50',
      '--batch-sizes',
      '4',
      '--cpu-hz',
      '2201.6MHz',
    );
    expect(land.code).toBe(0);
    const row = land.out
      .split('\n')
      .find((l) => l.includes(`,${g[8]},${g[8]},${e[1]},4,`))!
      .split(',');
    const truth = evaluateConfig(perturbBoard(applyRuntime(board, 'pytorch'), SHIFTED_BOARDS[1]!), zooProfile('resnet-50', { dtype: 'fp32' }), configs[3]!);
    expect(Math.abs(Number(row[7]) / truth.latencyP50Ms - 1)).toBeLessThan(0.02);
    expect(Math.abs(Number(row[10]) / truth.powerW - 1)).toBeLessThan(0.02);
  });

  it('calibrates from a tune --json run on the twin, which records its runtime', async () => {
    const runFile = join(dir, 'run.json');
    const t = await runCli(
      'tune',
      '--device',
      'sim:orin-agx',
      '--runtime',
      'onnxruntime',
      '--model',
      'mobilenet-v2',
      '--slo',
      '100ms',
      '--budget',
      '10',
      '--no-baselines',
      '--db',
      join(dir, 'runs.db'),
      '--json',
    );
    expect(t.code).toBe(0);
    const run = JSON.parse(t.out);
    expect(run.runtime).toBe('onnxruntime');
    expect(run.modelSpec.dtype).toBe('fp32');
    writeFileSync(runFile, t.out);
    // The report's exact landscape of this run is the twin of the run's runtime.
    const land = twinLandscape(run);
    expect(land.rows).not.toBeNull();
    const row = land.rows![0]!;
    const exact = evaluateConfig(applyRuntime(board, 'onnxruntime'), zooProfile('mobilenet-v2', { dtype: 'fp32' }), {
      cpuHz: row.cpuHz,
      gpuMinHz: row.gpuMinHz,
      gpuMaxHz: row.gpuMaxHz,
      emcHz: row.emcHz,
      batch: row.batch,
    });
    expect(row.latencyP50Ms).toBeCloseTo(exact.latencyP50Ms, 6);
    const r = await runCli('calibrate', runFile, '--json');
    expect(r.code).toBe(0);
    const fit = JSON.parse(r.out);
    expect(fit).toMatchObject({ board: 'orin-agx', runtime: 'onnxruntime', model: 'mobilenet-v2', dtype: 'fp32' });
    // Points of the nominal twin (3 % noise): the fit reproduces them out of sample. A tune run's
    // points cluster near its optimum, so compute and memory efficiency are not told apart there
    // (they may trade against each other); the per-op overhead and the power coefficients are.
    expect(fit.fit.latency.looMedian).toBeLessThan(0.05);
    expect(fit.fit.power.looMedian).toBeLessThan(0.05);
    for (const k of ['launchOverhead', 'dynamicPower', 'staticPower']) expect(Math.abs(fit.coefficients[k] - 1)).toBeLessThan(0.15);
  });

  it('a run on a calibrated twin records its profile, and the report recomputes its landscape on that calibration', async () => {
    const out = join(dir, 'profile-for-run.json');
    writeFileSync(join(dir, 'points-for-run.csv'), plainCsv());
    expect((await runCli('calibrate', join(dir, 'points-for-run.csv'), '--device', 'sim:orin-agx', '--runtime', 'pytorch', '--out', out)).code).toBe(0);
    const t = await runCli(
      'tune',
      '--device',
      'sim:orin-agx',
      '--twin-profile',
      out,
      '--slo',
      '500ms',
      '--budget',
      '3',
      '--no-baselines',
      '--db',
      join(dir, 'runs-calibrated.db'),
      '--json',
    );
    expect(t.code).toBe(0);
    const run = JSON.parse(t.out);
    const tp = loadTwinProfile(out);
    expect(run.runtime).toBe('pytorch');
    expect(run.twinProfile).toMatchObject({ path: out, model: 'resnet-50', dtype: 'fp32', coefficients: tp.coefficients });
    expect(run.twinProfile.sha256).toBe(createHash('sha256').update(readFileSync(out)).digest('hex'));
    // The report's landscape is the calibrated twin's, from the run alone (the file may be gone).
    rmSync(out);
    const land = twinLandscape(run);
    expect(land.rows).not.toBeNull();
    expect(land.rows !== null && land.note).toContain(`the twin calibrated by ${out} (sha256 ${run.twinProfile.sha256.slice(0, 12)})`);
    const row = land.rows!.find((r) => r.batch === 4 && r.gpuMinHz === r.gpuMaxHz)!;
    const c = { cpuHz: row.cpuHz, gpuMinHz: row.gpuMinHz, gpuMaxHz: row.gpuMaxHz, emcHz: row.emcHz, batch: row.batch };
    const profile = zooProfile('resnet-50', { dtype: 'fp32' });
    const calibrated = evaluateConfig(applyTwinProfile(board, tp), profile, c);
    const uncalibrated = evaluateConfig(applyRuntime(board, 'pytorch'), profile, c);
    expect(row.latencyP50Ms).toBeCloseTo(calibrated.latencyP50Ms, 6);
    expect(Math.abs(row.latencyP50Ms / uncalibrated.latencyP50Ms - 1)).toBeGreaterThan(0.05);
    // A recorded coefficient that is not a positive number: no landscape, with the reason.
    const broken = twinLandscape({ ...run, twinProfile: { ...run.twinProfile, coefficients: { ...tp.coefficients, staticPower: -1 } } });
    expect(broken.rows).toBeNull();
    expect(broken.rows === null && broken.why).toMatch(/coefficient staticPower must be a positive number/);
  });

  it('devices and workload --workload sim take --runtime and --twin-profile', async () => {
    const out = join(dir, 'profile-for-devices.json');
    writeFileSync(join(dir, 'points-for-devices.csv'), plainCsv());
    expect((await runCli('calibrate', join(dir, 'points-for-devices.csv'), '--device', 'sim:orin-agx', '--runtime', 'pytorch', '--out', out)).code).toBe(0);
    const d = await runCli('devices', '--device', 'sim:orin-agx', '--twin-profile', out, '--json');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).devices[0].description.name).toMatch(/PyTorch.*\[calibrated: resnet-50\]/);
    const plain = await runCli('devices', '--device', 'sim:orin-agx', '--runtime', 'pytorch', '--json');
    expect(JSON.parse(plain.out).devices[0].description.name).toMatch(/PyTorch/);
    const noBoard = await runCli('devices', '--runtime', 'pytorch');
    expect(noBoard.code).toBe(2);
    expect(noBoard.err).toMatch(/^error: --runtime and --twin-profile shape the device twin\n/);

    // The eager twin's fp32 batch takes at least its exact service time at the top clocks (the fused
    // fp16 engine's is several times shorter), however loaded the machine.
    const w = await runCli(
      'workload',
      '--workload',
      'sim',
      '--model',
      'resnet-50',
      '--runtime',
      'pytorch',
      '--batches',
      '3',
      '--warmup-batches',
      '0',
      '--json',
    );
    expect(w.code).toBe(0);
    const top = { cpuHz: board.cpu.freqsHz.at(-1)!, gpuMinHz: g.at(-1)!, gpuMaxHz: g.at(-1)!, emcHz: e.at(-1)!, batch: 1 };
    const eager = evaluateConfig(applyRuntime(board, 'pytorch'), zooProfile('resnet-50', { dtype: 'fp32' }), top).serviceMs;
    const fused = evaluateConfig(board, zooProfile('resnet-50', { dtype: 'fp16' }), top).serviceMs;
    expect(eager).toBeGreaterThan(3 * fused);
    expect(JSON.parse(w.out).latencyMs.p50).toBeGreaterThanOrEqual(0.95 * eager);
    const wrong = await runCli('workload', '--model', 'resnet-50', '--runtime', 'pytorch');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/--runtime and --twin-profile shape the simulated board/);
  });

  it('bad input is one error line and exit code 2', async () => {
    const csv = join(dir, 'few.csv');
    writeFileSync(csv, 'batch,latency_ms,power_w\n1,2,20\n2,3,22\n');
    const few = await runCli('calibrate', csv, '--device', 'sim:orin-agx', '--model', 'resnet-50');
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/^error: .*at least 3 measured points, got 2\n$/);

    const points = join(dir, 'points2.csv');
    writeFileSync(points, plainCsv());
    const model = await runCli('calibrate', points, '--device', 'sim:orin-agx', '--model', 'bert-base');
    expect(model.code).toBe(2);
    expect(model.err).toMatch(/is of model resnet-50, not bert-base/);

    const tx2 = await runCli('calibrate', points, '--device', 'sim:tx2');
    expect(tx2.code).toBe(2);
    expect(tx2.err).toMatch(/sim:tx2 has no such configuration/);

    const neg = join(dir, 'neg.csv');
    writeFileSync(neg, 'batch,latency_ms,power_w\n1,2,20\n2,0,22\n4,5,25\n');
    const bad = await runCli('calibrate', neg, '--device', 'sim:orin-agx', '--model', 'resnet-50');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/row 2: latency_ms must be a positive number, got "0"/);

    const wrongBoard = await runCli('landscape', '--device', 'sim:tx2', '--twin-profile', join(dir, 'profile.json'), '--model', 'resnet-50');
    expect(wrongBoard.code).toBe(2);
    expect(wrongBoard.err).toMatch(/is for sim:orin-agx, not sim:tx2/);

    // On a real board --runtime shapes only the search's prior: without the prior it means nothing.
    const real = await runCli('tune', '--device', 'linux-cpu', '--runtime', 'pytorch', '--no-prior', '--dry-run');
    expect(real.code).toBe(2);
    expect(real.err).toMatch(/--runtime and --twin-profile on a real board shape the prior of the joint search/);
  });
});

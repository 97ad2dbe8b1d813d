import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/core/config.ts';
import {
  applyTwinProfile,
  calibrateTwin,
  calibrationTarget,
  loadTwinProfile,
  type MeasuredPoint,
  pointsFromCsv,
  pointsFromRun,
  readMeasuredPoints,
  writeTwinProfile,
} from '../../../src/device/sim/calibrate/index.ts';
import {
  type BoardSpec,
  SHIFTED_BOARDS,
  applyRuntime,
  createSimTrialRunner,
  evaluateConfig,
  loadBoard,
  perturbBoard,
  randomPerturbation,
} from '../../../src/device/sim/index.ts';
import type { WorkloadProfile } from '../../../src/core/workload-profile.ts';
import { zooProfile } from '../../../src/model/zoo/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-calibrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const board = loadBoard('orin-agx');
const g = board.gpu.freqsHz;
const emc = board.emc.freqsHz;
const pin = (i: number, emcHz: number, batch: number): Config => ({ gpuMinHz: g[i]!, gpuMaxHz: g[i]!, emcHz, batch });
/** Five configurations spread over batch, GPU clock and EMC clock: what a user measures first. */
const DESIGN: Config[] = [
  pin(12, emc[3]!, 1),
  pin(12, emc[3]!, 16),
  pin(3, emc[3]!, 8),
  pin(8, emc[1]!, 4),
  { gpuMinHz: g[0]!, gpuMaxHz: g[12]!, emcHz: emc[2]!, batch: 2 },
];

const exact = (truth: BoardSpec, profile: WorkloadProfile, configs: readonly Config[]): MeasuredPoint[] =>
  configs.map((config) => {
    const e = evaluateConfig(truth, profile, config);
    return { config, latencyMs: e.latencyP50Ms, powerW: e.powerW };
  });

/** Measured the way a real board is: the twin's trial runner with 3 % noise per window. */
async function measured(truth: BoardSpec, profile: WorkloadProfile, configs: readonly Config[], seed: number): Promise<MeasuredPoint[]> {
  const runner = createSimTrialRunner({ board: truth, profile, noise: 0.03, seed });
  const out: MeasuredPoint[] = [];
  for (const config of configs) {
    const m = await runner.measure(config);
    out.push({ config, latencyMs: m.latencyP50Ms, powerW: m.powerW });
  }
  await runner.close();
  return out;
}

const rel = (a: number, b: number) => Math.abs(a / b - 1);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

describe('calibrating from points of a perturbed twin recovers the perturbation', () => {
  const r50 = zooProfile('resnet-50', { dtype: 'fp16' });
  for (const p of [...SHIFTED_BOARDS, randomPerturbation(1000), randomPerturbation(1003)])
    it(`${p.name}: every fitted coefficient is the shift's (noise-free points)`, () => {
      const r = calibrateTwin({ board, profile: r50, points: exact(perturbBoard(board, p), r50, DESIGN), leaveOneOut: false });
      const c = r.coefficients;
      // Per-op overhead only shows at small batch: the looser check.
      expect(rel(c.launchOverhead, p.launchOverhead)).toBeLessThan(0.06);
      expect(rel(c.computeEfficiency, p.gpuEfficiency)).toBeLessThan(0.02);
      expect(rel(c.memoryEfficiency, p.memoryBandwidth)).toBeLessThan(0.02);
      expect(rel(c.dynamicPower, p.dynamicPower)).toBeLessThan(0.02);
      // The family does not shift static power: it must come back as 1.
      expect(rel(c.staticPower, 1)).toBeLessThan(0.02);
    });

  it('from noisy measurements (3 % per window) the shift comes back within the noise', async () => {
    const p = randomPerturbation(1001);
    const r = calibrateTwin({ board, profile: r50, points: await measured(perturbBoard(board, p), r50, DESIGN, 7), leaveOneOut: false });
    expect(rel(r.coefficients.computeEfficiency, p.gpuEfficiency)).toBeLessThan(0.08);
    expect(rel(r.coefficients.dynamicPower, p.dynamicPower)).toBeLessThan(0.1);
    // The fused engine's per-op overhead is a small share of ResNet-50's batch-1 latency, so 3 % noise
    // moves it most; what it predicts at batch 1 must still hold.
    expect(rel(r.coefficients.launchOverhead, p.launchOverhead)).toBeLessThan(0.4);
    const b1 = pin(6, emc[3]!, 1);
    expect(rel(evaluateConfig(r.board, r50, b1).latencyP50Ms, evaluateConfig(perturbBoard(board, p), r50, b1).latencyP50Ms)).toBeLessThan(0.05);
  });

  it('an eager stack measured with the fused-engine twin shows up as per-op overhead', () => {
    const p = zooProfile('mobilenet-v2', { dtype: 'fp16' });
    const truth = applyRuntime(board, 'pytorch');
    const r = calibrateTwin({ board, runtime: 'tensorrt', profile: p, points: exact(truth, p, DESIGN), leaveOneOut: false });
    expect(r.coefficients.launchOverhead).toBeGreaterThan(5);
    // Calibrated against the right runtime, nothing is left to explain.
    const right = calibrateTwin({ board, runtime: 'pytorch', profile: p, points: exact(truth, p, DESIGN), leaveOneOut: false });
    expect(rel(right.coefficients.launchOverhead, 1)).toBeLessThan(0.03);
  });
});

describe('calibration predicts what it did not see', () => {
  it('from 3 batch sizes at one clock setting it predicts the other batch sizes (perturbed twin, noisy points)', async () => {
    const p = zooProfile('efficientnet-b0', { dtype: 'fp16' });
    for (const seed of [1000, 1002]) {
      const truth = perturbBoard(board, randomPerturbation(seed));
      const at = (batch: number) => pin(9, emc[3]!, batch);
      const r = calibrateTwin({ board, profile: p, points: await measured(truth, p, [1, 4, 16].map(at), seed), leaveOneOut: false });
      for (const batch of [2, 8, 32]) {
        const want = evaluateConfig(truth, p, at(batch));
        const got = evaluateConfig(r.board, p, at(batch));
        expect(rel(got.latencyP50Ms, want.latencyP50Ms)).toBeLessThan(0.1);
        expect(rel(got.powerW, want.powerW)).toBeLessThan(0.1);
      }
    }
  });

  it('from 5 configurations it predicts held-out configurations across the clock grid (median error ≤ 10 %)', async () => {
    const p = zooProfile('resnet-50', { dtype: 'fp16' });
    const truth = perturbBoard(board, randomPerturbation(1004));
    const r = calibrateTwin({ board, profile: p, points: await measured(truth, p, DESIGN, 3), leaveOneOut: false });
    const lat: number[] = [];
    const pw: number[] = [];
    const nominalLat: number[] = [];
    for (const batch of [1, 4, 32])
      for (const i of [1, 5, 10])
        for (const e of emc) {
          const c = pin(i, e, batch);
          const want = evaluateConfig(truth, p, c);
          lat.push(rel(evaluateConfig(r.board, p, c).latencyP50Ms, want.latencyP50Ms));
          pw.push(rel(evaluateConfig(r.board, p, c).powerW, want.powerW));
          nominalLat.push(rel(evaluateConfig(board, p, c).latencyP50Ms, want.latencyP50Ms));
        }
    expect(median(lat)).toBeLessThan(0.1);
    expect(median(pw)).toBeLessThan(0.1);
    // And better than the uncalibrated twin.
    expect(median(lat)).toBeLessThan(median(nominalLat));
  });

  it('reports leave-one-out error per output', () => {
    const p = zooProfile('resnet-50', { dtype: 'fp16' });
    const r = calibrateTwin({ board, profile: p, points: exact(perturbBoard(board, randomPerturbation(1002)), p, DESIGN) });
    expect(r.fits.every((f) => f.looLatencyMs !== undefined && f.looPowerW !== undefined)).toBe(true);
    expect(r.profile.fit.latency.looMedian).toBeGreaterThanOrEqual(r.profile.fit.latency.fitMedian);
    expect(r.profile.fit.latency.looMax).toBeLessThan(0.2);
    expect(r.profile.fit.power.looMax).toBeLessThan(0.2);
  });
});

describe('the calibrated twin profile', () => {
  it('round-trips through its file and makes the board behave as calibrated', () => {
    const p = zooProfile('resnet-50', { dtype: 'fp16' });
    const truth = perturbBoard(board, SHIFTED_BOARDS[1]!);
    const r = calibrateTwin({ board, runtime: 'onnxruntime', profile: p, points: exact(truth, p, DESIGN), leaveOneOut: false });
    const file = join(dir, 'profile.json');
    writeTwinProfile(file, r.profile);
    const tp = loadTwinProfile(file);
    expect(tp).toMatchObject({ board: 'orin-agx', runtime: 'onnxruntime', model: 'resnet-50', dtype: 'fp16' });
    const calibrated = applyTwinProfile(loadBoard('orin-agx'), tp);
    expect(applyTwinProfile(loadBoard('orin-agx'), tp)).toBe(calibrated);
    for (const c of DESIGN) expect(evaluateConfig(calibrated, p, c).powerW).toBeCloseTo(evaluateConfig(r.board, p, c).powerW, 9);
    expect(() => applyTwinProfile(loadBoard('tx2'), tp)).toThrow(/for sim:orin-agx, not sim:tx2/);
  });

  it('a file that is not a twin profile is a one-line BAD_INPUT', () => {
    const file = join(dir, 'not-a-profile.json');
    writeFileSync(file, JSON.stringify({ format: 'something else' }));
    expect(() => loadTwinProfile(file)).toThrow(/not a twin profile/);
    expect(() => loadTwinProfile(join(dir, 'missing.json'))).toThrow(/cannot read twin profile/);
  });
});

describe('bad measured points are one-line errors', () => {
  const p = zooProfile('resnet-50', { dtype: 'fp16' });
  it('too few points', () => {
    expect(() => calibrateTwin({ board, profile: p, points: exact(board, p, DESIGN.slice(0, 2)) })).toThrow(/at least 3 measured points, got 2/);
  });
  it('a configuration the board does not have', () => {
    const points = exact(board, p, DESIGN.slice(0, 3));
    points[1] = { ...points[1]!, config: { ...points[1]!.config, gpuMaxHz: 1_400_000_000 } };
    expect(() => calibrateTwin({ board, profile: p, points })).toThrow(/point 2: sim:orin-agx has no such configuration: gpuMaxHz=1400000000/);
  });
  it('non-positive values in a CSV, naming the row', () => {
    const csv = 'batch,gpu_min_hz,gpu_max_hz,latency_ms,power_w\n1,1300500000,1300500000,2.5,20\n2,1300500000,1300500000,3.1,-1\n';
    expect(() => pointsFromCsv(csv, 'points.csv')).toThrow(/points.csv: row 2: power_w must be a positive number, got "-1"/);
    expect(() => pointsFromCsv('batch,power_w\n1,3\n', 'p.csv')).toThrow(/header needs batch, a latency column/);
  });
  it('a model other than the one measured', () => {
    const pts = pointsFromCsv('model,batch,latency_ms,power_w\nresnet-50,1,2,20\nresnet-50,2,3,22\nresnet-50,4,5,25\n', 'p.csv');
    expect(() => calibrationTarget(pts, { board: 'orin-agx', model: 'bert-base' }, 'p.csv')).toThrow(/p.csv is of model resnet-50, not bert-base/);
    expect(() => calibrationTarget(pts, {}, 'p.csv')).toThrow(/does not say which board/);
    expect(calibrationTarget(pts, { board: 'orin-agx', runtime: 'pytorch' }, 'p.csv')).toMatchObject({ model: 'resnet-50', runtime: 'pytorch', dtype: 'fp32' });
  });
});

describe('the three input formats', () => {
  it('a tune --json run: its valid trials, model, precision, device, runtime and rate', () => {
    const trial = (batch: number, valid = true) => ({
      config: { batch },
      measurement: { valid, latencyP50Ms: 2 * batch, powerW: 20 + batch },
    });
    const pts = pointsFromRun(
      {
        model: 'resnet-50',
        modelSpec: { name: 'resnet-50', dtype: 'fp16' },
        device: { id: 'sim:orin-agx' },
        runtime: 'pytorch',
        trials: [trial(1), trial(2, false), trial(4)],
      },
      'run.json',
    );
    expect(pts).toMatchObject({ format: 'run', model: 'resnet-50', dtype: 'fp16', device: 'sim:orin-agx', runtime: 'pytorch' });
    expect(pts.points.map((x) => x.config.batch)).toEqual([1, 4]);
  });

  it('a measured landscape CSV and a plain CSV', () => {
    const land = join(dir, 'land.csv');
    writeFileSync(
      land,
      'device,model,cpu_hz,gpu_min_hz,gpu_max_hz,emc_hz,batch,latency_p50_ms,latency_p99_ms,energy_per_query_j,power_w,throughput_qps\n' +
        'sim:orin-agx,resnet-50,2201600000,114750000,1300500000,3199000000,1,2.1,2.5,0.05,20,400\n',
    );
    const a = readMeasuredPoints(land);
    expect(a).toMatchObject({ format: 'landscape', device: 'sim:orin-agx', model: 'resnet-50' });
    expect(a.points[0]).toMatchObject({ latencyMs: 2.1, powerW: 20, config: { cpuHz: 2201600000, emcHz: 3199000000, batch: 1 } });
    const b = pointsFromCsv('batch,emc_hz,latency_ms,power_w\n8,2133000000,7.5,31\n', 'plain.csv');
    expect(b.format).toBe('csv');
    expect(b.points[0]!.config).toEqual({ batch: 8, emcHz: 2133000000 });
  });
});

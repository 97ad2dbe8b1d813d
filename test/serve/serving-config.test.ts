import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { checkConfig, loadConfigOption, loadProfileFile, parseConfigSpec, parseFrequency, resolveSlo } from '../../src/serve/serving-config.ts';
import { modelArg } from '../../src/serve/open-backend.ts';

const dir = mkdtempSync(join(tmpdir(), 'serve-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const measurement = {
  config: { gpuMinHz: 930_750_000, gpuMaxHz: 1_300_500_000, emcHz: 3_199_000_000, batch: 8 },
  valid: true,
  energyPerQueryJ: 0.33,
  latencyP50Ms: 70,
  latencyTailMs: 140,
  tailQuantile: 0.99,
  serviceMs: 63,
  throughputQps: 127,
  powerW: 41,
  railsW: {},
  queries: 1000,
  windowS: 8,
  noise: { energyCv: 0, latencyTailCv: 0 },
};
const run = (recommendation: boolean): TuningRun => ({
  id: 'run-1',
  createdAt: '2026-11-26T00:00:00Z',
  device: { id: 'sim:orin-agx', kind: 'sim', name: 'AGX Orin (simulated)', knobs: {}, presets: [], rails: [], missing: [], warnings: [] },
  model: 'bert-base',
  slo: { latencyMs: 200, quantile: 0.99 },
  optimizer: 'bo',
  seed: 1,
  budget: 30,
  trials: [],
  recommendation: recommendation ? { config: measurement.config, measurement } : null,
  ...(recommendation ? {} : { infeasibleReason: 'infeasible: the fastest configuration measured 261.0 ms at p99' }),
  baselines: [],
});

describe('configuration by hand', () => {
  it('reads frequencies with units and knob lists', () => {
    expect(parseFrequency('1300.5MHz', 'x')).toBe(1_300_500_000);
    expect(parseFrequency('1.3005 GHz', 'x')).toBe(1_300_500_000);
    expect(parseFrequency('306000000', 'x')).toBe(306_000_000);
    expect(() => parseFrequency('fast', 'gpu')).toThrow(/gpu: cannot read "fast" as a frequency/);
    expect(parseConfigSpec('cpu=2.2GHz, gpu-min=930.75MHz,gpu-max=1300.5MHz,emc=3199MHz,batch=8')).toEqual({
      cpuHz: 2_200_000_000,
      gpuMinHz: 930_750_000,
      gpuMaxHz: 1_300_500_000,
      emcHz: 3_199_000_000,
      batch: 8,
    });
    expect(() => parseConfigSpec('gpu-min=1GHz,turbo=on')).toThrow(/unknown knob "turbo"/);
    expect(() => parseConfigSpec('batch=0')).toThrow(/batch must be a positive integer/);
    expect(() => parseConfigSpec('gpu=1GHz,gpu-max=1GHz')).toThrow(/given twice/);
  });

  it('checks a configuration against the device tables, naming the table', () => {
    const domains = { gpuHz: [306_000_000, 918_000_000] };
    expect(() => checkConfig({ gpuMaxHz: 918_000_000, batch: 4 }, domains, { name: 'board' })).not.toThrow();
    expect(() => checkConfig({ gpuMaxHz: 900_000_000, batch: 4 }, domains, { name: 'board' })).toThrow(
      /does not fit board: gpuMaxHz=900000000 is not in the device's table \(306000000, 918000000\)/,
    );
    expect(() => checkConfig({ emcHz: 1, batch: 1 }, domains, { name: 'board' })).toThrow(/emcHz is not a knob of this device/);
  });

  it('reads a JSON configuration file and rejects unknown keys', async () => {
    const ok = join(dir, 'c.json');
    writeFileSync(ok, JSON.stringify({ gpuMaxHz: 918_000_000, batch: 2 }));
    expect((await loadConfigOption(ok)).config).toEqual({ gpuMaxHz: 918_000_000, batch: 2 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ gpuMax: 1 }));
    await expect(loadConfigOption(bad)).rejects.toThrow(/Unrecognized key/);
    await expect(loadConfigOption(join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
  });
});

describe('tuned profiles', () => {
  it('serves the recommendation with its SLO and measured service time', async () => {
    const f = join(dir, 'run.json');
    writeFileSync(f, JSON.stringify(run(true)));
    const p = await loadProfileFile(f);
    expect(p.profile.config).toEqual(measurement.config);
    expect(p.prior).toEqual({ batch: 8, ms: 63 });
    expect(p.profile.measured?.energyPerQueryJ).toBe(0.33);
    expect(resolveSlo(undefined, undefined, p.profile)).toEqual({ latencyMs: 200, quantile: 0.99 });
    expect(resolveSlo('0.1s', undefined, p.profile)).toEqual({ latencyMs: 100, quantile: 0.99 });
  });

  it('refuses a run without a recommendation, with the reason', async () => {
    const f = join(dir, 'infeasible.json');
    writeFileSync(f, JSON.stringify(run(false)));
    await expect(loadProfileFile(f)).rejects.toThrow(/no recommendation: infeasible: the fastest configuration measured 261.0 ms/);
  });

  it('needs an SLO from somewhere and reads it as tune does', () => {
    expect(() => resolveSlo(undefined, undefined, undefined)).toThrow(/no latency SLO/);
    expect(resolveSlo('50', undefined, undefined)).toEqual({ latencyMs: 50, quantile: 0.99 });
    expect(() => resolveSlo('-3ms', undefined, undefined)).toThrow(/cannot read latency/);
    expect(() => resolveSlo('50ms', 1.5, undefined)).toThrow(/quantile must be between 0 and 1/);
    // the quantile spellings tune takes
    expect(resolveSlo('50ms', 'p95', undefined).quantile).toBeCloseTo(0.95, 12);
    expect(resolveSlo('50ms', '99.9%', undefined).quantile).toBeCloseTo(0.999, 12);
    expect(resolveSlo('50ms', '0.9', undefined).quantile).toBe(0.9);
  });
});

describe('model arguments', () => {
  it('names a model by the zoo name, the file name, or explicitly', () => {
    expect(modelArg('bert-base')).toEqual({ name: 'bert-base', model: 'bert-base' });
    expect(modelArg('models/resnet50.onnx')).toEqual({ name: 'resnet50', model: 'models/resnet50.onnx' });
    expect(modelArg('r=models/resnet50.onnx')).toEqual({ name: 'r', model: 'models/resnet50.onnx' });
    expect(() => modelArg('a b=x.onnx')).toThrow(/must be letters, digits/);
  });
});

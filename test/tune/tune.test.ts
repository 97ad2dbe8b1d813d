import { describe, expect, it } from 'vitest';
import { configKey } from '../../src/core/config.ts';
import { createSimTrialRunner } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { poolMeasurements, recommendForSlo, tune } from '../../src/tune/index.ts';

const profile = zooProfile('efficientnet-b0');
const runner = (seed = 1) => createSimTrialRunner({ board: 'orin-agx', profile, seed });
const slo = { latencyMs: 30, quantile: 0.99 };

describe('tune on the twin', async () => {
  const run = await tune({ runner: runner(), model: 'efficientnet-b0', slo, budget: 15, seed: 2 });

  it('recommends a measured configuration that met the SLO with the margin, confirmed', () => {
    expect(run.recommendation).not.toBeNull();
    const rec = run.recommendation!;
    expect(rec.measurement.latencyTailMs).toBeLessThanOrEqual(slo.latencyMs * (1 - run.margin!));
    // the recommendation's measurement pools every window of it up to its confirmation
    const confirmAt = run.trials.findIndex((t) => t.source === 'confirm' && configKey(t.config) === configKey(rec.config));
    expect(confirmAt).toBeGreaterThan(0);
    const same = run.trials.slice(0, confirmAt + 1).filter((t) => configKey(t.config) === configKey(rec.config));
    expect(rec.measurement).toEqual(poolMeasurements(same.map((t) => t.measurement)));
    const searched = run.trials.filter((t) => t.source === 'initial' || t.source === 'bo');
    expect(searched.length).toBeLessThanOrEqual(15);
    expect(
      searched.some((t) => configKey(t.config) === configKey(rec.config)) ||
        run.trials.some((t) => t.source !== 'confirm' && configKey(t.config) === configKey(rec.config)),
    ).toBe(true);
  });

  it('records the model spec it measured: the defaults for a name, the spec as given otherwise', async () => {
    expect(run.model).toBe('efficientnet-b0');
    expect(run.modelSpec).toEqual({ name: 'efficientnet-b0', dtype: 'fp32' });
    const fp16 = { name: 'efficientnet-b0', dtype: 'fp16' } as const;
    const r16 = await tune({
      runner: createSimTrialRunner({ board: 'orin-agx', profile: zooProfile('efficientnet-b0', { dtype: 'fp16' }), seed: 1 }),
      model: fp16,
      slo,
      budget: 3,
      baselines: false,
    });
    expect(r16.model).toBe('efficientnet-b0');
    expect(r16.modelSpec).toEqual(fp16);
  });

  it('chose the CPU clock in a first phase and searched the rest with it fixed', () => {
    const cpuTrials = run.trials.filter((t) => t.source === 'cpu-phase');
    expect(cpuTrials.length).toBeGreaterThan(3);
    const chosen = run.surrogates!.fixed.cpuHz!;
    expect(cpuTrials.map((t) => t.config.cpuHz)).toContain(chosen);
    for (const t of run.trials.filter((x) => x.source === 'bo')) expect(t.config.cpuHz).toBe(chosen);
    expect(run.surrogates!.dims.map((d) => d.name)).toEqual(['gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch']);
    // the surrogates learn only from trials at the chosen CPU clock (fitted before the confirmation)
    const firstConfirm = run.trials.findIndex((t) => t.source === 'confirm');
    const onSpace = run.trials.slice(0, firstConfirm).filter((t) => t.measurement.valid && t.config.cpuHz === chosen);
    expect(run.surrogates!.objective.y).toHaveLength(onSpace.length);
  });

  it('measures the default at every batch and each preset at batch 1 and the recommended batch, with savings', () => {
    const defaults = run.baselines.filter((b) => b.name === 'default');
    expect(defaults.map((b) => b.config.batch)).toEqual([1, 2, 4, 8, 16]);
    const presets = run.device.presets.map((p) => p.name);
    for (const p of presets) {
      const batches = run.baselines.filter((b) => b.name === p).map((b) => b.config.batch);
      expect(batches).toContain(1);
      expect(batches).toContain(run.recommendation!.config.batch);
    }
    const d1 = defaults[0]!;
    expect(d1.saving).toBeCloseTo(1 - run.recommendation!.measurement.energyPerQueryJ / d1.measurement.energyPerQueryJ, 12);
    // the default (all clocks at maximum) is not the energy optimum
    expect(d1.saving!).toBeGreaterThan(0.1);
  });

  it('keeps a Pareto set and surrogates that predict the measured points', () => {
    const p = run.pareto!;
    expect(p.length).toBeGreaterThan(1);
    for (let i = 1; i < p.length; i++) {
      expect(p[i]!.latencyTailMs).toBeGreaterThanOrEqual(p[i - 1]!.latencyTailMs);
      expect(p[i]!.energyPerQueryJ).toBeLessThan(p[i - 1]!.energyPerQueryJ);
    }
    expect(Object.keys(run.lengthscales!)).toEqual(['gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch']);
  });

  it('answers a looser SLO from the run alone, and refuses another quantile', () => {
    const loose = recommendForSlo(JSON.parse(JSON.stringify(run)), { latencyMs: 100, quantile: 0.99 });
    expect(loose.measured).not.toBeNull();
    expect(loose.measured!.latencyTailMs).toBeLessThanOrEqual(100 * 0.98);
    expect(loose.measured!.energyPerQueryJ).toBeLessThanOrEqual(run.recommendation!.measurement.energyPerQueryJ * 1.03);
    expect(loose.predicted).not.toBeNull();
    expect(loose.predicted!.probabilityFeasible).toBeGreaterThanOrEqual(0.95);
    const tight = recommendForSlo(run, { latencyMs: 0.5, quantile: 0.99 });
    expect(tight.measured).toBeNull();
    expect(tight.infeasibleReason).toMatch(/^infeasible: the fastest configuration measured \d+\.\d ms at p99/);
    expect(() => recommendForSlo(run, { latencyMs: 50, quantile: 0.5 })).toThrow(/p99/);
  });
});

describe('tune edge cases', () => {
  it('says why when nothing can meet the SLO', async () => {
    const run = await tune({ runner: runner(3), model: 'efficientnet-b0', slo: { latencyMs: 1, quantile: 0.99 }, budget: 8, joint: true });
    expect(run.recommendation).toBeNull();
    expect(run.infeasibleReason).toMatch(/^infeasible: the fastest configuration measured [\d.]+ ms at p99 \(SLO 1 ms/);
    expect(run.baselines.every((b) => b.saving === null)).toBe(true);
  });

  it('searches every knob with --joint and compares against random search', async () => {
    const run = await tune({ runner: runner(4), model: 'efficientnet-b0', slo, budget: 10, joint: true, baselines: false });
    expect(run.trials.some((t) => t.source === 'cpu-phase')).toBe(false);
    expect(run.surrogates!.dims.map((d) => d.name)).toContain('cpuHz');
    const rnd = await tune({ runner: runner(4), model: 'efficientnet-b0', slo, budget: 10, optimizer: 'random', baselines: false });
    expect(rnd.trials.filter((t) => t.source === 'random')).toHaveLength(10);
    expect(rnd.optimizer).toBe('random-two-phase');
  });

  it('rejects bad options with clear errors', async () => {
    await expect(tune({ runner: runner(), model: 'm', slo: { latencyMs: -1, quantile: 0.99 } })).rejects.toThrow(/positive latency/);
    await expect(tune({ runner: runner(), model: 'm', slo, budget: 0 })).rejects.toThrow(/budget/);
    await expect(tune({ runner: runner(), model: 'm', slo, batchSizes: [0] })).rejects.toThrow(/batch sizes/);
  });
});

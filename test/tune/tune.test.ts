import { describe, expect, it } from 'vitest';
import { configKey } from '../../src/core/config.ts';
import { createSimTrialRunner } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { CONFIRM_RESERVE, poolMeasurements, recommendForSlo, tune, twinPrior } from '../../src/tune/index.ts';

const profile = zooProfile('efficientnet-b0');
const runner = (seed = 1) => createSimTrialRunner({ board: 'orin-agx', profile, seed });
const slo = { latencyMs: 30, quantile: 0.99 };

describe('tune on the twin', async () => {
  const run = await tune({ runner: runner(), model: 'efficientnet-b0', slo, budget: 15, seed: 2 });
  // the previous method, kept for comparison: CPU clock first, presets after the decision
  const legacy = await tune({ runner: runner(), model: 'efficientnet-b0', slo, budget: 15, seed: 2, method: 'two-phase' });

  it('spends at most the budget, every measurement counted, and records them per phase', () => {
    expect(run.trials.length).toBeLessThanOrEqual(15);
    expect(run.measurements!.total).toBe(run.trials.length);
    const phases = run.measurements!.byPhase;
    expect(Object.keys(phases)).toEqual(['initial', 'search', 'confirm']);
    expect(Object.values(phases).reduce((a, b) => a + b, 0)).toBe(run.trials.length);
    expect(phases.confirm).toBe(run.trials.filter((t) => t.source === 'confirm').length);
    expect(run.optimizer).toBe('cbo-joint');
  });

  it('measures the default and the presets first, as candidates, and searches the CPU clock with the rest', () => {
    const firstSearch = run.trials.findIndex((t) => t.source === 'bo');
    const baselines = run.trials.filter((t) => t.source === 'baseline');
    expect(baselines.length).toBeGreaterThanOrEqual(2);
    for (const b of baselines) expect(b.index).toBeLessThan(firstSearch);
    expect(run.baselines.map((b) => b.name)).toContain('default');
    expect(run.baselines.some((b) => run.device.presets.some((p) => p.name === b.name))).toBe(true);
    // never dearer than a measured baseline that held the margin, beyond its measured noise
    const rec = run.recommendation!;
    for (const b of run.baselines)
      if (b.measurement.latencyTailMs <= slo.latencyMs * (1 - run.margin!))
        expect(rec.measurement.energyPerQueryJ).toBeLessThanOrEqual(b.measurement.energyPerQueryJ * (1 + 3 * Math.max(0.01, b.measurement.noise.energyCv)));
    expect(run.surrogates!.dims.map((d) => d.name)).toEqual(['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch']);
    expect(new Set(run.trials.filter((t) => t.source === 'bo' || t.source === 'initial').map((t) => t.config.cpuHz)).size).toBeGreaterThan(1);
  });

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

  it('two-phase: chose the CPU clock in a first phase and searched the rest with it fixed', () => {
    const run = legacy;
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

  it('two-phase: measures the default at every batch and each preset at batch 1 and the recommended batch, with savings', () => {
    const run = legacy;
    expect(Object.keys(run.measurements!.byPhase)).toEqual(['baselines', 'cpu', 'search', 'confirm']);
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
    expect(Object.keys(run.lengthscales!)).toEqual(['cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz', 'batch']);
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

  it('searches every knob and compares against random search within the same budget', async () => {
    const run = await tune({ runner: runner(4), model: 'efficientnet-b0', slo, budget: 10, joint: true, baselines: false });
    expect(run.trials.some((t) => t.source === 'cpu-phase')).toBe(false);
    expect(run.surrogates!.dims.map((d) => d.name)).toContain('cpuHz');
    const rnd = await tune({ runner: runner(4), model: 'efficientnet-b0', slo, budget: 10, optimizer: 'random', baselines: false });
    expect(rnd.trials.filter((t) => t.source === 'random')).toHaveLength(10 - CONFIRM_RESERVE);
    expect(rnd.trials.length).toBeLessThanOrEqual(10);
    expect(rnd.optimizer).toBe('random-joint');
  });

  it("starts from the twin prior's predicted optimum and reaches a recommendation in fewer measurements", async () => {
    const board = runner().board;
    const prior = twinPrior(board, profile);
    const withPrior = await tune({ runner: runner(5), model: 'efficientnet-b0', slo, seed: 1, prior });
    // on the twin's own runner the twin is the prior by default; null turns it off
    const byDefault = await tune({ runner: runner(5), model: 'efficientnet-b0', slo, seed: 1 });
    expect(byDefault.trials.map((t) => configKey(t.config))).toEqual(withPrior.trials.map((t) => configKey(t.config)));
    const without = await tune({ runner: runner(5), model: 'efficientnet-b0', slo, seed: 1, prior: null });
    expect(without.trials[0]!.source).toBe('baseline');
    expect(withPrior.trials[0]!.source).toBe('initial');
    expect(withPrior.trials.length).toBeLessThanOrEqual(20);
    expect(withPrior.recommendation).not.toBeNull();
    expect(withPrior.recommendation!.measurement.latencyTailMs).toBeLessThanOrEqual(slo.latencyMs * 0.98);
    // the twin's own prediction of its first point is close to what the (noisy) twin measured there
    const first = withPrior.trials[0]!;
    const predicted = prior(first.config)!;
    expect(Math.abs(Math.log(first.measurement.energyPerQueryJ / predicted.energyPerQueryJ))).toBeLessThan(0.1);
  });

  it('rejects bad options with clear errors', async () => {
    await expect(tune({ runner: runner(), model: 'm', slo: { latencyMs: -1, quantile: 0.99 } })).rejects.toThrow(/positive latency/);
    await expect(tune({ runner: runner(), model: 'm', slo, budget: 0 })).rejects.toThrow(/budget/);
    await expect(tune({ runner: runner(), model: 'm', slo, batchSizes: [0] })).rejects.toThrow(/batch sizes/);
  });
});

/**
 * Drift detection and re-tuning: the CUSUM test on its own, then the re-tuner fed batches computed
 * by the twin (a background GPU load steps in part-way) on a virtual clock, against a tuning run's
 * surrogates. No wall-clock timing is asserted.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { boardUnderBackgroundLoad } from '../../src/device/sim/background-load.ts';
import { resolveBoard } from '../../src/device/sim/board-spec.ts';
import { evaluateConfig } from '../../src/device/sim/evaluate.ts';
import { ThermalDynamics } from '../../src/device/sim/thermal-dynamics.ts';
import { createSimTrialRunner } from '../../src/device/sim/trial-runner.ts';
import { mulberry32 } from '../../src/numerics/random.ts';
import { Cusum } from '../../src/serve/cusum.ts';
import { DriftRetuner } from '../../src/serve/drift-retuner.ts';
import { Metrics } from '../../src/serve/metrics.ts';
import type { ServingContext } from '../../src/serve/serving-context.ts';
import { tune } from '../../src/tune/tune.ts';
import { modelProfile } from '../../src/workload/model-source.ts';

describe('CUSUM', () => {
  const noise = (seed: number) => {
    const u = mulberry32(seed);
    return () => (u() - 0.5) * 0.02; // ±1 %
  };

  it('stays quiet on in-band noise and alarms within a few observations of a 5 % shift, estimating it', () => {
    const c = new Cusum();
    const n = noise(3);
    for (let i = 0; i < 500; i++) expect(c.add(n())).toBeNull();
    let at = -1;
    for (let i = 0; i < 50 && at < 0; i++) if (c.add(0.05 + n()) === 'up') at = i;
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(6);
    expect(c.shift).toBeGreaterThan(0.03);
    expect(c.shift).toBeLessThan(0.07);
    expect(c.view.state).toBe('alarm');
    c.reset();
    expect(c.view.state).toBe('calibrating');
  });

  it('alarms downwards too, and not on a shift inside the noise floor', () => {
    const c = new Cusum({ minSigma: 0.02 });
    for (let i = 0; i < 12; i++) c.add(0);
    for (let i = 0; i < 200; i++) expect(c.add(0.005)).toBeNull(); // 0.25 σ: below the slack
    let dir: string | null = null;
    for (let i = 0; i < 20 && !dir; i++) dir = c.add(-0.08);
    expect(dir).toBe('down');
  });
});

describe('thermal dynamics', () => {
  it('heats towards ambient + Rth·P with the time constant, and a hotter ambient raises the steady state', () => {
    const board = resolveBoard('orin-agx');
    let t = 0;
    const th = new ThermalDynamics(board, { now: () => t, initialC: 40 });
    th.setPower(30);
    const steady = board.thermal.ambientC + board.thermal.rthCPerW * 30;
    t = board.thermal.tauS * 1000;
    expect(th.temperatureC).toBeCloseTo(steady + (40 - steady) * Math.exp(-1), 6);
    t += 20 * board.thermal.tauS * 1000;
    expect(th.temperatureC).toBeCloseTo(steady, 3);
    th.setAmbient(board.thermal.ambientC + 20);
    t += 20 * board.thermal.tauS * 1000;
    expect(th.temperatureC).toBeCloseTo(steady + 20, 3);
    // above the throttle point the CPU clock steps down
    th.setPower(200);
    t += 20 * board.thermal.tauS * 1000;
    const capped = th.capClocks({ cpuHz: board.cpu.freqsHz[board.cpu.freqsHz.length - 1]!, batch: 1 });
    expect(capped.cpuHz).toBeLessThan(board.cpu.freqsHz[board.cpu.freqsHz.length - 1]!);
  });
});

describe('drift re-tuning on the twin', () => {
  const SLO = { latencyMs: 150, quantile: 0.99 };
  const board = resolveBoard('orin-agx');
  let run: TuningRun | undefined;
  const profileRun = async () => {
    run ??= await tune({
      runner: createSimTrialRunner({ board, profile: await modelProfile('bert-base'), seed: 1 }),
      model: 'bert-base',
      slo: SLO,
      budget: 20,
      seed: 1,
      batchSizes: [1, 2, 4, 8, 16],
      baselines: false,
    });
    return run;
  };

  /** A context that serves on the twin: batches computed by the test, configuration changes recorded. */
  async function harness(mode: 'retune' | 'detect') {
    const r = await profileRun();
    const profile = await modelProfile('bert-base');
    let config: Config = r.recommendation!.config;
    const applied: Config[] = [];
    let t = 0;
    const metrics = new Metrics();
    const ctx = {
      metrics,
      batcher: { maxBatch: () => config.batch, queuedRows: () => 0, serviceTimes: { rescale: () => {} } },
      currentConfig: async () => config,
      applyConfig: async (clocks: Partial<Config>, batch: number | undefined) => {
        config = { ...config, ...clocks, ...(batch !== undefined ? { batch } : {}) };
        applied.push(config);
        return undefined;
      },
    } as unknown as ServingContext;
    const retuner = new DriftRetuner({ ctx, model: 'bert-base', surrogates: r.surrogates!, limitMs: SLO.latencyMs * 0.98, mode, now: () => t });
    let share = 0;
    const feed = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const rows = [8, 5, 8, 3][i % 4]!;
        const b = Math.min(rows, config.batch);
        const ev = evaluateConfig(boardUnderBackgroundLoad(board, share), profile, { ...config, batch: b });
        const ms = (1000 * b) / ev.throughputQps;
        retuner.onBatch({
          model: 'bert-base',
          size: b,
          requests: b,
          rowsPerRequest: [],
          serviceMs: ms,
          backendMs: ms,
          energyJ: ev.energyPerQueryJ * b,
          startedAt: t,
          endedAt: t + ms,
          failed: false,
        });
        t += ms + 200; // a quarter of the device's time or less: low load
        await tick();
      }
    };
    return { retuner, applied, metrics, feed, setShare: (s: number) => (share = s), config: () => config, profile };
  }

  it('detects a background GPU load within a few batches, re-tunes within the probe budget, and logs every step', async () => {
    const h = await harness('retune');
    await h.feed(60);
    expect(h.retuner.log.map((e) => e.action)).toEqual(['calibrated']);
    h.setShare(0.3);
    const before = h.retuner.log.length;
    await h.feed(10);
    const alarm = h.retuner.log.slice(before).find((e) => e.action === 'alarm');
    expect(alarm?.signal).toBe('service');
    expect(alarm?.direction).toBe('up');
    // 1/(1 − 0.3) − 1 = +43 % service time: the shift estimate is near it
    expect(Math.exp(alarm!.shift!.service) - 1).toBeGreaterThan(0.3);
    await h.feed(120);
    const actions = h.retuner.log.map((e) => e.action);
    expect(actions).toContain('refresh');
    const view = h.retuner.view();
    expect(view.probeBudget.batchesSpent).toBeLessThanOrEqual(view.probeBudget.configs * view.probeBudget.batchesPerConfig);
    // the configuration it ends at meets the SLO on the drifted twin
    const drifted = evaluateConfig(boardUnderBackgroundLoad(resolveBoard('orin-agx'), 0.3), h.profile, h.config());
    expect(drifted.latencyTailMs).toBeLessThanOrEqual(150);
    const text = await h.metrics.registry.metrics();
    expect(text).toMatch(/polythrottle_drift_alarms_total\{model="bert-base",signal="service",direction="up"\} 1/);
    expect(text).toMatch(/polythrottle_retune_actions_total\{model="bert-base",action="refresh"\} 1/);
    expect(text).toMatch(/polythrottle_probe_batches_total\{model="bert-base"\} \d+/);
    h.retuner.close();
  }, 30_000);

  it('keeps the profile in detect mode: the alarm is logged, nothing is applied', async () => {
    const h = await harness('detect');
    await h.feed(40);
    h.setShare(0.3);
    await h.feed(40);
    expect(h.retuner.log.some((e) => e.action === 'alarm')).toBe(true);
    expect(h.applied).toEqual([]);
    h.retuner.close();
  }, 30_000);
});

describe('service-time rescale on a configuration change', () => {
  it('keeps the slowdown measured so far and applies the predicted factor', async () => {
    const { ServiceTimeEstimator } = await import('../../src/serve/service-time.ts');
    const st = new ServiceTimeEstimator({ quantile: 0.5 });
    st.setBaseline('m', [{ batch: 8, ms: 10 }]);
    for (let i = 0; i < 5; i++) st.record('m', 8, 17); // the board drifted: 1.7× slower
    expect(st.estimate('m', 8)).toBeCloseTo(17, 6);
    st.rescale('m', 0.5); // the new configuration is predicted twice as fast
    expect(st.estimate('m', 8)).toBeCloseTo(8.5, 6);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { computeLandscape, createSimTrialRunner, evaluateConfig, loadBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { referenceOptimum } from '../../src/report/convergence.ts';
import { loadReportInputs } from '../../src/report/load-inputs.ts';
import { planReport, type ReportInputs } from '../../src/report/report-plan.ts';
import { reportRows } from '../../src/report/twin-landscape.ts';
import { tune } from '../../src/tune/index.ts';

const model = 'efficientnet-b0';
const profile = zooProfile(model);
const board = loadBoard('orin-agx');
const slo = { latencyMs: 30, quantile: 0.99 };
const tmp = mkdtempSync(join(tmpdir(), 'pt-report-ref-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The twin's noise-free energy per query at a configuration (power / throughput, as the landscape computes it). */
const trueEnergy = (run: TuningRun, config: TuningRun['trials'][number]['config']) => {
  const e = evaluateConfig(board, profile, config, { quantile: run.slo.quantile });
  return e.powerW / e.throughputQps;
};

const convergence = (inputs: ReportInputs) => planReport(inputs).sections.find((s) => s.id === 'convergence')!;

/** The optimum the convergence chart draws (mJ), read from its spec. */
function chartOptimum(inputs: ReportInputs): { mJ: number; label: string } {
  const spec = JSON.stringify(convergence(inputs).charts[0]!.spec);
  const m = /"bestMJ":([\d.e+-]+),"label":"([^"]*)"/.exec(spec);
  expect(m, 'the chart draws an optimum').not.toBeNull();
  return { mJ: Number(m![1]), label: m![2]! };
}

describe('the convergence reference of a run on the twin is the optimum over every knob it searched, the CPU clock included', () => {
  const runs: { name: string; run: TuningRun; inputs: ReportInputs }[] = [];
  beforeAll(async () => {
    for (const joint of [false, true]) {
      const run = await tune({ runner: createSimTrialRunner({ board: 'orin-agx', profile, seed: 1 }), model, slo, budget: 30, seed: 2, joint });
      const file = join(tmp, `run-${joint ? 'joint' : 'two-phase'}.json`);
      writeFileSync(file, JSON.stringify(run));
      runs.push({ name: run.optimizer, run, inputs: await loadReportInputs({ run: file }) });
    }
  }, 120_000);

  it('is no higher than the true energy of any trial the run measured as feasible, whatever its CPU clock', () => {
    for (const { name, run, inputs } of runs) {
      expect(inputs.grid, name).toBeDefined();
      expect(new Set(inputs.grid!.map((r) => r.cpuHz)).size, name).toBe(board.cpu.freqsHz.length);
      const ref = chartOptimum(inputs);
      expect(ref.label, name).toMatch(/^exhaustive optimum /);
      const feasible = run.trials.filter((t) => t.feasible && t.measurement.valid);
      expect(feasible.length, name).toBeGreaterThan(0);
      for (const t of feasible) expect(ref.mJ / 1e3, `${name}: trial ${t.index}`).toBeLessThanOrEqual(trueEnergy(run, t.config) * (1 + 1e-9));
      // and it is the grid's own optimum, not that of the charts' one-CPU slice
      const exact = referenceOptimum(inputs.grid!, run.trials, run.slo.latencyMs)!;
      expect(exact.missing).toEqual([]);
      expect(ref.mJ).toBeCloseTo(exact.energyJ * 1e3, 9);
      const slice = referenceOptimum(inputs.landscape!, [], run.slo.latencyMs)!;
      expect(exact.energyJ).toBeLessThanOrEqual(slice.energyJ);
    }
  });

  it('says the optimum covers every knob value the run measured, and explains a lower measured best by the trial’s own numbers', () => {
    for (const { name, inputs } of runs) {
      const text = convergence(inputs).paragraphs.join(' ');
      expect(text, name).toContain('It covers every knob value the run measured');
      expect(text, name).not.toContain('not the global one');
      if (/below the landscape’s optimum/.test(text)) expect(text, name).toMatch(/measurement noise|truly misses the SLO/);
    }
  });

  it('names a one-CPU-clock landscape a restricted reference, and never blames noise when the run beats it', () => {
    const { run } = runs[0]!; // two-phase: its CPU phase measured several CPU clocks
    // what `polythrottle landscape` exports by default: the default power mode's CPU clock only
    const bootCpu = board.modes.find((m) => m.name === board.defaultMode)!.cpuHz;
    const l = computeLandscape({ board, profile, batchSizes: [1, 2, 4, 8, 16], quantile: run.slo.quantile });
    const rows = reportRows(l);

    expect(new Set(rows.map((r) => r.cpuHz))).toEqual(new Set([bootCpu]));
    expect(new Set(run.trials.map((t) => t.config.cpuHz)).size).toBeGreaterThan(1);
    const inputs: ReportInputs = { run, landscape: rows, landscapeSource: 'grid.csv' };
    const text = convergence(inputs).paragraphs.join(' ');
    expect(text).toMatch(
      /The landscape’s optimum is not the global one: the run measured \d+ CPU clocks \([^)]*\) the landscape does not hold \(it holds 2202 MHz\)/,
    );
    expect(text).toContain('landscape --cpu all');
    expect(text).not.toMatch(/nois/);
    expect(text).not.toContain('It covers every knob value');
    const ref = chartOptimum(inputs);
    expect(ref.label).not.toMatch(/exhaustive/);
    expect(ref.label).toContain('not global: CPU clocks missing');
    // this run's best (at the CPU clock its CPU phase chose) is cheaper than anything at the boot clock
    if (/below the landscape’s optimum/.test(text))
      expect(text).toContain('over a narrower space than the run searched: the run found a cheaper configuration outside it');
  });

  it('says which knobs matter from the twin’s own numbers: batch moves energy ≥ 2× here and is not called one that hardly changes it', () => {
    for (const { name, run, inputs } of runs) {
      const text = planReport(inputs).sections.find((s) => s.id === 'knobs')!.paragraphs;
      const rec = run.recommendation!.config;
      // the batch sizes' energies with every other knob at the recommendation, straight from the grid
      const atRec = inputs.grid!.filter((r) => r.cpuHz === rec.cpuHz && r.gpuMinHz === rec.gpuMinHz && r.gpuMaxHz === rec.gpuMaxHz && r.emcHz === rec.emcHz);
      const e = atRec.map((r) => r.energyPerQueryJ);
      const ratio = Math.max(...e) / Math.min(...e);
      expect(ratio, name).toBeGreaterThanOrEqual(2);
      const batch = text.find((t) => /^Batch size|batch size/.test(t))!;
      expect(batch, name).toBeDefined();
      expect(batch, name).not.toMatch(/hardly|a little|only/);
      expect(batch, name).toContain(`${ratio.toFixed(1)}×`);
      // every knob the text calls flat is flat on the grid: under 5 % across it at the recommendation
      for (const t of text.filter((x) => x.includes('hardly changes'))) expect(t, name).toMatch(/hardly changes it: (under 0\.1|[0-4]\.\d) %/);
      expect(text.join(' '), name).not.toMatch(/lengthscale/);
    }
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configKey } from '../../src/core/config.ts';
import type { StoredSurrogates, TrialRecord, TuningRun } from '../../src/core/tuning-run.ts';
import { computeLandscape, loadBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { fitGp } from '../../src/optimize/gp.ts';
import { createRandom } from '../../src/numerics/random.ts';
import { createEncoder } from '../../src/optimize/search-space.ts';
import { loadReportInputs } from '../../src/report/load-inputs.ts';
import type { ChartId, ReportInputs } from '../../src/report/report-plan.ts';
import { planReport } from '../../src/report/report-plan.ts';
import { surrogateLandscape } from '../../src/report/surrogate-landscape.ts';
import { parseTuningRun, readTuningRunFile } from '../../src/store/tuning-run-file.ts';
import { twinLandscape } from '../../src/report/twin-landscape.ts';
import { type RenderedReport, renderReport, writeReport } from '../../src/report/write-report.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

const SECTIONS = ['recommendation', 'knobs', 'pareto', 'landscape', 'convergence', 'timeline'] as const;
const CHARTS: ChartId[] = ['pareto', 'heatmap-gpu-emc', 'heatmap-gpu-min-max', 'convergence', 'timeline'];

/** The text of every <text> element of an SVG, entities decoded. */
const svgTexts = (svg: string) =>
  [...svg.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((m) =>
    m[1]!
      .replace(/<\/tspan>\s*<tspan[^>]*>/g, ' ') // a multi-line title reads as one line
      .replace(/<[^>]+>/g, '')
      .replace(/&amp;/g, '&')
      .replace(/&#39;|&apos;/g, "'")
      .replace(/&quot;/g, '"'),
  );

describe('a full report from a stored run, its landscape, a random-search run and a timeline', () => {
  let inputs: ReportInputs;
  let report: RenderedReport;
  let outDir: string;
  let files: string[];
  beforeAll(async () => {
    inputs = await loadReportInputs({
      run: join(fixtures, 'tuning-run.json'),
      landscape: join(fixtures, 'landscape.csv'),
      compare: [join(fixtures, 'random-run.json')],
      timeline: join(fixtures, 'timeline.json'),
    });
    report = await renderReport(inputs, { generatedAt: '2026-11-26T12:00:00Z' });
    outDir = mkdtempSync(join(tmpdir(), 'pt-report-'));
    files = await writeReport(report, outDir);
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('renders every chart to a valid PNG of plausible size', () => {
    expect([...report.pngs.keys()]).toEqual(CHARTS);
    for (const [id, png] of report.pngs) {
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), id).toBe(true);
      const { width, height } = pngSize(png);
      expect(width, id).toBeGreaterThan(600);
      expect(width, id).toBeLessThan(4000);
      expect(height, id).toBeGreaterThan(300);
      expect(height, id).toBeLessThan(3000);
      expect(png.length, id).toBeGreaterThan(20_000);
      expect(png.length, id).toBeLessThan(1_500_000);
    }
  });

  it('writes report.html and one PNG per chart', () => {
    expect(files.map((f) => f.slice(outDir.length + 1))).toEqual(['report.html', ...CHARTS.map((c) => `${c}.png`)]);
    for (const f of files) expect(statSync(f).size).toBeGreaterThan(1000);
    expect(readFileSync(join(outDir, 'pareto.png')).equals(report.pngs.get('pareto')!)).toBe(true);
  });

  it('draws each chart with its axis and legend titles, without vega warnings', () => {
    const plan = planReport(inputs);
    for (const s of plan.sections)
      for (const c of s.charts) {
        const figure = report.html.match(new RegExp(`<figure id="chart-${c.id}">([\\s\\S]*?)</figure>`));
        expect(figure, c.id).not.toBeNull();
        const texts = svgTexts(figure![1]!);
        for (const title of c.axisTitles) expect(texts, `${c.id}: ${title}`).toContain(title);
      }
    expect(report.warnings).toEqual([]);
  });

  it('has every section, the comparison table and the knob text', () => {
    const html = report.html;
    for (const id of SECTIONS) expect(html).toMatch(new RegExp(`<section id="${id}"><h2>`));
    expect(html).not.toContain('class="missing"');
    for (const b of inputs.run.baselines) expect(html).toContain(`<td>${b.name}</td>`);
    // from the landscape's energies at the recommendation (GPU max 1.7×, EMC 1.4×), not the fixture's hand-written lengthscales
    expect(html).toMatch(/GPU maximum frequency matters most for efficientnet-b0: energy per query changes 1\.\d× across it/);
    expect(html).toMatch(/That saves \d+\.\d % ± \d+\.\d % energy per query against the default/);
    expect(html).toContain('random search (median, 25–75 % band, exact over the grid)');
  });

  it('is self-contained: no external resources, no clip paths resvg would drop', () => {
    const html = report.html;
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|@import/i);
    expect(html).not.toContain('clip-path');
  });

  it('names the exact optimum and how close the run came', () => {
    expect(report.html).toMatch(/above the landscape’s optimum \([\d.]+ mJ\)/);
    expect(report.html).toMatch(/exhaustive optimum [\d.]+ mJ/);
  });
});

describe('a report from the run alone (real hardware: no landscape, no timeline)', () => {
  let report: RenderedReport;
  beforeAll(async () => {
    report = await renderReport(await loadReportInputs({ run: join(fixtures, 'tuning-run.json'), twin: false }));
  });
  it('still draws the Pareto chart, measured-only heatmaps and the run’s convergence', () => {
    expect([...report.pngs.keys()]).toEqual(['pareto', 'heatmap-gpu-emc', 'heatmap-gpu-min-max', 'convergence']);
    expect(report.html).toContain('no surrogate prediction is available,');
    expect(report.html).toContain('give --landscape for the whole grid');
  });
  it('keeps every section and says how to get what is missing', () => {
    for (const id of SECTIONS) expect(report.html).toContain(`<section id="${id}">`);
    expect(report.html).toMatch(/<p class="missing">No server record was given\. Pass --timeline/);
    expect(report.html).toContain('Nothing to compare against');
  });
});

describe('a run made on the device twin', () => {
  it('gets the twin’s exact landscape for its board, model, SLO quantile and batch sizes', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const t = twinLandscape(run);
    expect(t.rows).not.toBeNull();
    const rows = t.rows!;
    // AGX Orin: 13 GPU clocks → 91 min ≤ max pairs, 4 EMC clocks, batch sizes 1, 2, 4, 8, 16, one CPU clock
    expect(rows.length).toBe(91 * 4 * 5);
    expect(new Set(rows.map((r) => r.batch))).toEqual(new Set([1, 2, 4, 8, 16]));
    expect(new Set(rows.map((r) => r.cpuHz))).toEqual(new Set([run.recommendation!.config.cpuHz]));
    expect(rows.every((r) => r.model === 'efficientnet-b0' && r.device === 'sim:orin-agx' && r.tailQuantile === 0.99)).toBe(true);
    expect(rows.every((r) => r.energyPerQueryJ > 0 && r.latencyTailMs >= r.latencyP50Ms)).toBe(true);
    const inputs = await loadReportInputs({ run: join(fixtures, 'tuning-run.json') });
    expect(inputs.landscape).toHaveLength(rows.length);
    expect(inputs.landscapeSource).toMatch(/computed for this report \(1820 configurations, fp32/);
  });
  it('rebuilds the profile at the precision the run recorded: an fp16 run gets the fp16 landscape', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const fp16Run: TuningRun = { ...run, modelSpec: { name: run.model, dtype: 'fp16' } };
    const t16 = twinLandscape(fp16Run);
    const t32 = twinLandscape(run);
    expect(t16.rows).not.toBeNull();
    if (!t16.rows || !t32.rows) return;
    expect(t16.note).toMatch(/, fp16, noise-free/);
    const board = loadBoard('orin-agx');
    const batches = [...new Set(t16.rows.map((r) => r.batch))].sort((a, b) => a - b);
    const exact = computeLandscape({
      board,
      profile: zooProfile(run.model, { dtype: 'fp16' }),
      batchSizes: batches,
      cpuHz: run.recommendation!.config.cpuHz!,
      quantile: run.slo.quantile,
    });
    expect(t16.rows.map((r) => r.energyPerQueryJ)).toEqual(exact.rows.map((r) => r.energy_per_query_j));
    expect(t16.rows.map((r) => r.energyPerQueryJ)).not.toEqual(t32.rows.map((r) => r.energyPerQueryJ));
    // the spec survives the run file's parsing; a bad precision does not
    expect(parseTuningRun(JSON.parse(JSON.stringify(fp16Run)), 'run').modelSpec).toEqual({ name: run.model, dtype: 'fp16' });
    expect(() => parseTuningRun({ ...fp16Run, modelSpec: { name: run.model, dtype: 'int8' } }, 'run')).toThrow(/at modelSpec\.dtype/);
  });
  it('says why there is none for a run on real hardware or an unknown model', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    expect(twinLandscape({ ...run, device: { ...run.device, id: 'jetson', kind: 'jetson' } })).toEqual({
      rows: null,
      why: 'the run was made on jetson, not the device twin',
    });
    expect(twinLandscape({ ...run, model: 'my-model.onnx' })).toEqual({ rows: null, why: '"my-model.onnx" is not a zoo model the twin can compute' });
  });
});

describe('a run on real hardware with stored surrogates', () => {
  /** The fixture run as if measured on a real board, with GPs fitted to its trials the way the tuner stores them. */
  async function runWithSurrogates(): Promise<TuningRun> {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const gpu = run.device.knobs.gpuHz!;
    const dims: StoredSurrogates['dims'] = [
      { name: 'gpuMinHz', values: gpu, scale: 'ordinal' },
      { name: 'gpuMaxHz', values: gpu, scale: 'ordinal' },
      { name: 'emcHz', values: run.device.knobs.emcHz!, scale: 'ordinal' },
      { name: 'batch', values: [1, 2, 4, 8], scale: 'log' },
    ];
    const encode = createEncoder({ dims });
    const valid = run.trials.filter((t) => t.measurement.valid);
    const x = new Float64Array(valid.length * dims.length);
    valid.forEach((t, i) => {
      encode(
        dims.map((d) => d.values.indexOf(t.config[d.name]!)),
        x,
        i * dims.length,
      );
    });
    const fitLog = (f: (t: TrialRecord) => number) =>
      fitGp(
        x,
        Float64Array.from(valid, (t) => Math.log(f(t))),
        dims.length,
        { rng: createRandom(3) },
      ).state;
    const surrogates: StoredSurrogates = {
      dims,
      fixed: { cpuHz: run.recommendation!.config.cpuHz! },
      objective: fitLog((t) => t.measurement.energyPerQueryJ),
      constraint: fitLog((t) => t.measurement.latencyTailMs),
    };
    return { ...run, device: { ...run.device, id: 'jetson:tegra234', kind: 'jetson' }, surrogates };
  }

  it('predicts every configuration of the search space, close to the measurements where it measured', async () => {
    const run = await runWithSurrogates();
    const s = surrogateLandscape(run);
    expect(s.points).not.toBeNull();
    expect(s.points!.length).toBe(91 * 4 * 4);
    expect(s.points!.every((p) => p.config.cpuHz === run.recommendation!.config.cpuHz && p.config.gpuMinHz! <= p.config.gpuMaxHz!)).toBe(true);
    const rec = run.recommendation!;
    const atRec = s.points!.find((p) => configKey(p.config) === configKey(rec.config))!;
    expect(Math.abs(atRec.energyJ / rec.measurement.energyPerQueryJ - 1)).toBeLessThan(0.15);
    expect(Math.abs(atRec.latencyMs / rec.measurement.latencyTailMs - 1)).toBeLessThan(0.15);
  });

  it('draws the heatmaps from the predictions with the measured points marked', async () => {
    const report = await renderReport({ run: await runWithSurrogates() });
    expect(report.pngs.has('heatmap-gpu-emc')).toBe(true);
    expect(report.html).toContain('Predicted by the run’s fitted surrogates (posterior median) on all 1456 configurations.');
    expect(report.html).toMatch(/At batch 1 the surrogates’ predicted lowest energy/);
    expect(report.warnings).toEqual([]);
  });

  it('falls back to measured points, saying why, when the surrogates do not fit their space', async () => {
    const run = await runWithSurrogates();
    const broken = { ...run, surrogates: { ...run.surrogates!, dims: run.surrogates!.dims.slice(1) } };
    expect(surrogateLandscape(broken)).toEqual({ points: null, why: 'the stored surrogates do not match their search space' });
    expect(
      planReport({ run: broken })
        .sections.find((x) => x.id === 'landscape')!
        .paragraphs.join(' '),
    ).toContain('Without a landscape (and the stored surrogates do not match their search space) the maps show what the run measured');
  });
});

describe('the convergence chart with a tuner benchmark', () => {
  it('draws the benchmark’s curves of the run’s scenario over the run’s own horizon', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const long = Array.from({ length: 300 }, (_, i) => 0.2 - i * 1e-4);
    const benchmark = {
      scenarios: [{ device: run.device.id, model: run.model, slo: 'loose', sloMs: run.slo.latencyMs }],
      runs: [
        { device: run.device.id, model: run.model, slo: 'loose', optimizer: 'random', seed: 1, bestSoFarJ: long },
        { device: run.device.id, model: run.model, slo: 'loose', optimizer: 'random', seed: 2, bestSoFarJ: long },
      ],
    };
    const section = planReport({ run, benchmark }).sections.find((s) => s.id === 'convergence')!;
    expect(section.paragraphs).toContain(`Benchmark curves: its “loose” scenario (${run.slo.latencyMs} ms), medians over seeds.`);
    const spec = JSON.stringify(section.charts[0]!.spec);
    expect(spec).toContain('random (benchmark, median of 2)');
    const trials = [...spec.matchAll(/"trial":(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...trials)).toBe(run.budget);
  });
});

describe('a fine-tuning timeline with quiet windows (latency null), as `finetune replay --rate 1` writes it', () => {
  it('is read by loadReportInputs and drawn with gaps in the latency line, saying how many windows were quiet', async () => {
    const inputs = await loadReportInputs({ run: join(fixtures, 'tuning-run.json'), twin: false, timeline: join(fixtures, 'replay-timeline.json') });
    const tl = inputs.timeline!;
    const quiet = tl.filter((p) => p.latencyMs === null).length;
    expect(quiet).toBeGreaterThan(0);
    const section = planReport(inputs).sections.find((x) => x.id === 'timeline')!;
    expect(section.missing).toBeUndefined();
    expect(section.paragraphs.join(' ')).toContain(
      `of ${tl.length - quiet} samples with requests missed the SLO in force; in ${quiet} of the ${tl.length} samples no request completed`,
    );
    const report = await renderReport(inputs, { scale: 1 });
    expect(report.pngs.has('timeline')).toBe(true);
    expect(report.warnings).toEqual([]);
    const figure = report.html.match(/<figure id="chart-timeline">([\s\S]*?)<\/figure>/)![1]!;
    expect(svgTexts(figure).some((t) => t.includes('Gaps: no request completed in that window.'))).toBe(true);
    // the latency line is one path broken into several pieces (one "M" per piece), not drawn through the gaps
    const paths = [...figure.matchAll(/<path[^>]*\bd="([^"]*)"[^>]*stroke="#1f5fbf"/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(0);
    expect(Math.max(...paths.map((d) => (d.match(/M/g) ?? []).length))).toBeGreaterThan(1);
  });
});

describe('a run where nothing met the SLO', () => {
  it('still renders every chart and explains the missing recommendation', async () => {
    const base = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const run: TuningRun = {
      ...base,
      slo: { latencyMs: 2, quantile: 0.99 },
      trials: base.trials.map((t) => ({ ...t, feasible: false })),
      recommendation: null,
      infeasibleReason: 'infeasible: the fastest configuration measured 4.6 ms at p99 (SLO 2 ms)',
      baselines: base.baselines.map((b) => ({ ...b, feasible: false, saving: null })),
    };
    const report = await renderReport({ run });
    expect([...report.pngs.keys()]).toEqual(['pareto', 'heatmap-gpu-emc', 'heatmap-gpu-min-max']);
    expect(report.html).toContain('No configuration met the p99 latency SLO of 2.00 ms.');
    expect(report.html).toContain('so there is no best feasible energy to draw');
    expect(report.html).toContain('infeasible: the fastest configuration measured 4.6 ms at p99 (SLO 2 ms)');
    expect(report.html).toContain('No trial of this run met the SLO.');
    expect(report.warnings).toEqual([]);
  });
});

describe('a run without one valid measurement', () => {
  it('keeps every section and says there is nothing to draw instead of drawing empty axes', async () => {
    const base = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const invalid = <T extends { measurement: TuningRun['trials'][number]['measurement'] }>(x: T): T => ({
      ...x,
      measurement: { ...x.measurement, valid: false, invalidReason: 'power sensor read failed' },
    });
    const run: TuningRun = { ...base, trials: base.trials.map(invalid), baselines: base.baselines.map(invalid), recommendation: null };
    const report = await renderReport({ run }, {});
    expect(report.pngs.size).toBe(0);
    expect(report.html.match(/class="missing"/g)?.length).toBeGreaterThanOrEqual(4);
    expect(report.warnings).toEqual([]);
  });
});

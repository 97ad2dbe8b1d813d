import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { answeredSamples, finetuneSpans, parseTimeline, sloViolations } from '../../src/report/finetune-timeline.ts';
import { landscapeFor, parseLandscapeCsv, readLandscapeCsv } from '../../src/report/landscape.ts';
import { loadReportInputs } from '../../src/report/load-inputs.ts';
import { comparisonRows, formatEnergy, headline, savingWithNoise } from '../../src/report/summary.ts';
import { parseTuningRun, readTuningRunFile } from '../../src/store/tuning-run-file.ts';
import { expectBadInput } from '../fixtures/errors.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'pt-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const runJson = () => JSON.parse(readFileSync(join(fixtures, 'tuning-run.json'), 'utf8')) as Record<string, unknown>;
const HEADER = 'device,model,cpu_hz,gpu_min_hz,gpu_max_hz,emc_hz,batch,latency_p50_ms,latency_p99_ms,energy_per_query_j,power_w,throughput_qps';

describe('tuning run file', () => {
  it('reads the fixture run', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    expect(run.trials.length).toBe(30);
    expect(run.recommendation?.config.batch).toBeGreaterThan(0);
  });
  it('names the first wrong field', () => {
    const j = runJson();
    (j.slo as Record<string, unknown>).latencyMs = -5;
    expectBadInput(() => parseTuningRun(j, 'run.json'), /run.json is not a tuning run at slo.latencyMs/);
    const k = runJson();
    delete k.trials;
    expectBadInput(() => parseTuningRun(k, 'x'), /at trials/);
  });
  it('says clearly when the file is missing or not JSON', async () => {
    await expect(readTuningRunFile('/definitely/not/here.json')).rejects.toThrow(/no such file/);
    const dir = tmp;
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    await expect(readTuningRunFile(join(dir, 'bad.json'))).rejects.toThrow(/not valid JSON/);
  });
});

describe('landscape CSV', () => {
  it('parses rows, leaving absent knobs undefined', () => {
    const rows = parseLandscapeCsv(`${HEADER}\norin,m,,114750000,1300500000,3199000000,4,1.5,2.5,0.012,12.5,800\n`);
    expect(rows).toEqual([
      {
        device: 'orin',
        model: 'm',
        cpuHz: undefined,
        gpuMinHz: 114750000,
        gpuMaxHz: 1300500000,
        emcHz: 3199000000,
        batch: 4,
        latencyP50Ms: 1.5,
        latencyTailMs: 2.5,
        tailQuantile: 0.99,
        energyPerQueryJ: 0.012,
        powerW: 12.5,
        throughputQps: 800,
      },
    ]);
  });
  it('accepts the columns in any order', () => {
    const cols = HEADER.split(',');
    const vals = 'orin,m,1,2,3,4,1,1,2,0.5,10,100'.split(',');
    const order = [...cols.keys()].reverse();
    const rows = parseLandscapeCsv(`${order.map((i) => cols[i]).join(',')}\n${order.map((i) => vals[i]).join(',')}`);
    expect(rows[0]!.energyPerQueryJ).toBe(0.5);
    expect(rows[0]!.gpuMaxHz).toBe(3);
  });
  it('rejects a missing column, a non-number, a bad batch and an empty body', () => {
    expectBadInput(() => parseLandscapeCsv('device,model\nx,y'), /no column "cpu_hz"/);
    expectBadInput(() => parseLandscapeCsv(`${HEADER}\norin,m,1,2,3,4,1,1,fast,0.5,10,100`), /line 2: latency_p99_ms is "fast"/);
    expectBadInput(() => parseLandscapeCsv(`${HEADER}\norin,m,1,2,3,4,0,1,2,0.5,10,100`), /batch must be a positive integer/);
    expectBadInput(() => parseLandscapeCsv(`${HEADER}\n`), /no rows/);
    expectBadInput(() => parseLandscapeCsv(HEADER.replace('latency_p99_ms', 'latency_tail')), /no tail-latency column/);
  });
  it('reads another tail quantile from the column name, and quoted cells', () => {
    const rows = parseLandscapeCsv(`${HEADER.replace('latency_p99_ms', 'latency_p99.9_ms')}\n"orin, dev",m,1,2,3,4,1,1,7,0.5,10,100`);
    expect(rows[0]!.tailQuantile).toBeCloseTo(0.999, 12);
    expect(rows[0]!.latencyTailMs).toBe(7);
    expect(rows[0]!.device).toBe('orin, dev');
  });
  it('selects the run’s model and refuses a landscape of another model', async () => {
    const rows = await readLandscapeCsv(join(fixtures, 'landscape.csv'));
    expect(landscapeFor(rows, 'efficientnet-b0', 'sim:orin-agx').length).toBe(rows.length);
    expectBadInput(() => landscapeFor(rows, 'bert-base'), /no rows for model "bert-base" \(it has: efficientnet-b0\)/);
  });
});

describe('fine-tuning timeline', () => {
  const pts = parseTimeline(
    [
      { t: 2, sloMs: 250, latencyMs: 300, finetuneRunning: true },
      { t: 0, sloMs: 250, latencyMs: 100, finetuneRunning: false },
      { t: 1, sloMs: 250, latencyMs: 120, finetuneRunning: true },
      { t: 3, sloMs: 700, latencyMs: 400, finetuneRunning: false },
      { t: 4, sloMs: 700, latencyMs: 410, finetuneRunning: true },
    ],
    'tl',
  );
  it('sorts by time and finds the stretches fine-tuning ran, closing an open one at the last sample', () => {
    expect(pts.map((p) => p.t)).toEqual([0, 1, 2, 3, 4]);
    expect(finetuneSpans(pts)).toEqual([
      { start: 1, end: 3 },
      { start: 4, end: 4 },
    ]);
    expect(sloViolations(pts).map((p) => p.t)).toEqual([2]);
  });
  it('accepts { timeline: [...] } and rejects malformed samples', () => {
    expect(
      parseTimeline(
        {
          timeline: [
            { t: 0, sloMs: 1, latencyMs: 1, finetuneRunning: false },
            { t: 1, sloMs: 1, latencyMs: 1, finetuneRunning: false },
          ],
        },
        'x',
      ),
    ).toHaveLength(2);
    expectBadInput(
      () =>
        parseTimeline(
          [
            { t: 0, sloMs: 1, latencyMs: 1, finetuneRunning: 'yes' },
            { t: 1, sloMs: 1, latencyMs: 1, finetuneRunning: true },
          ],
          'f.json',
        ),
      /f.json is not a fine-tuning timeline at \[0\]\.finetuneRunning/,
    );
    expectBadInput(() => parseTimeline([], 'e'), /at least two/);
  });
  it('accepts a replay’s quiet buckets (latency null) as samples without requests, which miss nothing', () => {
    // written by `finetune replay --rate 1 --duration 20 --timeline`: at 1 request/s most 0.5 s buckets see no request
    const replay = parseTimeline(JSON.parse(readFileSync(join(fixtures, 'replay-timeline.json'), 'utf8')), 'replay-timeline.json');
    const quiet = replay.filter((p) => p.latencyMs === null);
    expect(quiet.length).toBeGreaterThan(replay.length / 2);
    expect(answeredSamples(replay)).toHaveLength(replay.length - quiet.length);
    expect(sloViolations(replay).every((p) => p.latencyMs !== null)).toBe(true);
    const tl = parseTimeline(
      [
        { t: 0, sloMs: 100, latencyMs: null, finetuneRunning: true },
        { t: 1, sloMs: 100, latencyMs: 150, finetuneRunning: true },
        { t: 2, sloMs: 100, latencyMs: null, finetuneRunning: false },
      ],
      'q',
    );
    expect(sloViolations(tl).map((p) => p.t)).toEqual([1]);
    expect(finetuneSpans(tl)).toEqual([{ start: 0, end: 2 }]);
    expectBadInput(
      () =>
        parseTimeline(
          [
            { t: 0, sloMs: 1, latencyMs: -1, finetuneRunning: false },
            { t: 1, sloMs: 1, latencyMs: null, finetuneRunning: false },
          ],
          'n.json',
        ),
      /n.json is not a fine-tuning timeline at \[0\]\.latencyMs/,
    );
  });
});

describe('summary text', () => {
  const m = (energy: number, cv: number) => ({ energyPerQueryJ: energy, noise: { energyCv: cv, latencyTailCv: 0 } }) as never;
  it('combines both measurements’ noise into the saving’s spread', () => {
    // saving 0.25 → ratio 0.75; spread = hypot(0.03, 0.04) · 0.75 = 0.0375
    expect(savingWithNoise(m(0.75, 0.03), m(1, 0.04), 0.25)).toEqual({ value: 0.25, text: '25.0 % ± 3.8 %' });
    expect(savingWithNoise(m(0.75, 0), m(1, 0), 0.25).text).toBe('25.0 %');
    expect(savingWithNoise(m(0.75, 0), m(1, 0), null)).toEqual({ value: null, text: '—' });
  });
  it('formats energy in mJ below a joule', () => {
    expect(formatEnergy(0.0123)).toBe('12.3 mJ');
    expect(formatEnergy(1.5)).toBe('1.50 J');
  });
  it('puts the recommendation first and every baseline with its measured saving', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const rows = comparisonRows(run);
    expect(rows.map((r) => r.name)).toEqual(['recommended', 'default', '15W', '30W', '50W', 'MAXN']);
    const def = rows.find((r) => r.name === 'default')!;
    expect(def.savingValue).toBe(run.baselines.find((b) => b.name === 'default')!.saving);
    expect(def.saving).toMatch(/^\d+\.\d % ± \d+\.\d %$/);
    expect(headline(run)[1]).toMatch(/^That saves \d+\.\d % ± \d+\.\d % energy per query against the default/);
  });
  it('quotes the default at the recommendation’s batch size when the default was measured at several', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const def = run.baselines.find((b) => b.name === 'default')!;
    const recBatch = run.recommendation!.config.batch;
    const other = { ...def, config: { ...def.config, batch: 1 }, saving: 0.5, measurement: { ...def.measurement, energyPerQueryJ: 0.9 } };
    const atRec = { ...def, saving: 0.1 };
    const multi = { ...run, baselines: [other, atRec, ...run.baselines.filter((b) => b.name !== 'default')] } as TuningRun;
    expect(headline(multi)[1]).toMatch(
      new RegExp(`^That saves 10\\.0 % ± [\\d.]+ % energy per query against the default \\(every clock at maximum\\) at batch ${recBatch}:`),
    );
    const rows = comparisonRows(multi).filter((r) => r.name === 'default');
    expect(rows.map((r) => r.batch)).toEqual([1, recBatch]);
    expect(rows.map((r) => r.savingValue)).toEqual([0.5, 0.1]);
  });
  it('explains an infeasible run instead of recommending', async () => {
    const run = {
      ...(await readTuningRunFile(join(fixtures, 'tuning-run.json'))),
      recommendation: null,
      infeasibleReason: 'infeasible: the fastest configuration measured 61.2 ms at p99',
    } as TuningRun;
    expect(headline(run)).toEqual(['No configuration met the p99 latency SLO of 40.0 ms.', 'infeasible: the fastest configuration measured 61.2 ms at p99']);
    expect(comparisonRows(run).every((r) => r.saving === '—')).toBe(true);
  });
});

describe('loadReportInputs', () => {
  it('refuses to compare runs of a different SLO or model', async () => {
    const dir = tmp;
    const j = runJson();
    writeFileSync(join(dir, 'other-slo.json'), JSON.stringify({ ...j, slo: { latencyMs: 80, quantile: 0.99 } }));
    writeFileSync(join(dir, 'other-model.json'), JSON.stringify({ ...j, model: 'bert-base' }));
    const run = join(fixtures, 'tuning-run.json');
    await expect(loadReportInputs({ run, compare: [join(dir, 'other-slo.json')] })).rejects.toThrow(/different SLO/);
    await expect(loadReportInputs({ run, compare: [join(dir, 'other-model.json')] })).rejects.toThrow(/is a run of bert-base/);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configKey } from '../../src/core/config.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { parseDeviceSpec } from '../../src/device/device-spec.ts';
import { createLandscapeTrialRunner, parseReplayLandscape, replayConfig } from '../../src/device/landscape-replay/index.ts';
import { computeLandscape, landscapeCsv, loadBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { runCli as cli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-landscape-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// a small exported grid: the simulated Orin Nano at its boot CPU clock, batches 1 and 4, with every
// third row left out (configurations missing from the file must never be measured)
const land = computeLandscape({ board: loadBoard('orin-nano'), profile: zooProfile('efficientnet-b0'), batchSizes: [1, 4] });
const kept = { ...land, rows: land.rows.filter((_, i) => i % 3 !== 1) };
const csv = join(dir, 'grid.csv');
writeFileSync(csv, landscapeCsv(kept));
const fastest = Math.min(...kept.rows.map((r) => r.latency_p99_ms));

describe('landscape:<grid.csv> as a device', () => {
  it('parses as a device spec and replays each row with seeded noise', async () => {
    expect(parseDeviceSpec(`landscape:${csv}`)).toEqual({ kind: 'landscape', path: csv });
    expect(() => parseDeviceSpec('landscape:')).toThrow(/needs a CSV file/);
    const replay = parseReplayLandscape(landscapeCsv(kept), 'grid.csv');
    expect(replay.rows).toHaveLength(kept.rows.length);
    const exact = createLandscapeTrialRunner({ landscape: replay, noise: 0 });
    const row = replay.rows[5]!;
    const m = await exact.measure(replayConfig(row), { quantile: 0.99 });
    expect(m.energyPerQueryJ).toBeCloseTo(row.energy_per_query_j, 6);
    expect(m.latencyTailMs).toBeCloseTo(row.latency_p99_ms, 6);
    const noisy = createLandscapeTrialRunner({ landscape: replay, noise: 0.03, seed: 4 });
    const again = createLandscapeTrialRunner({ landscape: replay, noise: 0.03, seed: 4 });
    const a = await noisy.measure(replayConfig(row));
    expect(a.energyPerQueryJ).not.toBe(row.energy_per_query_j);
    expect((await again.measure(replayConfig(row))).energyPerQueryJ).toBe(a.energyPerQueryJ);
    const missing = replayConfig(land.rows[1]!);
    expect(noisy.offers(missing)).toBe(false);
    await expect(noisy.measure(missing)).rejects.toThrow(/not in/);
  });

  it('tune --device landscape:<csv> measures only rows of the file, within the budget, and --json counts them', async () => {
    const slo = `${(fastest * 3).toFixed(2)}ms`;
    const r = await cli('tune', '--device', `landscape:${csv}`, '--slo', slo, '--budget', '12', '--noise', '0.02', '--db', join(dir, 'a.db'), '--json');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out) as TuningRun;
    const inFile = new Set(
      kept.rows.map((x) => configKey({ cpuHz: x.cpu_hz, gpuMinHz: x.gpu_min_hz, gpuMaxHz: x.gpu_max_hz, emcHz: x.emc_hz, batch: x.batch })),
    );
    for (const t of run.trials) expect(inFile.has(configKey(t.config))).toBe(true);
    expect(run.trials.length).toBeLessThanOrEqual(12);
    expect(run.measurements!.total).toBe(run.trials.length);
    expect(run.measurements!.byPhase.search).toBeGreaterThan(0);
    expect(run.recommendation).not.toBeNull();
    // a board named as prior: the run starts from that twin's predicted optimum
    const p = await cli('tune', '--device', `landscape:${csv}`, '--slo', slo, '--budget', '12', '--prior-board', 'orin-nano', '--db', join(dir, 'b.db'));
    expect(p.code).toBe(0);
    expect(p.err).toMatch(/prior: the twin of NVIDIA Jetson Orin Nano/);
    expect(p.out).toMatch(/measurements \(\d+ initial \+ \d+ search \+ \d+ confirm\) of a budget of 12/);
  });

  it('refuses a missing file and a model the file does not hold, in one line', async () => {
    const none = await cli('tune', '--device', `landscape:${join(dir, 'nope.csv')}`, '--db', join(dir, 'c.db'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/cannot read landscape file/);
    const other = await cli('tune', '--device', `landscape:${csv}`, '--model', 'resnet-50', '--db', join(dir, 'c.db'));
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/no rows for model "resnet-50"/);
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frequencyHz, positiveIntList } from '../../../src/cli/support/flag-parsers.ts';
import { computeLandscape } from '../../../src/device/sim/index.ts';
import { ZOO_NAMES, zooProfile } from '../../../src/model/zoo/index.ts';
import { runCli } from '../../fixtures/cli.ts';

const run = (args: string[]) => runCli(...args);

const dir = mkdtempSync(join(tmpdir(), 'pt-landscape-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('landscape CLI', () => {
  it('writes the grid CSV and summarises the optimum', async () => {
    const out = join(dir, 'grid.csv');
    const r = await run(['landscape', '--device', 'sim:orin-agx', '--model', 'mobilenet-v2', '--batch-sizes', '1,4', '--slo-quantile', '0.95', '--out', out]);
    expect(r.code ?? 0).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 2 * 4 * 91);
    expect(lines[0]).toContain('latency_p95_ms');
    expect(r.err).toMatch(/728 configurations of mobilenet-v2/);
    expect(r.err).toMatch(/lowest energy\/query: .* J at cpu/);
  });

  it('answers bad input with one clear error and exit code 2', async () => {
    const bad = await run(['landscape', '--device', 'linux-cpu', '--model', 'resnet-50']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a simulated board/);
    const clash = await run(['landscape', '--model', 'resnet-50', '--cpu', 'all', '--cpu-hz', '2201.6MHz']);
    expect(clash.code).toBe(2);
    expect(clash.err).toMatch(/not both/);
  });

  it('parses frequencies with units and batch-size lists', () => {
    const parseHz = frequencyHz('--cpu-hz');
    const parseBatchSizes = positiveIntList('--batch-sizes');
    expect(parseHz('2201.6MHz')).toBe(2201600000);
    expect(parseHz('1.3005GHz')).toBe(1300500000);
    expect(parseHz('652800kHz')).toBe(652800000);
    expect(() => parseHz('fast')).toThrow(/frequency/);
    expect(parseBatchSizes('16,1,4,4')).toEqual([1, 4, 16]);
    expect(() => parseBatchSizes('1,,2')).toThrow(/positive integers/);
  });
});

describe('landscape for every zoo model', () => {
  it('produces finite, positive rows for each', () => {
    for (const name of ZOO_NAMES) {
      const l = computeLandscape({ board: 'orin-nano', profile: zooProfile(name), batchSizes: [1, 8] });
      expect(l.rows).toHaveLength(2 * 4 * 36);
      for (const r of l.rows) {
        expect(Number.isFinite(r.energy_per_query_j) && r.energy_per_query_j > 0).toBe(true);
        expect(r.latency_p99_ms).toBeGreaterThanOrEqual(r.latency_p50_ms);
        expect(r.throughput_qps).toBeGreaterThan(0);
      }
    }
  });
});

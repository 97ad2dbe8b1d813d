import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { loadProfile } from '../../src/serve/serving-config.ts';
import { runCli as cli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tune and recommend commands', () => {
  const db = join(dir, 'store.db');

  it('tune --json prints the whole run, stored as a profile that recommend answers from', async () => {
    const r = await cli('tune', '--device', 'sim:orin-nano', '--slo', '60ms', '--budget', '8', '--seed', '3', '--db', db, '--json');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out) as TuningRun;
    expect(run.device.id).toContain('orin-nano');
    // --budget bounds every measurement of the run; --json records them per phase and in total
    expect(run.trials.length).toBeLessThanOrEqual(8);
    expect(run.measurements!.total).toBe(run.trials.length);
    expect(run.measurements!.byPhase.confirm).toBeGreaterThanOrEqual(1);
    expect(run.recommendation!.measurement.latencyTailMs).toBeLessThanOrEqual(60 * 0.98);
    expect(run.baselines.find((b) => b.name === 'default')?.saving).not.toBeNull();

    const a = await cli('recommend', '--profile', run.profileId!.slice(0, 8), '--slo', '200ms', '--db', db, '--json');
    expect(a.code).toBe(0);
    const ans = JSON.parse(a.out);
    expect(ans.measured.latencyTailMs).toBeLessThanOrEqual(200 * 0.98);
    expect(ans.measured.energyPerQueryJ).toBeLessThanOrEqual(run.recommendation!.measurement.energyPerQueryJ * 1.05);

    // serve --profile reads the store as report and recommend do: a prefix or `latest`
    for (const ref of [run.profileId!.slice(0, 8), 'latest']) expect((await loadProfile(ref, db)).profile.config).toEqual(run.recommendation!.config);
    await expect(loadProfile('nothing-here', join(dir, 'no-store.db'))).rejects.toThrow(/no file "nothing-here" and no tuning store at/);

    const file = join(dir, 'run.json');
    writeFileSync(file, r.out);
    const human = await cli('recommend', '--profile', file, '--slo', '0.1ms');
    expect(human.code).toBe(5);
    expect(human.out).toMatch(/infeasible: the fastest configuration measured [\d.]+ ms at p99/);
  });

  it('prints a readable result with the savings table, and exit code 5 when infeasible', async () => {
    const r = await cli('tune', '--device', 'sim:orin-agx', '--slo', '40ms', '--budget', '6', '--db', db, '--no-baselines');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/recommended {2}cpu [\d.]+ GHz · gpu/);
    const bad = await cli('tune', '--device', 'sim:orin-agx', '--slo', '0.5ms', '--budget', '4', '--db', db, '--no-baselines', '--joint');
    expect(bad.code).toBe(5);
    expect(bad.out).toMatch(/infeasible: the fastest configuration measured/);
  });

  it('records the precision and sequence length it tuned, so the run can be rebuilt', async () => {
    const r = await cli(
      'tune',
      '--device',
      'sim:orin-agx',
      '--model',
      'bert-base',
      '--dtype',
      'fp16',
      '--seq',
      '64',
      '--slo',
      '80ms',
      '--budget',
      '3',
      '--db',
      db,
      '--no-baselines',
      '--json',
    );
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out) as TuningRun;
    expect(run.model).toBe('bert-base');
    expect(run.modelSpec).toEqual({ name: 'bert-base', dtype: 'fp16', seq: 64 });
  });

  it('rejects bad options with one clear line', async () => {
    const r = await cli('tune', '--device', 'sim:orin-agx', '--slo', 'soon', '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read latency "soon"/);
    const n = await cli('tune', '--device', 'jetson', '--noise', '0.1', '--db', db);
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/--noise/);
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readTuningRunFile } from '../../src/store/tuning-run-file.ts';
import { TuningStore } from '../../src/store/tuning-store.ts';
import { runCli as cli } from '../fixtures/cli.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'pt-cli-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('polythrottle report', () => {
  it('writes the page and the PNGs, prints the recommendation, the files and progress', async () => {
    const out = join(dir, 'full');
    const r = await cli('report', join(fixtures, 'tuning-run.json'), '--timeline', join(fixtures, 'timeline.json'), '-o', out, '--scale', '1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Run cpu .* batch \d+: [\d.]+ mJ per query ± [\d.]+ %/);
    expect(r.out).toContain(join(out, 'report.html'));
    expect(r.err).toContain('rendering 5/5: timeline');
    for (const f of ['report.html', 'pareto.png', 'heatmap-gpu-emc.png', 'heatmap-gpu-min-max.png', 'convergence.png', 'timeline.png'])
      expect(existsSync(join(out, f)), f).toBe(true);
    // --scale 1 halves the default pixel size
    expect(readFileSync(join(out, 'pareto.png')).readUInt32BE(16)).toBeLessThan(1300);
  });

  it('--json lists files and what could not be drawn', async () => {
    const r = await cli('report', join(fixtures, 'tuning-run.json'), '-o', join(dir, 'json'), '--json', '--no-twin');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { files: string[]; summary: string[]; missing: { section: string }[] };
    expect(j.files).toHaveLength(5);
    expect(j.missing.map((m) => m.section)).toEqual(['timeline']);
    expect(r.err).toBe('');
  });

  it('fails with one line and exit code 2 on a file that is not a run or is missing', async () => {
    const r = await cli('report', join(fixtures, 'timeline.json'), '-o', join(dir, 'bad'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: .*timeline\.json is not a tuning run/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    const m = await cli('report', join(dir, 'missing.json'));
    expect(m.code).toBe(2);
    expect(m.err).toContain('no such file');
  });

  it('looks a run up in the tuning store by id prefix or `latest`, and lists recent runs when the id is unknown', async () => {
    const run = await readTuningRunFile(join(fixtures, 'tuning-run.json'));
    const db = join(dir, 'store.db');
    const store = new TuningStore(db);
    store.createRun({
      id: run.id,
      device: run.device,
      model: run.model,
      sloMs: run.slo.latencyMs,
      quantile: run.slo.quantile,
      optimizer: run.optimizer,
      seed: run.seed,
      budget: run.budget,
      settingsKey: 'k',
      createdAt: run.createdAt,
    });
    store.finishRun(run);
    store.close();
    for (const id of [run.id.slice(0, 12), 'latest']) {
      const r = await cli('report', id, '--db', db, '-o', join(dir, `store-${id}`), '--json', '--no-twin');
      expect(r.code, r.err).toBe(0);
      expect(existsSync(join(dir, `store-${id}`, 'pareto.png'))).toBe(true);
    }
    const missing = await cli('report', 'nonexistent-id', '--db', db);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no finished run or profile "nonexistent-id"');
    expect(missing.err).toContain(`recent runs: ${run.id.slice(0, 8)} (efficientnet-b0 on sim:orin-agx`);
    const noStore = await cli('report', 'some-id', '--db', join(dir, 'absent.db'));
    expect(noStore.code).toBe(2);
    expect(noStore.err).toContain('no file "some-id" and no tuning store at');
    expect(existsSync(join(dir, 'absent.db'))).toBe(false);
  });

  it('reads the run from stdin with -', () => {
    const out = join(dir, 'stdin');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../src/cli/main.ts'), 'report', '-', '-o', out, '--json'], {
      input: readFileSync(join(fixtures, 'tuning-run.json')),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'pt-cli-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  process.exitCode = undefined;
  await buildProgram().exitOverride().parseAsync(['node', 'polythrottle', ...args]);
  const code = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { out, err, code };
}

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

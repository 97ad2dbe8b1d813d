import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { defaultModelPath } from '../../src/model/build.ts';
import { runCli as cli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('polythrottle models', () => {
  it('list --json gives every zoo model with params, MACs and native input', async () => {
    const r = await cli('models', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { name: string; params: number; macs: number; nativeInput: string }[];
    expect(rows.map((x) => x.name)).toContain('efficientnet-b7');
    expect(rows.map((x) => x.name)).toContain('bert-large');
    const b0 = rows.find((x) => x.name === 'efficientnet-b0');
    expect(b0?.nativeInput).toBe('3×224×224 image');
    expect(b0?.params).toBeGreaterThan(5e6);
    expect(b0?.macs).toBeGreaterThan(3.5e8);
  });

  it('build writes a model that inspect analyses', async () => {
    const out = join(dir, 'tiny.onnx');
    const b = await cli('models', 'build', 'bert-tiny', '--seq', '8', '--out', out);
    expect(b.code).toBe(0);
    expect(b.out.trim()).toBe(out);
    expect(b.err).toMatch(/bert-tiny: 4\.39 M parameters, fp32/);
    const i = await cli('models', 'inspect', out, '--batch', '2');
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/input_ids int64\[N×8\]/);
    expect(i.out).toMatch(/last_hidden_state float32\[N×8×128\]/);
    expect(i.out).toMatch(/top 10 operators by FLOPs/);
    expect(i.out).toMatch(/unmodelled ops: none/);
    const j = await cli('models', 'inspect', 'resnet-50', '--json', '--batch', '4');
    const a = JSON.parse(j.out) as { batch: number; totals: { macs: number }; profile: { ops: unknown[] } };
    expect(a.batch).toBe(4);
    expect(a.totals.macs / 4).toBeGreaterThan(4e9);
    expect(a.profile.ops.length).toBeGreaterThan(50);
  });

  it('builds into the cache directory by default', async () => {
    const env = { POLYTHROTTLE_CACHE: join(dir, 'cache') };
    const expected = defaultModelPath('bert-tiny', { dtype: 'fp16', seq: 4 }, env);
    expect(expected).toBe(join(dir, 'cache', 'models', 'bert-tiny-fp16-seq4.onnx'));
    const old = process.env.POLYTHROTTLE_CACHE;
    process.env.POLYTHROTTLE_CACHE = env.POLYTHROTTLE_CACHE;
    try {
      const r = await cli('models', 'build', 'bert-tiny', '--seq', '4', '--dtype', 'fp16');
      expect(r.code).toBe(0);
      expect(existsSync(expected)).toBe(true);
    } finally {
      if (old === undefined) delete process.env.POLYTHROTTLE_CACHE;
      else process.env.POLYTHROTTLE_CACHE = old;
    }
  });

  it('rejects bad requests with one line and exit code 2', async () => {
    const seq = await cli('models', 'build', 'efficientnet-b0', '--seq', '8', '--out', join(dir, 'x.onnx'));
    expect(seq.code).toBe(2);
    expect(seq.err).toMatch(/--seq applies to the BERT models only/);
    const unknown = await cli('models', 'inspect', 'vgg-16');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/'vgg-16' is neither a file nor a zoo model/);
    expect(unknown.err).toMatch(/hint: zoo models: efficientnet-b0/);
  });

  it('prints bad files as one error line, the stack only with --verbose (separate process)', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'definitely not protobuf'.repeat(10));
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
    const plain = run('models', 'inspect', bad);
    expect(plain.status).toBe(2);
    expect(plain.stdout).toBe('');
    const lines = plain.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*bad\.onnx: not an ONNX model/);
    const verbose = run('models', 'inspect', join(dir, 'missing.onnx'), '--verbose');
    expect(verbose.status).toBe(2);
    expect(verbose.stderr).toMatch(/no such file: .*missing\.onnx/);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

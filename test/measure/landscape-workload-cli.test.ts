import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.ts';
import { buildBoard, treeManifest, x86Desktop } from '../fixtures/hardware/fake-tree.ts';

describe('landscape --workload measures the grid on a real (fake) device', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pt-landscape-w-'));
  afterAll(() => {
    delete process.env.POLYTHROTTLE_SYSFS_ROOT;
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures each configuration through the command runner, reports unusable windows and restores the tree', async () => {
    const root = await buildBoard(x86Desktop());
    const before = await treeManifest(root);
    process.env.POLYTHROTTLE_SYSFS_ROOT = root;
    const script = join(dir, 'bench.sh');
    writeFileSync(script, '#!/bin/sh\ni=0; while [ $i -lt 40 ]; do sleep 0.01; echo "batch=$1 latency_ms=2.5"; i=$((i+1)); done\n');
    chmodSync(script, 0o755);
    const out = join(dir, 'grid.csv');
    const r = await runCli(
      'landscape',
      '--device',
      'linux-cpu',
      '--model',
      'bert-tiny',
      '--workload',
      'command',
      '--command',
      `${script} {batch}`,
      '--latency-pattern',
      'latency_ms=([0-9.]+)',
      '--cpu-hz',
      '2000000000',
      '--batch-sizes',
      '1,2',
      '--settle',
      '0',
      '--warmup',
      '0',
      '--window',
      '200ms',
      '--repeats',
      '1',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    // two configurations were tried; the static fake RAPL counter never moves, so the power meter
    // must refuse both windows (zero energy is not a measurement) instead of writing 0 J rows
    expect(r.err).toMatch(/measured on linux-cpu/);
    expect(r.err.match(/not measured: cpu 2\.00 GHz · batch [12]: the power sensors read no energy/g)).toHaveLength(2);
    expect(await treeManifest(root)).toEqual(before);
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('says how to measure when a real device is named without a workload', async () => {
    const r = await runCli('landscape', '--device', 'linux-cpu', '--model', 'bert-tiny');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a simulated board/);
    expect(r.err).toMatch(/--workload onnx\|http\|command/);
  });
});

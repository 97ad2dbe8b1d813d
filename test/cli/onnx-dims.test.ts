/**
 * An .onnx file with two symbolic non-batch dimensions (like a Paddle export's
 * p2o.DynamicDimension.*) is analysed, put on the twin and tuned once `--dim` gives their sizes,
 * with the same flag on every command.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { openDevice } from '../../src/device/open.ts';
import { writeOnnxFile } from '../../src/model/index.ts';
import { ElemType } from '../../src/model/onnx/dtype.ts';
import { GraphBuilder } from '../../src/model/zoo/builder.ts';
import { serveModels } from '../../src/serve/serve-models.ts';
import { zeroInputs } from '../../src/serve/server.ts';
import { runCli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-dims-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const H = 'p2o.DynamicDimension.1';
const W = 'p2o.DynamicDimension.2';

/** image[batch, 3, H, W] → 3×3 conv to 16 channels → Relu → y[batch, 16, H, W]. */
function writeModel(): string {
  const b = new GraphBuilder('dyn', 'fp32');
  const x = b.input('image', ElemType.FLOAT, ['batch', 3, H, W]);
  const c = b.conv(x, 3, 16, 3, { name: 'conv', pad: 1 });
  const y = b.node('Relu', [c], {}, 'y');
  b.output(y, ElemType.FLOAT, ['batch', 16, H, W]);
  return writeOnnxFile(b.build(), join(dir, 'dyn.onnx')).path;
}

const model = writeModel();
const dims = (h: number, w: number) => ['--dim', `${H}=${h}`, '--dim', `${W}=${w}`];

describe('--dim on every command that takes an .onnx file', () => {
  it('models inspect analyses the model at the given sizes', async () => {
    const r = await runCli('models', 'inspect', model, ...dims(32, 48), '--json');
    expect(r.code, r.err).toBe(0);
    const a = JSON.parse(r.out) as { totals: { flops: number } };
    const bigger = JSON.parse((await runCli('models', 'inspect', model, '--dim', `${H}=64,${W}=96`, '--json')).out) as typeof a;
    // Four times the pixels, four times the work.
    expect(bigger.totals.flops / a.totals.flops).toBeCloseTo(4, 5);
  });

  it('landscape and tune refuse the file without --dim, naming the flag they take', async () => {
    for (const args of [
      ['landscape', '--model', model, '--batch-sizes', '1'],
      ['tune', '--device', 'sim:orin-agx', '--model', model, '--db', join(dir, 'none.db')],
    ]) {
      const r = await runCli(...args);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/symbolic dimension 'p2o\.DynamicDimension\.1' that is not the batch/);
      expect(r.err).toMatch(/hint: give its value, e.g. --dim p2o\.DynamicDimension\.1=128/);
    }
  });

  it('landscape computes the grid of the model at the given sizes on the twin', async () => {
    const small = join(dir, 'small.csv');
    const large = join(dir, 'large.csv');
    const a = await runCli('landscape', '--model', model, ...dims(32, 48), '--batch-sizes', '1', '--out', small);
    expect(a.code, a.err).toBe(0);
    const b = await runCli('landscape', '--model', model, ...dims(256, 384), '--batch-sizes', '1', '--out', large);
    expect(b.code, b.err).toBe(0);
    const firstLatency = (file: string) => {
      const [head, row] = readFileSync(file, 'utf8').split('\n');
      return Number(row!.split(',')[head!.split(',').indexOf('latency_p50_ms')]);
    };
    expect(firstLatency(large)).toBeGreaterThan(firstLatency(small));
  });

  it('tune finds a configuration for the model at the given sizes on the twin', async () => {
    const r = await runCli(
      'tune',
      '--device',
      'sim:orin-agx',
      '--model',
      model,
      ...dims(64, 64),
      '--slo',
      '1s',
      '--budget',
      '4',
      '--batch-sizes',
      '1,2',
      '--no-baselines',
      '--db',
      join(dir, 'tune.db'),
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const run = JSON.parse(r.out) as TuningRun;
    expect(run.recommendation).toBeTruthy();
  });

  it('workload feeds generated inputs of the given sizes; a name the model lacks is refused', async () => {
    const base = ['workload', '--workload', 'sim', '--model', model, '--batches', '2', '--warmup-batches', '0', '--json'];
    const r = await runCli(...base, ...dims(16, 16));
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { batches: number }).batches).toBe(2);
    const missing = await runCli(...base, '--dim', `${H}=16`);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/symbolic dimension 'p2o\.DynamicDimension\.2' that is not the batch/);
    expect(missing.err).toMatch(/--dim p2o\.DynamicDimension\.2=/);
    const wrong = await runCli(...base, ...dims(16, 16), '--dim', 'sequence=8');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/--dim sequence: dyn has no symbolic input dimension of that name/);
    expect(wrong.err).toMatch(/p2o\.DynamicDimension\.1, p2o\.DynamicDimension\.2/);
    // A benchmark program makes its own inputs: --dim there would be silently ignored, so it is refused.
    const command = await runCli('workload', '--workload', 'command', '--command', 'true', '--model', model, ...dims(16, 16));
    expect(command.code).toBe(2);
    expect(command.err).toMatch(/a --workload command program makes its own/);
  });

  it('serve puts the file on the twin at the given sizes, and refuses it without them', async () => {
    const serveAt = async (symbolicDims?: Record<string, number>) =>
      serveModels({
        models: [model],
        slo: '500ms',
        device: await openDevice('sim:orin-agx'),
        port: 0,
        warmupBatches: 1,
        snapshotFile: join(dir, `serve-${symbolicDims ? 'dims' : 'none'}.json`),
        ...(symbolicDims ? { symbolicDims } : {}),
      });
    // the twin's service time of one batch, and the input shape clients are told to send
    const measure = async (h: number, w: number) => {
      const served = await serveAt({ [H]: h, [W]: w });
      try {
        const meta = served.backend.models().find((m) => m.name === 'dyn')!;
        const { serviceMs } = await served.backend.infer('dyn', zeroInputs(meta, 1)!);
        return { kind: served.backend.kind, shape: meta.inputs[0]!.shape, serviceMs };
      } finally {
        await served.shutdown();
      }
    };
    const small = await measure(32, 48);
    const large = await measure(128, 192);
    expect(small.kind).toBe('sim');
    expect(small.shape).toEqual([-1, 3, 32, 48]);
    expect(large.shape).toEqual([-1, 3, 128, 192]);
    expect(large.serviceMs).toBeGreaterThan(small.serviceMs);
    await expect(serveAt()).rejects.toThrow(/symbolic dimension 'p2o\.DynamicDimension\.1' that is not the batch/);
  });

  it('--input-dims still works (its sizes stand for the dimensions they fill), with a one-line deprecation warning', async () => {
    const old = ['--input-dims', 'image=32x48'];
    const w = await runCli('workload', '--workload', 'sim', '--model', model, '--batches', '1', '--warmup-batches', '0', ...old, '--json');
    expect(w.code, w.err).toBe(0);
    expect(w.err.trimEnd().split('\n')).toEqual([expect.stringMatching(/^warning: --input-dims is deprecated.*--dim <name>=<size>/)]);
    // On the twin too (it used to be ignored there): the same grid as --dim gives.
    const viaOld = join(dir, 'old.csv');
    const viaDim = join(dir, 'dim.csv');
    expect((await runCli('landscape', '--model', model, ...old, '--batch-sizes', '1', '--out', viaOld)).code).toBe(0);
    expect((await runCli('landscape', '--model', model, ...dims(32, 48), '--batch-sizes', '1', '--out', viaDim)).code).toBe(0);
    expect(readFileSync(viaOld, 'utf8')).toBe(readFileSync(viaDim, 'utf8'));
  });
});

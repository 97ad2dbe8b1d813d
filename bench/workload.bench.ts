/**
 * Workload runner benchmarks, each against a baseline measured in the same run:
 *  1. onnxruntime in a worker thread vs on the main thread: longest event-loop stall while batches run.
 *  2. http runner with the request body encoded once per batch size vs encoded per batch (naive).
 *  3. Accuracy of the real-time measured trial (simulated board + sim backend + power meter) against
 *     the twin's exact energy per query at the same configurations.
 * Usage: npx tsx bench/workload.bench.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { evaluateConfig, loadBoard } from '../src/device/sim/index.ts';
import { openTrialRunner } from '../src/measure/open-trial-runner.ts';
import { buildModelFile, zooProfile } from '../src/model/index.ts';
import { createServer } from '../src/serve/server.ts';
import { encodeInferRequest, HttpBackend } from '../src/workload/http-backend.ts';
import { InputFactory } from '../src/workload/inputs.ts';
import { modelMetadata } from '../src/workload/model-source.ts';
import { OnnxBackend } from '../src/workload/onnx-backend.ts';
import { SimBackend } from '../src/workload/sim-backend.ts';

const quick = process.argv.includes('--quick');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Runs `work` while a 1 ms interval timer records the longest gap between its ticks. */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  await work();
  clearInterval(t);
  return Math.max(worst, performance.now() - last);
}

async function eventLoop(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pt-bench-'));
  const { path } = buildModelFile('efficientnet-b0', { out: join(dir, 'effnet-b0.onnx') });
  const batch = 8;
  const runs = quick ? 3 : 8;
  const threads = Math.max(1, availableParallelism());
  const backend = await OnnxBackend.create({ models: [{ name: 'm', path }], workers: 1, intraOpThreads: threads });
  const inputs = InputFactory.forModel(backend.metadata('m'), { seed: 1 }).batch(batch);
  await backend.infer('m', inputs); // warm
  const workerStall = await longestStall(async () => {
    for (let i = 0; i < runs; i++) await backend.infer('m', inputs);
  });
  await backend.close();
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads });
  const feeds = { input: new ort.Tensor('float32', inputs[0]!.data as Float32Array, [...inputs[0]!.shape]) };
  await session.run(feeds);
  const mainStall = await longestStall(async () => {
    for (let i = 0; i < runs; i++) await session.run(feeds);
  });
  await session.release();
  rmSync(dir, { recursive: true, force: true });
  return [
    `| longest event-loop stall, EfficientNet-B0 batch ${batch} × ${runs} runs, ${threads} intra-op threads | ${mainStall.toFixed(1)} ms | ${workerStall.toFixed(1)} ms | ${(mainStall / workerStall).toFixed(1)}× shorter |`,
  ];
}

async function httpEncoding(): Promise<string[]> {
  const meta = modelMetadata('efficientnet-b0');
  const sim = new SimBackend({ board: 'orin-agx', models: [{ metadata: meta, profile: zooProfile('efficientnet-b0') }] });
  const app = await createServer({ backend: sim, slo: { latencyMs: 5000, quantile: 0.99 }, batch: 4, warmupBatches: 0, bodyLimitBytes: 256 * 1024 * 1024 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  const client = await HttpBackend.connect({ url: `http://127.0.0.1:${addr.port}`, models: ['efficientnet-b0'] });
  const inputs = InputFactory.forModel(meta, { seed: 1 }).batch(4);
  const n = quick ? 4 : 10;
  const body = encodeInferRequest(inputs);
  await client.inferEncoded('efficientnet-b0', body);
  const timed = async (f: () => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await f();
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };
  const naive = await timed(() => client.infer('efficientnet-b0', inputs));
  const once = await timed(() => client.inferEncoded('efficientnet-b0', body));
  await client.close();
  await app.close();
  return [
    `| client-side time per batch, EfficientNet-B0 batch 4 over loopback (${(body.length / 1e6).toFixed(1)} MB JSON), median of ${n} | ${naive.toFixed(1)} ms | ${once.toFixed(1)} ms | ${(naive / once).toFixed(2)}× |`,
  ];
}

async function accuracy(): Promise<string[]> {
  const board = loadBoard('orin-agx');
  const g = board.gpu.freqsHz;
  const configs = [
    { batch: 8 },
    { batch: 8, gpuMinHz: g[2]!, gpuMaxHz: g[2]! },
    { batch: 1 },
    { batch: 4, gpuMinHz: g[6]!, gpuMaxHz: g[6]!, emcHz: board.emc.freqsHz[1]! },
  ];
  const runner = await openTrialRunner({
    device: 'sim:orin-agx',
    model: 'resnet-50',
    workload: 'sim',
    trial: { settleS: 0, warmupS: 0.1, windowS: quick ? 0.5 : 1.5, repeats: quick ? 1 : 2, periodMs: 20 },
  });
  const rows: string[] = [];
  const errs: number[] = [];
  for (const c of configs) {
    const m = await runner.measure(c);
    const want = evaluateConfig('orin-agx', zooProfile('resnet-50'), c);
    const err = m.energyPerQueryJ / want.energyPerQueryJ - 1;
    errs.push(Math.abs(err));
    rows.push(
      `| measured trial vs twin, ResNet-50 ${JSON.stringify(c).replaceAll('"', '')} | ${(want.energyPerQueryJ * 1000).toFixed(1)} mJ/query (twin, exact) | ${(m.energyPerQueryJ * 1000).toFixed(1)} mJ/query (measured) | ${(err * 100).toFixed(1)} % |`,
    );
  }
  await runner.close();
  rows.push(`| mean absolute error of the measured path | | | ${((errs.reduce((a, b) => a + b, 0) / errs.length) * 100).toFixed(1)} % |`);
  return rows;
}

const t0 = performance.now();
const lines = ['| what | baseline | ours | ratio |', '| --- | --- | --- | --- |'];
lines.push(...(await eventLoop()));
lines.push(...(await httpEncoding()));
lines.push(...(await accuracy()));
console.log(lines.join('\n'));
console.log(
  `\n(${((performance.now() - t0) / 1000).toFixed(1)} s${quick ? ', --quick' : ''}; ${availableParallelism()} CPUs, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} — the real-time rows depend on a free CPU)`,
);

/**
 * `npm run bench:serve`: what the server costs and how it behaves under overload, on loopback.
 *
 * Model: bert-base (token ids, a small JSON body) on the AGX Orin twin (the `sim` backend holds each
 * batch for the twin's service time and reports its energy). One run, three measurements:
 *   1. direct:   backend.infer() called in-process, one request at a time (the baseline);
 *   2. low load: the same model and batch (1) through the server, one connection (autocannon);
 *   3. 2× overload: batch limit 8, arrivals at twice the measured batch-8 capacity (autocannon
 *      with an overall rate); admitted-request latency vs the SLO, share of 503s, memory.
 * autocannon runs in a child process so the load generator does not share the server's event loop.
 * Bounded to about 40 s.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { InferenceBackend, ModelMetadata } from '../src/core/inference.ts';
import { createServer, zeroInputs } from '../src/serve/server.ts';
import { modelMetadata, modelProfile } from '../src/workload/model-source.ts';
import { SimBackend } from '../src/workload/sim-backend.ts';
import { burstSection, heavyBodySection } from './serve-board.ts';
import { driftSection } from './serve-drift.ts';

const MODEL = 'bert-base';
const BOARD = 'orin-agx';
const BATCH = 8;
const SLO = { latencyMs: 200, quantile: 0.99 };

interface ClientResult {
  readonly durationS: number;
  readonly status: Record<string, number>;
  /** Latency of 2xx responses, ms, sorted. */
  readonly okMs: number[];
  readonly errors: number;
}

const quantile = (sorted: readonly number[], q: number) => {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
};

// ── child: the load generator ────────────────────────────────────────────────────────────────────
async function clientMain(argJson: string): Promise<void> {
  const a = JSON.parse(argJson) as { url: string; body: string; connections: number; durationS: number; rate?: number };
  type Instance = { on(ev: 'response', fn: (c: unknown, status: number, bytes: number, ms: number) => void): void };
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object, cb: (err: Error | null, r: { errors: number }) => void) => Instance;
  const status: Record<string, number> = {};
  const okMs: number[] = [];
  // autocannon limits a rate per second per connection, so all connections send their share at the
  // start of each second. To offer a smooth rate, run several instances started evenly through the
  // second: `spread` bursts per second instead of one.
  const spread = a.rate ? Math.min(25, Math.max(1, Math.floor(a.rate / 4))) : 1;
  const run = (i: number) =>
    new Promise<{ errors: number }>((resolve, reject) => {
      const rate = a.rate ? Math.floor(a.rate / spread) + (i < a.rate % spread ? 1 : 0) : undefined;
      const inst = autocannon(
        {
          url: a.url,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: a.body,
          connections: Math.max(1, Math.ceil(a.connections / spread)),
          duration: a.durationS,
          ...(rate ? { overallRate: rate } : {}),
        },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
      inst.on('response', (_c, code, _b, ms) => {
        status[code] = (status[code] ?? 0) + 1;
        if (code >= 200 && code < 300) okMs.push(ms);
      });
    });
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: spread }, (_, i) => new Promise<{ errors: number }>((r, j) => setTimeout(() => run(i).then(r, j), (i * 1000) / spread))),
  );
  okMs.sort((x, y) => x - y);
  const out: ClientResult = { durationS: (performance.now() - t0) / 1000, status, okMs, errors: results.reduce((s, r) => s + r.errors, 0) };
  process.stdout.write(JSON.stringify(out));
}

function runClient(args: { url: string; body: string; connections: number; durationS: number; rate?: number }): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out) as ClientResult);
    });
  });
}

// ── parent: the measurements ─────────────────────────────────────────────────────────────────────
async function direct(backend: InferenceBackend, rows: number, seconds: number): Promise<number[]> {
  const meta = backend.models()[0]!;
  const inputs = zeroInputs(meta, rows)!;
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await backend.infer(meta.name, inputs);
    ms.push(performance.now() - t0);
  }
  return ms.sort((x, y) => x - y);
}

/** Alternate one direct call and one HTTP call (keep-alive, one socket); the differences, ms, sorted. */
async function paired(backend: InferenceBackend, url: string, body: string, seconds: number): Promise<{ diff: number[]; server: number[] }> {
  const meta = backend.models()[0]!;
  const inputs = zeroInputs(meta, 1)!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const r = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  const diff: number[] = [];
  const server: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await backend.infer(meta.name, inputs);
    const t1 = performance.now();
    await post();
    const t2 = performance.now();
    diff.push(t2 - t1 - (t1 - t0));
    server.push(t2 - t1);
  }
  agent.destroy();
  return { diff: diff.sort((x, y) => x - y), server: server.sort((x, y) => x - y) };
}

async function listen(backend: InferenceBackend, batch: number): Promise<{ app: FastifyInstance; url: string; admittedMs: number[] }> {
  const app = await createServer({ backend, slo: SLO, batch, warmupBatches: 3 });
  const admittedMs: number[] = [];
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 200 && req.url.endsWith('/infer')) admittedMs.push(reply.elapsedTime);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/v2/models/${MODEL}/infer`, admittedMs };
}

function requestBody(): string {
  const ids = Array.from({ length: 128 }, (_, i) => (i * 7919) % 30522);
  return JSON.stringify({
    inputs: [
      { name: 'input_ids', shape: [1, 128], datatype: 'INT64', data: ids },
      { name: 'attention_mask', shape: [1, 128], datatype: 'INT64', data: ids.map(() => 1) },
      { name: 'token_type_ids', shape: [1, 128], datatype: 'INT64', data: ids.map(() => 0) },
    ],
    outputs: [{ name: 'pooler_output' }],
  });
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/**
 * The same model's tensors with no execution time at all: isolates what the server itself costs
 * (HTTP, JSON, validation, batching, metrics) from the twin's timer-based service time.
 */
function instantBackend(meta: ModelMetadata): InferenceBackend {
  return {
    kind: 'instant',
    models: () => [meta],
    close: async () => {},
    infer: async (_m, inputs) => {
      const rows = inputs[0]!.shape[0]!;
      const outputs = meta.outputs.map((o) => {
        const shape = o.shape.map((d, i) => (i === 0 ? rows : d));
        return { name: o.name, datatype: o.datatype, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
      });
      return { outputs, serviceMs: 0 };
    },
  };
}

interface LowLoadRow {
  readonly label: string;
  readonly direct: number[];
  readonly cannon: ClientResult;
  readonly pairs: { diff: number[]; server: number[] };
}

/** Low load, batch 1: direct calls, autocannon with one connection, then paired alternation. */
async function lowLoad(label: string, backend: InferenceBackend, body: string): Promise<LowLoadRow> {
  await direct(backend, 1, 0.3); // warm-up
  const d = await direct(backend, 1, 2.5);
  const server = await listen(backend, 1);
  const cannon = await runClient({ url: server.url, body, connections: 1, durationS: 5 });
  const pairs = await paired(backend, server.url, body, 3);
  await server.app.close();
  return { label, direct: d, cannon, pairs };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const meta = modelMetadata(MODEL);
  const twin = new SimBackend({ board: BOARD, models: [{ metadata: meta, profile: await modelProfile(MODEL) }] });
  const body = requestBody();

  // 1 + 2. low load, same model and batch (1): the twin, and the same tensors with no service time
  const low = [await lowLoad(`${MODEL} twin`, twin, body), await lowLoad(`${MODEL} tensors, instant backend`, instantBackend(meta), body)];

  // 3. 2× overload with the batch limit 8: capacity measured directly first
  const d8 = await direct(twin, BATCH, 2.5);
  const capacityRps = (BATCH * 1000) / quantile(d8, 0.5);
  const over = await listen(twin, BATCH);
  const rate = Math.round(2 * capacityRps);
  const memBefore = process.memoryUsage();
  let peakRss = memBefore.rss;
  let peakHeap = memBefore.heapUsed;
  let peakQueue = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakQueue = Math.max(peakQueue, over.app.polythrottle.batcher.queuedRows(MODEL));
  }, 50);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const overRun = await runClient({ url: over.url, body, connections: 64, durationS: 10, rate });
  loopDelay.disable();
  clearInterval(sampler);
  const fullBatchMs = over.app.polythrottle.batcher.fullBatchMs(MODEL) ?? Number.NaN;
  const metrics = await over.app.polythrottle.metrics.registry.getMetricsAsJSON();
  await over.app.close();
  await twin.close();

  type Metric = { name: string; values: { metricName?: string; value: number }[] };
  const metricValue = (name: string, sample = name) =>
    (metrics as unknown as Metric[])
      .find((m) => m.name === name)
      ?.values.filter((v) => (v.metricName ?? name) === sample)
      .reduce((a, v) => a + v.value, 0) ?? Number.NaN;
  const batchCount = metricValue('polythrottle_batch_size', 'polythrottle_batch_size_count');
  const meanBatch = metricValue('polythrottle_batch_size', 'polythrottle_batch_size_sum') / batchCount;
  const meanBatchMs = (metricValue('polythrottle_batch_duration_seconds', 'polythrottle_batch_duration_seconds_sum') / batchCount) * 1000;
  const energyJ = metricValue('polythrottle_energy_joules_total');
  const lateDrops = metricValue('polythrottle_late_drops_total');

  const total = (r: ClientResult) => Object.values(r.status).reduce((a, n) => a + n, 0);
  const refused = (r: ClientResult) => r.status['503'] ?? 0;
  const admitted = [...over.admittedMs].sort((x, y) => x - y);
  const okRps = (r: ClientResult) => f(r.okMs.length / r.durationS, 1);

  console.log(
    `\nserve benchmark: ${MODEL} on the ${BOARD} twin (sim backend), SLO p99 ≤ ${SLO.latencyMs} ms; Node ${process.version}, ${availableParallelism()} CPUs\n`,
  );
  console.log('| measurement | requests/s | p50 ms | p99 ms | 503 share | server overhead / notes |');
  console.log('|---|---|---|---|---|---|');
  for (const r of low) {
    const dp50 = quantile(r.direct, 0.5);
    console.log(
      `| ${r.label}: direct infer(), batch 1, in-process (baseline) | ${f(1000 / dp50, 1)} | ${f(dp50)} | ${f(quantile(r.direct, 0.99))} | — | ${r.direct.length} calls |`,
    );
    console.log(
      `| ${r.label}: server, batch 1, autocannon 1 connection | ${okRps(r.cannon)} | ${f(quantile(r.cannon.okMs, 0.5))} | ${f(quantile(r.cannon.okMs, 0.99))} | ${f(refused(r.cannon) / Math.max(1, total(r.cannon)), 3)} | p50 +${f(quantile(r.cannon.okMs, 0.5) - dp50)} ms |`,
    );
    console.log(
      `| ${r.label}: server, batch 1, alternating with direct calls | — | ${f(quantile(r.pairs.server, 0.5))} | ${f(quantile(r.pairs.server, 0.99))} | 0 | median paired difference +${f(quantile(r.pairs.diff, 0.5))} ms (${r.pairs.diff.length} pairs) |`,
    );
  }
  console.log(
    `| ${MODEL} twin: direct infer(), batch ${BATCH}, in-process | ${f(capacityRps, 1)} rows/s | ${f(quantile(d8, 0.5))} | ${f(quantile(d8, 0.99))} | — | capacity = ${BATCH} rows / p50 |`,
  );
  console.log(
    `| ${MODEL} twin: server, batch ≤ ${BATCH}, ${rate}/s offered (2× capacity) | ${okRps(overRun)} admitted of ${f(total(overRun) / overRun.durationS, 1)} sent | ${f(quantile(overRun.okMs, 0.5))} | ${f(quantile(overRun.okMs, 0.99))} | ${f(refused(overRun) / Math.max(1, total(overRun)), 3)} | in-server p99 ${f(quantile(admitted, 0.99))} ms; mean batch ${f(meanBatch)}; ${f(energyJ / Math.max(1, admitted.length), 3)} J/request; ${lateDrops} late drops |`,
  );
  console.log(
    `\nmemory during overload: RSS ${mib(memBefore.rss)} → peak ${mib(peakRss)} MiB, heap ${mib(memBefore.heapUsed)} → peak ${mib(peakHeap)} MiB; peak queue ${peakQueue} rows`,
  );
  console.log(
    `batches in the server during overload: mean ${f(meanBatchMs)} ms, estimate in force ${f(fullBatchMs)} ms; event-loop delay p50 ${f(loopDelay.percentile(50) / 1e6)} ms, p99 ${f(loopDelay.percentile(99) / 1e6)} ms; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `admitted p99: ${f(quantile(overRun.okMs, 0.99))} ms at the client, ${f(quantile(admitted, 0.99))} ms in the server, SLO ${SLO.latencyMs} ms; ` +
      `server overhead at low load (p50, instant backend): +${f(quantile(low[1]!.cannon.okMs, 0.5) - quantile(low[1]!.direct, 0.5))} ms autocannon, +${f(quantile(low[1]!.pairs.diff, 0.5))} ms paired (target ≤ 1 ms)`,
  );
  const errors = [...low.map((r) => r.cannon.errors), overRun.errors].reduce((a, b) => a + b, 0);
  if (errors > 0) console.log(`client errors (connection level): ${errors}`);
  console.log(`total ${f((performance.now() - t0) / 1000, 1)} s`);
}

const clientArg = process.argv.indexOf('--client');
if (clientArg >= 0) await clientMain(process.argv[clientArg + 1]!);
else {
  // --section overhead|heavy|burst|drift (repeatable; all by default); --quick: shorter runs (< 2 min)
  const quick = process.argv.includes('--quick');
  const sections = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--section' ? [a] : []));
  const want = (s: string) => sections.length === 0 || sections.includes(s);
  const t0 = performance.now();
  if (want('overhead') && !quick) await main();
  if (want('heavy')) await heavyBodySection({ quick });
  if (want('burst')) await burstSection({ quick });
  if (want('drift')) await driftSection({ quick });
  console.log(`\nall sections: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

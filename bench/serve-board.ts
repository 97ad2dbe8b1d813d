/**
 * The serve benchmark's board sections: a heavy-body model (host-side cost in admission) and
 * synchronised bursts, each side by side with the device-only admission model (`hostCostAware:
 * false`, the behaviour before host costs were accounted), measured in the same run.
 */
import { loadavg } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { InferenceBackend, Tensor } from '../src/core/inference.ts';
import { splitBinaryBody } from '../src/serve/binary-tensor.ts';
import { parseInferRequest } from '../src/serve/infer-request.ts';
import { parseInferJson } from '../src/serve/json-fast-path.ts';
import { createServer, zeroInputs } from '../src/serve/server.ts';
import { encodeBinaryInferRequest } from '../src/workload/http-backend.ts';
import { modelMetadata, modelProfile } from '../src/workload/model-source.ts';
import { SimBackend } from '../src/workload/sim-backend.ts';
import { type LoadResult, runLoad, type Schedule } from './serve-load.ts';

export const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(100 * x).toFixed(d)} %` : '—');
const quantile = (sorted: readonly number[], q: number) => {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
};

interface Served {
  readonly app: FastifyInstance;
  readonly url: string;
  /** In-server latency of admitted requests, ms (arrival to response). */
  readonly admittedMs: number[];
  readonly batchSizes: number[];
}

async function serve(
  backend: InferenceBackend,
  model: string,
  slo: { latencyMs: number; quantile: number },
  batch: number,
  hostCostAware: boolean,
): Promise<Served> {
  const app = await createServer({ backend, slo, batch, warmupBatches: 3, hostCostAware, bodyLimitBytes: 16 * 2 ** 20 });
  const admittedMs: number[] = [];
  const batchSizes: number[] = [];
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 200 && req.url.endsWith('/infer')) admittedMs.push(reply.elapsedTime);
  });
  app.polythrottle.batcher.on('batch', (e) => {
    if (!e.failed) batchSizes.push(e.size);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/v2/models/${model}/infer`, admittedMs, batchSizes };
}

interface Body {
  readonly label: string;
  readonly bytes: Buffer;
  readonly headers: Record<string, string>;
}

/** An image-like FP32 input: one decimal per value, as a JSON body (about 4 bytes a value) and as the binary extension. */
function imageBodies(input: Tensor): Body[] {
  let seed = 7;
  const data = new Float32Array((input.data as Float32Array).length);
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = Math.floor((seed / 2 ** 32) * 10) / 10;
  }
  const t = { ...input, data };
  const json = Buffer.from(
    JSON.stringify({ inputs: [{ name: t.name, shape: t.shape, datatype: t.datatype, data: Array.from(data, (v) => Math.round(v * 10) / 10) }] }),
  );
  const bin = encodeBinaryInferRequest([t], []) as { bytes: Uint8Array; headerLength: number };
  return [
    { label: 'JSON', bytes: json, headers: { 'content-type': 'application/json' } },
    {
      label: 'binary',
      bytes: Buffer.from(bin.bytes),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(bin.headerLength) },
    },
  ];
}

const admittedWithin = (ms: readonly number[], slo: number) => (ms.length === 0 ? Number.NaN : ms.filter((x) => x <= slo).length / ms.length);
const shed = (r: LoadResult) => r.sent.filter((s) => s.status === 503).length / Math.max(1, r.sent.length);

async function load(s: Served, body: Body, schedule: Schedule): Promise<LoadResult> {
  return runLoad({ url: s.url, bodyB64: body.bytes.toString('base64'), headers: body.headers, schedule });
}

export interface SectionOptions {
  readonly quick: boolean;
}

/** Heavy-body model: EfficientNet-B0 (602 KB JSON or binary) at 50 % and 90 % of the server's capacity for that body. */
export async function heavyBodySection(o: SectionOptions): Promise<void> {
  const MODEL = 'efficientnet-b0';
  const BATCH = 8;
  const SLO = { latencyMs: 50, quantile: 0.99 };
  const meta = modelMetadata(MODEL);
  const backend = new SimBackend({ board: 'orin-agx', models: [{ metadata: meta, profile: await modelProfile(MODEL) }] });
  const bodies = imageBodies(zeroInputs(meta, 1)![0]!);
  const runS = o.quick ? 3 : 12;
  // in-process host cost of one request body, each path (median of 30, interleaved)
  const paths: [string, () => void][] = [
    ['JSON, JSON.parse (before)', () => parseInferRequest(JSON.parse(bodies[0]!.bytes.toString('utf8')), meta, BATCH)],
    ['JSON, fast path (new)', () => parseInferRequest(parseInferJson(bodies[0]!.bytes), meta, BATCH)],
    [
      'binary extension',
      () => {
        const b = splitBinaryBody(bodies[1]!.bytes, Number(bodies[1]!.headers['inference-header-content-length']));
        parseInferRequest(b.header, meta, BATCH, undefined, b.blob);
      },
    ],
  ];
  const times = paths.map(() => [] as number[]);
  for (let k = 0; k < 30; k++)
    paths.forEach(([, fn], i) => {
      const t0 = performance.now();
      fn();
      times[i]!.push(performance.now() - t0);
    });
  const med = times.map((t) =>
    quantile(
      [...t].sort((a, b) => a - b),
      0.5,
    ),
  );
  console.log(`\n### Heavy-body model: ${MODEL} on the orin-agx twin, batch ≤ ${BATCH} (the profile's), SLO p99 ≤ ${SLO.latencyMs} ms\n`);
  console.log(
    'Capacity = the server\'s admitted throughput for that body under a closed loop of 32 connections (host-cost model on). "within SLO" = share of admitted requests answered within the SLO, in the server (arrival to response) and at the client.\n',
  );
  console.log('| parse path (in process, one request) | median ms | vs JSON.parse |\n|---|---|---|');
  paths.forEach(([label], i) => {
    console.log(`| ${label} | ${f(med[i]!)} | ${f(med[0]! / med[i]!)}× faster |`);
  });
  console.log('');
  console.log(
    '| body | admission model | offered | admitted/s | within SLO (server) | within SLO (client) | p99 admitted (server) ms | mean batch (profile 8) | shed |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const body of bodies) {
    const probe = await serve(backend, MODEL, SLO, BATCH, true);
    const sat = await load(probe, body, { kind: 'saturate', connections: 32, durationS: o.quick ? 2 : 6 });
    const kind = body.label === 'JSON' ? 'json' : 'binary';
    const parseMs = probe.app.polythrottle.hostCosts?.parseMs(MODEL, kind, body.bytes.length) ?? Number.NaN;
    await probe.app.close();
    const capacity = sat.sent.filter((s) => s.status === 200).length / sat.durationS;
    console.log(
      `| ${body.label} (${(body.bytes.length / 1024).toFixed(0)} KB) | capacity | closed loop | ${f(capacity, 1)} | | | parse p90 ${f(parseMs)} ms (measured by the server) | | load average ${loadavg()[0]!.toFixed(1)} |`,
    );
    for (const share of [0.5, 0.9]) {
      for (const aware of [false, true]) {
        const s = await serve(backend, MODEL, SLO, BATCH, aware);
        const r = await load(s, body, { kind: 'poisson', rate: share * capacity, durationS: runS, seed: 11 });
        await s.app.close();
        const admitted = [...s.admittedMs].sort((a, b) => a - b);
        const clientOk = r.sent.filter((x) => x.status === 200).map((x) => x.ms);
        const meanBatch = s.batchSizes.reduce((a, b) => a + b, 0) / Math.max(1, s.batchSizes.length);
        console.log(
          `| ${body.label} | ${aware ? 'host costs (new)' : 'device only (before)'} | ${Math.round(share * 100)} % = ${f(share * capacity, 1)}/s | ${f(clientOk.length / r.durationS, 1)} | ${pct(admittedWithin(admitted, SLO.latencyMs))} | ${pct(admittedWithin(clientOk, SLO.latencyMs))} | ${f(quantile(admitted, 0.99))} | ${f(meanBatch)} | ${pct(shed(r), 1)} |`,
        );
      }
    }
  }
  await backend.close();
}

/** Synchronised bursts of 2× and 5× capacity over a quarter-capacity steady load; recovery after the last burst. */
export async function burstSection(o: SectionOptions): Promise<void> {
  const MODEL = 'bert-base';
  const BATCH = 8;
  const SLO = { latencyMs: 200, quantile: 0.99 };
  const meta = modelMetadata(MODEL);
  const backend = new SimBackend({ board: 'orin-agx', models: [{ metadata: meta, profile: await modelProfile(MODEL) }] });
  const inputs = zeroInputs(meta, BATCH)!;
  const ms: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await backend.infer(MODEL, inputs);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const capacity = (BATCH * 1000) / quantile(ms, 0.5);
  const ids = Array.from({ length: 128 }, (_, i) => (i * 7919) % 30522);
  const body: Body = {
    label: 'JSON',
    bytes: Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'input_ids', shape: [1, 128], datatype: 'INT64', data: ids },
          { name: 'attention_mask', shape: [1, 128], datatype: 'INT64', data: ids.map(() => 1) },
          { name: 'token_type_ids', shape: [1, 128], datatype: 'INT64', data: ids.map(() => 0) },
        ],
        outputs: [{ name: 'pooler_output' }],
      }),
    ),
    headers: { 'content-type': 'application/json' },
  };
  const count = o.quick ? 2 : 5;
  const after = o.quick ? 2 : 5;
  console.log(
    `\n### Synchronised bursts: ${MODEL} on the orin-agx twin, batch ≤ ${BATCH}, SLO p99 ≤ ${SLO.latencyMs} ms; capacity ${f(capacity, 1)} rows/s (batch ${BATCH}, direct)\n`,
  );
  console.log(
    `Each second for ${count} s, k × capacity requests arrive at once, over a steady quarter-capacity load that goes on ${after} s after the last burst. Recovery = from the last burst to the last refused steady request.\n`,
  );
  console.log(
    '| burst | admission model | requests | admitted | within SLO (server) | within SLO (client) | p99 admitted (server) ms | steady refused after last burst | recovery | held at the end (reserved rows / parse backlog) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const k of [2, 5]) {
    for (const aware of [false, true]) {
      const s = await serve(backend, MODEL, SLO, BATCH, aware);
      const r = await load(s, body, {
        kind: 'bursts',
        size: Math.round(k * capacity),
        count,
        periodMs: 1000,
        steadyRate: capacity / 4,
        durationS: count + after,
      });
      const held = `${s.app.polythrottle.batcher.reservedRows(MODEL)} rows / ${f(s.app.polythrottle.batcher.hostBacklogMs)} ms`;
      await s.app.close();
      const last = (count - 1) * 1000;
      const steadyAfter = r.sent.filter((x) => x.tag === 'steady' && x.at > last);
      const refusedAfter = steadyAfter.filter((x) => x.status === 503);
      const recoveryMs = refusedAfter.length === 0 ? 0 : Math.max(...refusedAfter.map((x) => x.at)) - last;
      const admitted = [...s.admittedMs].sort((a, b) => a - b);
      const clientOk = r.sent.filter((x) => x.status === 200).map((x) => x.ms);
      console.log(
        `| ${k}× (${Math.round(k * capacity)} at once), load average ${loadavg()[0]!.toFixed(1)} | ${aware ? 'host costs (new)' : 'device only (before)'} | ${r.sent.length} | ${clientOk.length} | ${pct(admittedWithin(admitted, SLO.latencyMs))} | ${pct(admittedWithin(clientOk, SLO.latencyMs))} | ${f(quantile(admitted, 0.99))} | ${refusedAfter.length} of ${steadyAfter.length} | ${f(recoveryMs / 1000)} s | ${held} |`,
      );
    }
  }
  await backend.close();
}

// @ts-check
/**
 * Worker thread of the onnx backend: owns one onnxruntime-node session per model and runs batches
 * sent by the main thread (session.run blocks its thread, so it must not run on the main one).
 * Plain JavaScript: Node 20 worker threads cannot load a .ts entry point through a loader hook.
 * Protocol (see onnx-backend.ts): workerData { models: [{name, path}], intraOpThreads, interOpThreads }
 * → 'ready' {models: metadata} | 'fatal' {message}; 'run' {id, model, feeds} → 'result' | 'error'.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const port = parentPort;
if (!port) throw new Error('onnx-worker.mjs must run in a worker thread');

/** @param {readonly import('onnxruntime-node').InferenceSession.ValueMetadata[]} list */
const describe = (list) =>
  list.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );

/** @type {Map<string, import('onnxruntime-node').InferenceSession>} */
const sessions = new Map();

async function init() {
  const options = {
    intraOpNumThreads: workerData.intraOpThreads,
    interOpNumThreads: workerData.interOpThreads,
    executionMode: /** @type {const} */ ('sequential'),
    graphOptimizationLevel: /** @type {const} */ ('all'),
  };
  const models = [];
  for (const m of workerData.models) {
    try {
      const s = await ort.InferenceSession.create(m.path, options);
      sessions.set(m.name, s);
      models.push({ name: m.name, inputs: describe(s.inputMetadata), outputs: describe(s.outputMetadata) });
    } catch (e) {
      throw new Error(`cannot load ${m.path} in onnxruntime: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return models;
}

init().then(
  (models) => port.postMessage({ type: 'ready', models }),
  (e) => port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) }),
);

port.on('message', async (msg) => {
  if (msg.type !== 'run') return;
  const session = sessions.get(msg.model);
  if (!session) {
    port.postMessage({ type: 'error', id: msg.id, message: `model "${msg.model}" is not loaded in this worker` });
    return;
  }
  try {
    /** @type {Record<string, import('onnxruntime-node').Tensor>} */
    const feeds = {};
    for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.type, f.data, f.dims);
    const t0 = performance.now();
    const out = await session.run(feeds);
    const serviceMs = performance.now() - t0;
    const outputs = [];
    const transfer = [];
    for (const name of session.outputNames) {
      const t = out[name];
      if (!t) continue;
      // A copy owned by this thread can be transferred without a second copy.
      const data = ArrayBuffer.isView(t.data) ? t.data.slice() : t.data;
      outputs.push({ name, type: t.type, dims: [...t.dims], data });
      if (ArrayBuffer.isView(data)) transfer.push(data.buffer);
    }
    port.postMessage({ type: 'result', id: msg.id, outputs, serviceMs }, transfer);
  } catch (e) {
    port.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});

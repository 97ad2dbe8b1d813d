import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateConfig } from '../../src/device/sim/evaluate.ts';
import { createSimDevice } from '../../src/device/sim/index.ts';
import { openBackend } from '../../src/serve/open-backend.ts';
import { startServing } from '../../src/serve/serve-session.ts';
import { modelProfile } from '../../src/workload/model-source.ts';
import { killChildrenAfterEach, spawnTsx } from '../fixtures/child-process.ts';
import { post } from './fakes.ts';

const request = (rows: number) => ({
  inputs: [{ name: 'input', shape: [rows, 3, 224, 224], datatype: 'FP32', data: new Array(rows * 3 * 224 * 224).fill(0) }],
  outputs: [{ name: 'logits' }],
});

killChildrenAfterEach();

describe('serving on the device twin', () => {
  it("applies the clocks to the twin and meters exactly the twin's energy for each batch", async () => {
    const twin = createSimDevice('orin-agx');
    const before = await twin.readClocks();
    // the session closes its device at the end: keep the twin open to read its clocks afterwards
    const device = Object.assign(Object.create(twin) as typeof twin, { close: async () => {} });
    const backend = await openBackend({ kind: 'sim', models: ['mobilenet-v2'], device });
    const clocks = { gpuMinHz: 930_750_000, gpuMaxHz: 930_750_000 };
    // a generous SLO: the two bodies (600 KB of JSON each) are parsed one after the other, and the
    // queue delay counts from arrival, so on a loaded machine a tight SLO would dispatch them apart
    const session = await startServing({ backend, device, clocks, slo: { latencyMs: 3000, quantile: 0.99 }, batch: 2, port: 0, warmupBatches: 2 });
    const answers = await Promise.all([
      post(`${session.url}/v2/models/mobilenet-v2/infer`, request(1)),
      post(`${session.url}/v2/models/mobilenet-v2/infer`, request(1)),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[0]!.json.outputs).toMatchObject([{ name: 'logits', shape: [1, 1000] }]);
    const text = await (await fetch(`${session.url}/metrics`)).text();
    const at = await device.readClocks();
    const ev = evaluateConfig('orin-agx', await modelProfile('mobilenet-v2'), { ...at, batch: 2 });
    expect(at.gpuMaxHz).toBe(930_750_000);
    expect(text).toContain('polythrottle_batch_size_sum{model="mobilenet-v2"} 2');
    expect(text).toContain('polythrottle_batch_size_count{model="mobilenet-v2"} 1'); // the two shared one batch
    const j = Number(/polythrottle_energy_joules_total\{model="mobilenet-v2"\} ([\d.e-]+)/.exec(text)?.[1]);
    expect(j).toBeCloseTo(2 * ev.energyPerQueryJ, 9);
    expect(text).toContain('polythrottle_clock_hertz{clock="gpu_max"} 930750000');
    expect(before.gpuMaxHz).not.toBe(930_750_000);
    await session.shutdown();
    expect(await twin.readClocks()).toEqual(before);
  });

  it('the CLI serves a zoo model on sim:orin-agx and exits 0 on SIGINT', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const server = spawnTsx(main, [
      'serve',
      '--device',
      'sim:orin-agx',
      '--model',
      'mobilenet-v2',
      '--slo',
      '100ms',
      '--config',
      'gpu-max=930.75MHz,batch=4',
      '--port',
      '0',
    ]);
    // Output ends when the pipes close, which can be after the process's exit event.
    const closed = new Promise<number | null>((r) => server.child.on('close', (code) => r(code)));
    // Each line is waited for by itself: the ones printed after "serving" may come in later chunks
    // (they did on a loaded machine).
    const url = (await server.waitFor(/serving (http:\/\/\S+)/))[1]!;
    await server.waitFor(/model {4}mobilenet-v2 \(sim\): batch ≤ 4/);
    const token = (await server.waitFor(/admin {4}Authorization: Bearer (\S+)/))[1]!;
    const r = await post(`${url}/v2/models/mobilenet-v2/infer`, request(1));
    expect(r.status, r.text).toBe(200);
    const admin = await fetch(`${url}/v1/config`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await admin.json()) as { config: { gpuMaxHz: number } }).config.gpuMaxHz).toBe(930_750_000);
    server.child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(server.output()).toContain('SIGINT: draining');
    expect(server.output()).toContain('stopped');
  }, 120_000);
});

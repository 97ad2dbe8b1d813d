/** /metrics leaves the energy and power series out when nothing meters energy (`serve --device none`). */
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.ts';
import { FakeBackend, doubleRequest, post } from './fakes.ts';

async function scrapeAfterOneRequest(backend: FakeBackend): Promise<string> {
  const app = await createServer({ backend, slo: { latencyMs: 200, quantile: 0.99 }, batch: 4, warmupBatches: 0 });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const a = app.server.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    expect((await post(`${base}/v2/models/double/infer`, doubleRequest(1))).status).toBe(200);
    return await (await fetch(`${base}/metrics`)).text();
  } finally {
    await app.close();
  }
}

describe('metrics without anything to meter energy with', () => {
  it('has no power, energy or unmetered-batch series instead of 0 W and 0 J', async () => {
    const text = await scrapeAfterOneRequest(new FakeBackend());
    expect(text).toContain('polythrottle_batch_size_count{model="double"} 1');
    for (const name of [
      'polythrottle_board_power_watts',
      'polythrottle_board_energy_joules',
      'polythrottle_energy_joules_total',
      'polythrottle_energy_per_request_joules',
      'polythrottle_energy_unmetered_batches_total',
    ])
      expect(text).not.toContain(name);
  });

  it('has them once a backend reports energy, even without a device', async () => {
    const text = await scrapeAfterOneRequest(new FakeBackend({ fixedMs: 5, powerW: 20 }));
    // the batch's energy over its service time as the batcher measured it (a little longer than the backend's)
    const w = Number(/polythrottle_board_power_watts ([\d.e-]+)/.exec(text)?.[1]);
    expect(w).toBeGreaterThan(5);
    expect(w).toBeLessThanOrEqual(20);
    expect(text).toContain('polythrottle_energy_joules_total{model="double"}');
  });
});

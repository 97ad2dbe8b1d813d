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
    // the energy is the backend's own figure: 20 W over its 5.5 ms batch (fixed 5 ms + 0.5 ms a row)
    const j = Number(/polythrottle_energy_joules_total\{model="double"\} ([\d.e-]+)/.exec(text)?.[1]);
    expect(j).toBeCloseTo((20 * 5.5) / 1000, 12);
    // power is that energy over the service time the batcher timed, which the timer's granularity
    // makes a little shorter or longer than 5.5 ms: present and positive, not a fixed number
    const w = Number(/polythrottle_board_power_watts ([\d.e-]+)/.exec(text)?.[1]);
    expect(w).toBeGreaterThan(0);
    expect(Number.isFinite(w)).toBe(true);
  });
});

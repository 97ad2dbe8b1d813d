import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.ts';
import { FakeBackend } from './fakes.ts';

describe('warm-up', () => {
  it('measures the batch limit in force when the server gets ready, not the one it was created with', async () => {
    const backend = new FakeBackend({ fixedMs: 1 });
    const app = await createServer({
      backend,
      slo: { latencyMs: 200, quantile: 0.99 },
      batch: 8,
      warmupBatches: 2,
      adminToken: 'warmup-token-123',
      // an admin plugin (the fine-tuning scheduler, say) changes the batch size while registering
      adminPlugins: [
        async (a) => {
          await a.polythrottle.applyConfig(undefined, 2);
        },
      ],
    });
    try {
      await app.ready();
      expect(app.polythrottle.batcher.maxBatch('double')).toBe(2);
      expect(backend.batches.filter((b) => b.model === 'double').map((b) => b.rows)).toEqual([1, 1, 2, 2]);
    } finally {
      await app.close();
    }
  });
});

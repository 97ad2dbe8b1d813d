import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { Slo } from '../../src/core/slo.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { createServingFinetune, type RecommendForSlo } from '../../src/finetune/server/serving-finetune.ts';
import type { ServingContext } from '../../src/serve/serving-context.ts';

const c = (gpuMaxHz: number, batch: number): Config => ({ gpuMinHz: gpuMaxHz, gpuMaxHz, emcHz: 3_199_000_000, batch });
const fast = c(1_300_000_000, 1);
const slow = c(600_000_000, 4);
const measurement = (latencyTailMs: number, energyPerQueryJ: number) => ({ valid: true, latencyTailMs, serviceMs: latencyTailMs / 2, energyPerQueryJ });
const run = {
  model: 'efficientnet-b0',
  slo: { latencyMs: 100, quantile: 0.99 },
  trials: [
    { config: fast, measurement: measurement(20, 0.5) },
    { config: slow, measurement: measurement(80, 0.2) },
  ],
  recommendation: { config: slow },
} as unknown as TuningRun;

/** The serving context as far as the fine-tuning service touches it at start and on an SLO change. */
function context(slo: Slo): ServingContext {
  return {
    slo,
    batcher: { runWhenIdle: (task: () => Promise<void>) => task(), on: () => {} },
    on: () => {},
    applyConfig: async () => undefined,
  } as unknown as ServingContext;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dbFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'pt-ftpe-'));
  dirs.push(d);
  return join(d, 'jobs.db');
}

describe('fine-tuning beside a tuning profile (real hardware)', () => {
  it('re-selects through the recommendForSlo it is given, else keeps the profile recommendation', async () => {
    const asked: Slo[] = [];
    const recommendForSlo: RecommendForSlo = (r, slo) => {
      expect(r).toBe(run);
      asked.push(slo);
      return { measured: slo.latencyMs < 50 ? { config: fast } : null };
    };
    const ft = createServingFinetune(context(run.slo), { dbFile: dbFile(), model: 'efficientnet-b0', rateRps: 5, run, recommendForSlo, servedConfig: slow });
    try {
      const s = ft.service.scheduler;
      expect(s.config).toEqual(slow);
      s.setSlo({ latencyMs: 30, quantile: 0.99 });
      expect(s.config).toEqual(fast);
      s.setSlo({ latencyMs: 200, quantile: 0.99 });
      expect(s.config).toEqual(slow);
      expect(asked.map((x) => x.latencyMs)).toEqual([30, 200]);
    } finally {
      await ft.close();
    }
  });

  it('needs recommendForSlo to answer SLO changes', () => {
    expect(() => createServingFinetune(context(run.slo), { dbFile: dbFile(), model: 'efficientnet-b0', rateRps: 5, run })).toThrow(/recommendForSlo/);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSimTrialRunner, formatConfig, recommendForSlo, tune, zooProfile } from '../../src/index.ts';

describe('the README library example', () => {
  it('is the code this test runs', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /## Using it as a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    for (const line of ["createSimTrialRunner({ board: 'tx2', profile: zooProfile('efficientnet-b0') })", 'await tune({', 'recommendForSlo(run,'])
      expect(block).toContain(line);
  });

  it('tunes on the twin, saves energy against the default and answers a looser SLO without measuring', async () => {
    const runner = createSimTrialRunner({ board: 'tx2', profile: zooProfile('efficientnet-b0') });
    const run = await tune({ runner, model: 'efficientnet-b0', slo: { latencyMs: 50, quantile: 0.99 }, budget: 20, seed: 1 });
    await runner.close();
    expect(run.recommendation).not.toBeNull();
    expect(run.recommendation!.measurement.latencyTailMs).toBeLessThanOrEqual(50);
    expect(formatConfig(run.recommendation!.config)).toMatch(/batch \d+/);
    // the default is measured once, in the initial design, at the batch the prior expects to suit it
    const atDefault = run.baselines.find((b) => b.name === 'default');
    expect(atDefault?.saving).toBeGreaterThan(0);
    const looser = recommendForSlo(run, { latencyMs: 80, quantile: 0.99 });
    expect(looser.measured).not.toBeNull();
    expect(looser.measured!.energyPerQueryJ).toBeLessThanOrEqual(run.recommendation!.measurement.energyPerQueryJ * 1.05);
  });
});

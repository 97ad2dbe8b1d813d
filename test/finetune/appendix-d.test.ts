import { describe, expect, it } from 'vitest';
import { runTwinReplay } from '../../src/finetune/simulation/twin-replay.ts';

const slo = (ms: number) => ({ latencyMs: ms, quantile: 0.99 });

describe("the paper's Appendix D replay on the twin", () => {
  it('waits under 250 ms, fine-tunes after the SLO relaxes to 700 ms, and keeps every request within the SLO (admit-or-wait mode)', () => {
    const r = runTwinReplay({
      board: 'tx2',
      model: 'efficientnet-b0',
      rateRps: 40,
      durationMs: 60_000,
      slo: slo(250),
      sloChanges: [{ atMs: 30_000, slo: slo(700) }],
      submissions: Array.from({ length: 4 }, (_, i) => ({
        atMs: 0,
        spec: { kind: 'sim' as const, name: `ft-${i + 1}`, model: 'efficientnet-b0', microBatch: 4, steps: 10 },
      })),
      allowSwitch: false,
      shrinkMicroBatch: false,
      seed: 7,
    });
    expect(r.attainment).toBe(1);
    expect(r.result.steps.length).toBeGreaterThan(20);
    expect(Math.min(...r.result.steps.map((s) => s.startMs))).toBeGreaterThanOrEqual(30_000);
    const waited = r.events.find((e) => e.type === 'job-waiting');
    expect(waited?.type === 'job-waiting' && waited.reason).toMatch(/exceeds the SLO 250 ms/);
    // Whole steps only in this mode: every part ends an optimizer step.
    expect(r.result.steps.every((s) => s.stepEnd && s.samples === 4)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { checkSlo, latencyLimitMs, parseLatencyMs, parseQuantile, parseSlo, SLO_MARGINS } from '../../src/core/slo.ts';

describe('the SLO', () => {
  it('reads latencies in the usual spellings', () => {
    expect(parseLatencyMs('50ms')).toBe(50);
    expect(parseLatencyMs('0.05s')).toBe(50);
    expect(parseLatencyMs('250us')).toBe(0.25);
    expect(parseLatencyMs('80')).toBe(80);
    expect(() => parseLatencyMs('fast')).toThrow(/cannot read latency/);
    expect(() => parseLatencyMs('-3ms')).toThrow(/cannot read latency/);
    expect(() => parseLatencyMs('0ms')).toThrow(/positive/);
    expect(() => parseLatencyMs('1e300')).toThrow(/at most 1 hour/);
  });

  it('reads quantiles as 0.99, p99 or 99 %', () => {
    expect(parseQuantile('p99')).toBeCloseTo(0.99, 12);
    expect(parseQuantile('95%')).toBeCloseTo(0.95, 12);
    expect(parseQuantile(0.5)).toBe(0.5);
    expect(() => parseQuantile('1.5')).toThrow(/between 0 and 1/);
    expect(() => parseQuantile('p100')).toThrow(/between 0 and 1/);
    expect(parseSlo('20ms')).toEqual({ latencyMs: 20, quantile: 0.99 });
    expect(parseSlo('20ms', 'p90').quantile).toBeCloseTo(0.9, 12);
  });

  it('checks SLOs given as numbers and names its margins', () => {
    expect(checkSlo({ latencyMs: 10, quantile: 0.99 })).toEqual({ latencyMs: 10, quantile: 0.99 });
    expect(() => checkSlo({ latencyMs: Number.NaN, quantile: 0.99 })).toThrow(/positive latency/);
    expect(() => checkSlo({ latencyMs: 1e300, quantile: 0.99 })).toThrow(/at most 1 hour/);
    expect(() => checkSlo({ latencyMs: 10, quantile: 1 })).toThrow(/quantile/);
    expect(latencyLimitMs({ latencyMs: 100, quantile: 0.99 }, SLO_MARGINS.recommendation)).toBeCloseTo(98, 12);
    expect(latencyLimitMs({ latencyMs: 100, quantile: 0.99 }, SLO_MARGINS.serving)).toBeCloseTo(90, 12);
  });
});

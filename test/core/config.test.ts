import { describe, expect, it } from 'vitest';
import { configKey, configProblem, formatConfig, maxClocksConfig } from '../../src/core/config.ts';

const domains = { cpuHz: [1e9, 2e9], gpuHz: [3e8, 6e8, 9e8], emcHz: [8e8, 1.6e9], batch: [1, 2, 4] };

describe('config', () => {
  it('accepts table values and rejects the rest with a reason', () => {
    expect(configProblem({ cpuHz: 1e9, gpuMinHz: 3e8, gpuMaxHz: 9e8, emcHz: 8e8, batch: 2 }, domains)).toBeNull();
    expect(configProblem({ gpuMinHz: 9e8, gpuMaxHz: 3e8, batch: 1 }, domains)).toMatch(/must not exceed/);
    expect(configProblem({ emcHz: 1e9, batch: 1 }, domains)).toMatch(/not in the device's table/);
    expect(configProblem({ batch: 0 }, domains)).toMatch(/positive integer/);
    expect(configProblem({ cpuHz: 1e9, batch: 1 }, { batch: [1] })).toMatch(/not a knob/);
  });
  it('builds the all-maximum default and stable keys', () => {
    const c = maxClocksConfig(domains, 1);
    expect(c).toEqual({ cpuHz: 2e9, gpuMinHz: 9e8, gpuMaxHz: 9e8, emcHz: 1.6e9, batch: 1 });
    expect(configKey(c)).toBe('2000000000|900000000|900000000|1600000000|1');
    expect(formatConfig(c)).toBe('cpu 2.00 GHz · gpu 0.90–0.90 GHz · emc 1.60 GHz · batch 1');
  });
});

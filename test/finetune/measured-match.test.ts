import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { TuningRun } from '../../src/core/tuning-run.ts';
import { measuredMatch } from '../../src/finetune/server/serving-finetune.ts';

const trial = (config: Config, valid = true) => ({ config, measurement: { valid } });
const run = (trials: ReturnType<typeof trial>[]) => ({ trials }) as unknown as TuningRun;

describe('the served configuration as the profile measured it', () => {
  const readBack = { cpuHz: 2_201_600_000, gpuMinHz: 918_000_000, gpuMaxHz: 918_000_000, emcHz: 3_199_000_000, batch: 4 };

  it('finds the trial whose knobs the device reads back, also when the trial leaves a knob unset', () => {
    const measured = { gpuMinHz: 918_000_000, gpuMaxHz: 918_000_000, emcHz: 3_199_000_000, batch: 4 };
    expect(measuredMatch(run([trial({ ...measured, batch: 2 }), trial(measured)]), readBack)).toEqual(measured);
  });

  it('ignores invalid trials and other clocks', () => {
    expect(measuredMatch(run([trial(readBack, false), trial({ ...readBack, emcHz: 2_133_000_000 })]), readBack)).toBeUndefined();
  });
});

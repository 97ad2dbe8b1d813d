import { type SysfsIo, readNumber, writeKnob } from './sysfs.ts';

/** A pair of limit files (devfreq `min_freq`/`max_freq`, cpufreq `scaling_min_freq`/`scaling_max_freq`). */
export interface MinMaxFiles {
  readonly min: string;
  readonly max: string;
}

/**
 * Write a new [min, max] in the order every kernel accepts: older kernels (devfreq before the PM-QoS
 * rework, all of cpufreq) refuse a min above the current max and a max below the current min with
 * EINVAL. Going up: max first; going down (or staying): min first. Values are in the files' unit.
 */
export async function writeMinMax(io: SysfsIo, files: MinMaxFiles, min: number | string, max: number | string): Promise<void> {
  const curMax = await readNumber(io, files.max);
  if (Number(min) > curMax) {
    await writeKnob(io, files.max, max);
    await writeKnob(io, files.min, min);
  } else {
    await writeKnob(io, files.min, min);
    await writeKnob(io, files.max, max);
  }
}

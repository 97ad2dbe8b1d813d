import { join } from 'node:path';
import type { PowerSource } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { type SysfsIo, errnoCode, readNumber, tryReadNumber, tryReadText } from '../sysfs.ts';

const POWERCAP = 'sys/class/powercap';

export interface RaplZone {
  readonly dir: string;
  /** e.g. "package-0", "psys". */
  readonly name: string;
  readonly maxEnergyRangeUj: number;
  /** Whether `energy_uj` could be read (root-only since Linux 5.10). */
  readonly readable: boolean;
}

/** Top-level RAPL zones (intel-rapl:N; AMD CPUs use the same control type). */
export async function findRaplZones(io: SysfsIo): Promise<RaplZone[]> {
  const zones: RaplZone[] = [];
  for (const entry of await io.list(POWERCAP)) {
    if (!/^intel-rapl:\d+$/.test(entry)) continue;
    const dir = `${POWERCAP}/${entry}`;
    const name = (await tryReadText(io, `${dir}/name`)) ?? entry;
    const range = await tryReadNumber(io, `${dir}/max_energy_range_uj`);
    if (range === undefined || range <= 0) continue;
    const readable = (await tryReadNumber(io, `${dir}/energy_uj`)) !== undefined;
    zones.push({ dir, name, maxEnergyRangeUj: range, readable });
  }
  return zones;
}

/**
 * RAPL zones as energy counters (J, wrapping at max_energy_range_uj). When a `psys` (platform) zone
 * exists it is the total and packages are rails; otherwise each package counts toward the total.
 */
export function raplSources(io: SysfsIo, zones: readonly RaplZone[]): PowerSource[] {
  const hasPsys = zones.some((z) => z.name === 'psys');
  return zones
    .filter((z) => z.readable)
    .map((z): PowerSource => {
      const total = hasPsys ? z.name === 'psys' : true;
      return {
        name: z.name,
        role: total ? 'total' : 'rail',
        covers: z.name === 'psys' ? 'platform (RAPL psys)' : `CPU ${z.name} (RAPL; not wall power)`,
        kind: 'energy-counter',
        wrapJ: z.maxEnergyRangeUj / 1e6,
        async read() {
          try {
            return (await readNumber(io, `${z.dir}/energy_uj`)) / 1e6;
          } catch (e) {
            const code = errnoCode(e);
            throw new PolyThrottleError('MEASUREMENT', `cannot read ${join(io.root, z.dir, 'energy_uj')}${code ? ` (${code})` : ''}`, { cause: e });
          }
        },
      };
    });
}

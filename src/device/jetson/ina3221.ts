import { join } from 'node:path';
import type { PowerSource } from '../../core/device.ts';
import { PolyThrottleError } from '../../core/errors.ts';
import { type SysfsIo, errnoCode, readNumber, tryReadText } from '../sysfs.ts';
import { RAIL_FACTS, TOTAL_RAILS } from './facts.ts';

/** One INA3221 channel: a labelled rail and how to turn its files into watts. */
export interface Ina3221Rail {
  readonly label: string;
  readonly generation: 'iio' | 'hwmon';
  /** iio: [power mW]; hwmon: [bus voltage mV, current mA]. */
  readonly files: readonly string[];
}

const IIO_DRIVER = 'sys/bus/i2c/drivers/ina3221x';
const HWMON_DRIVER = 'sys/bus/i2c/drivers/ina3221';

/** Find every labelled INA3221 channel in both driver generations (L4T ≤ R32 iio in mW; R35+ hwmon mV × mA). */
export async function findIna3221Rails(io: SysfsIo): Promise<Ina3221Rail[]> {
  const rails: Ina3221Rail[] = [];
  const seen = new Set<string>();
  for (const dev of await io.list(IIO_DRIVER)) {
    for (const sub of (await io.list(`${IIO_DRIVER}/${dev}`)).filter((s) => s.startsWith('iio:device'))) {
      const dir = `${IIO_DRIVER}/${dev}/${sub}`;
      for (let n = 0; n < 3; n++) {
        const label = await tryReadText(io, `${dir}/rail_name_${n}`);
        if (!label || label === 'NC' || seen.has(label)) continue;
        if (!(await io.exists(`${dir}/in_power${n}_input`))) continue;
        seen.add(label);
        rails.push({ label, generation: 'iio', files: [`${dir}/in_power${n}_input`] });
      }
    }
  }
  for (const dev of await io.list(HWMON_DRIVER)) {
    for (const hw of await io.list(`${HWMON_DRIVER}/${dev}/hwmon`)) {
      const dir = `${HWMON_DRIVER}/${dev}/hwmon/${hw}`;
      for (let n = 1; n <= 3; n++) {
        const label = await tryReadText(io, `${dir}/in${n}_label`);
        if (!label || label === 'NC' || seen.has(label)) continue;
        if (!(await io.exists(`${dir}/curr${n}_input`))) continue;
        seen.add(label);
        rails.push({ label, generation: 'hwmon', files: [`${dir}/in${n}_input`, `${dir}/curr${n}_input`] });
      }
    }
  }
  return rails;
}

async function readWatts(io: SysfsIo, rail: Ina3221Rail): Promise<number> {
  try {
    if (rail.generation === 'iio') return (await readNumber(io, rail.files[0]!)) / 1000;
    const mv = await readNumber(io, rail.files[0]!);
    const ma = await readNumber(io, rail.files[1]!);
    return (mv * ma) / 1e6;
  } catch (e) {
    const code = errnoCode(e);
    throw new PolyThrottleError('MEASUREMENT', `cannot read rail ${rail.label} (${join(io.root, rail.files[0]!)}${code ? `: ${code}` : ''})`, { cause: e });
  }
}

/**
 * Power sources for the rails: each rail, plus the board total — the VDD_IN-style input rail when the
 * board has one, otherwise the sum of all rails (AGX Orin: excludes the carrier board).
 */
export function ina3221Sources(io: SysfsIo, rails: readonly Ina3221Rail[]): PowerSource[] {
  const sources: PowerSource[] = rails.map((r) => {
    const fact = RAIL_FACTS[r.label];
    const total = TOTAL_RAILS.includes(r.label);
    return {
      name: r.label,
      role: total ? 'total' : 'rail',
      ...(fact ? { covers: fact.covers } : {}),
      ...(fact?.shared ? { shared: true } : {}),
      kind: 'power',
      read: () => readWatts(io, r),
    };
  });
  if (rails.length > 0 && !sources.some((s) => s.role === 'total')) {
    sources.push({
      name: 'SUM_OF_RAILS',
      role: 'total',
      covers: `sum of module rails ${rails.map((r) => r.label).join(' + ')} (no board-input sensor; excludes the carrier board)`,
      kind: 'power',
      async read() {
        let w = 0;
        for (const r of rails) w += await readWatts(io, r);
        return w;
      },
    });
  }
  return sources;
}

import type { DeviceDescription, PowerSource } from '../core/device.ts';
import { type DeviceSpec, formatDeviceSpec, parseDeviceSpec } from './device-spec.ts';
import { type Detection, type OpenDeviceOptions, detectDevice, openDevice } from './open.ts';

export interface SensorReading {
  readonly name: string;
  readonly role: 'total' | 'rail';
  readonly kind: PowerSource['kind'];
  /** Watts now (an energy counter is read twice, `counterGapMs` apart). */
  readonly watts?: number;
  readonly error?: string;
}

export interface DeviceReport {
  readonly spec: string;
  readonly description: DeviceDescription;
  readonly sensors: readonly SensorReading[];
}

export interface Inventory {
  readonly detection: Detection;
  readonly devices: readonly DeviceReport[];
  /** Backends asked for that could not be opened, and why. */
  readonly failures: readonly { readonly spec: string; readonly error: string }[];
}

/** Read every source once (counters twice) so the user sees live numbers or the exact failure. */
export async function readSensors(sources: readonly PowerSource[], counterGapMs = 200): Promise<SensorReading[]> {
  const out: SensorReading[] = [];
  for (const s of sources) {
    const base = { name: s.name, role: s.role, kind: s.kind };
    try {
      if (s.kind === 'power') out.push({ ...base, watts: await s.read() });
      else {
        const a = await s.read();
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, counterGapMs));
        const b = await s.read();
        if (b < a && !s.wrapJ) throw new Error(`energy counter went backwards (${a} → ${b} J)`);
        const d = b >= a ? b - a : b + s.wrapJ! - a;
        out.push({ ...base, watts: d / ((performance.now() - t0) / 1000) });
      }
    } catch (e) {
      out.push({ ...base, error: (e as Error).message });
    }
  }
  return out;
}

/**
 * What this machine is: the detection of each backend and a description of every device found (or
 * of the one asked for), with a live reading of each sensor.
 */
export async function inventory(opts: OpenDeviceOptions & { spec?: string | DeviceSpec } = {}): Promise<Inventory> {
  const asked = typeof opts.spec === 'string' ? parseDeviceSpec(opts.spec) : opts.spec;
  const detection = await detectDevice(opts.root === undefined ? {} : { root: opts.root });
  const specs = asked && asked.kind !== 'auto' ? [formatDeviceSpec(asked)] : detection.checks.filter((c) => c.found).map((c) => c.backend);
  if (specs.length === 0) specs.push(detection.spec);
  const devices: DeviceReport[] = [];
  const failures: { spec: string; error: string }[] = [];
  for (const spec of specs) {
    try {
      const d = await openDevice(spec, opts);
      try {
        devices.push({ spec, description: await d.describe(), sensors: await readSensors(await d.powerSources()) });
      } finally {
        await d.close();
      }
    } catch (e) {
      failures.push({ spec, error: (e as Error).message });
    }
  }
  return { detection, devices, failures };
}

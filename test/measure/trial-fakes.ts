/**
 * Faithful small fakes for the measured-trial tests: a device with one CPU clock knob whose board
 * power depends on the clock and on whether a batch is running, and an inference backend that holds
 * each batch for a time that depends on the clock (like a CPU-bound model).
 */
import type { ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource } from '../../src/core/device.ts';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor } from '../../src/core/inference.ts';
import { WorkloadError } from '../../src/workload/errors.ts';

export const CPU_TABLE = [1_000_000_000, 2_000_000_000];

export class FakeCpuDevice implements Device {
  readonly id = 'fake-cpu';
  readonly kind = 'linux-cpu' as const;
  cpuHz = 2_000_000_000;
  busy = 0;
  failReads = false;
  /** The sensor reads 0 W (a stuck or cached reading). */
  stuckPower = false;
  closed = false;
  restored: DeviceSnapshot | undefined;
  readonly applied: FrequencyConfig[] = [];

  /** Board power: 2 W idle + 1.5 W per GHz while a batch runs. */
  powerW(): number {
    return 2 + (this.busy > 0 ? 1.5 * (this.cpuHz / 1e9) : 0);
  }

  async describe(): Promise<DeviceDescription> {
    return {
      id: this.id,
      kind: this.kind,
      name: 'fake CPU',
      knobs: await this.domains(),
      presets: [],
      rails: [{ name: 'board', role: 'total' }],
      missing: [],
      warnings: [],
    };
  }
  async domains() {
    return { cpuHz: CPU_TABLE };
  }
  async apply(clocks: FrequencyConfig): Promise<ApplyResult> {
    this.applied.push(clocks);
    const want = clocks.cpuHz;
    if (want === undefined) return { requested: clocks, applied: { cpuHz: this.cpuHz }, adjustments: [] };
    const got = CPU_TABLE.reduce((a, b) => (Math.abs(b - want) < Math.abs(a - want) ? b : a));
    this.cpuHz = got;
    return {
      requested: clocks,
      applied: { cpuHz: got },
      adjustments: got === want ? [] : [{ knob: 'cpuHz', requested: want, got, kind: 'snapped', detail: `${want} → ${got}` }],
    };
  }
  async readClocks(): Promise<FrequencyConfig> {
    return { cpuHz: this.cpuHz };
  }
  async powerSources(): Promise<readonly PowerSource[]> {
    return [
      {
        name: 'board',
        role: 'total',
        kind: 'power',
        read: async () => {
          if (this.failReads) throw new Error('EIO reading the sensor');
          return this.stuckPower ? 0 : this.powerW();
        },
      },
    ];
  }
  async snapshot(): Promise<DeviceSnapshot> {
    return { deviceId: this.id, takenAt: new Date(0).toISOString(), values: { cpuHz: String(this.cpuHz) } };
  }
  async restore(s: DeviceSnapshot): Promise<void> {
    this.restored = s;
    this.cpuHz = Number(s.values.cpuHz);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Holds a batch for batch × msPerSampleAtGhz / cpuGHz ms; marks the device busy meanwhile. */
export class FakeCpuBackend implements InferenceBackend {
  readonly kind = 'fake';
  failing = false;
  constructor(
    private readonly device: FakeCpuDevice,
    private readonly msPerSampleAtGhz = 10,
  ) {}
  models(): readonly ModelMetadata[] {
    return [{ name: 'm', platform: 'fake', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }];
  }
  async infer(_model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    if (this.failing) throw new WorkloadError('http-status', 'POST /infer: 503 Service Unavailable: overloaded', { status: 503 });
    const batch = inputs[0]!.shape[0]!;
    const ms = (batch * this.msPerSampleAtGhz) / (this.device.cpuHz / 1e9);
    this.device.busy++;
    await new Promise((r) => setTimeout(r, ms));
    this.device.busy--;
    return { outputs: [], serviceMs: ms };
  }
  async close(): Promise<void> {}
}

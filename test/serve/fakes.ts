/** Deterministic fakes for the server tests: a backend with a fixed service time, a device that records. */
import type { ApplyResult, Device, DeviceDescription, DeviceSnapshot, FrequencyConfig, PowerSource } from '../../src/core/device.ts';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor } from '../../src/core/inference.ts';

export interface FakeBackendOptions {
  /** Service time of a batch: fixed + per row, ms. */
  readonly fixedMs?: number;
  readonly perRowMs?: number;
  /** Watts while a batch runs; the backend reports energy = W × service time (like the twin). */
  readonly powerW?: number;
  readonly fail?: boolean;
}

/** Model 'double': x FP32 [-1, 4] → y = 2x, sum = Σx (FP32 [-1, 1]). Model 'ids': INT64 [-1, 3] → INT64 n = x + 1. */
export class FakeBackend implements InferenceBackend {
  readonly kind = 'fake';
  readonly batches: { model: string; rows: number }[] = [];
  closed = false;
  running = 0;
  maxConcurrent = 0;
  constructor(readonly opts: FakeBackendOptions = {}) {}

  models(): readonly ModelMetadata[] {
    return [
      {
        name: 'double',
        platform: 'fake',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [
          { name: 'y', datatype: 'FP32', shape: [-1, 4] },
          { name: 'sum', datatype: 'FP32', shape: [-1, 1] },
        ],
      },
      {
        name: 'ids',
        platform: 'fake',
        inputs: [{ name: 'tokens', datatype: 'INT64', shape: [-1, 3] }],
        outputs: [{ name: 'next', datatype: 'INT64', shape: [-1, 3] }],
      },
    ];
  }

  async infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    const x = inputs[0]!;
    const rows = x.shape[0]!;
    this.batches.push({ model, rows });
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    const ms = (this.opts.fixedMs ?? 2) + (this.opts.perRowMs ?? 0.5) * rows;
    await new Promise((r) => setTimeout(r, ms));
    this.running--;
    if (this.opts.fail) throw new Error('device lost');
    const energyJ = this.opts.powerW === undefined ? undefined : (this.opts.powerW * ms) / 1000;
    if (model === 'double') {
      const d = x.data as Float32Array;
      const y = new Float32Array(d.length);
      const s = new Float32Array(rows);
      for (let i = 0; i < d.length; i++) {
        y[i] = 2 * d[i]!;
        s[Math.floor(i / 4)]! += d[i]!;
      }
      return {
        outputs: [
          { name: 'y', datatype: 'FP32', shape: [rows, 4], data: y },
          { name: 'sum', datatype: 'FP32', shape: [rows, 1], data: s },
        ],
        serviceMs: ms,
        ...(energyJ === undefined ? {} : { energyJ }),
      };
    }
    const d = x.data as BigInt64Array;
    const n = new BigInt64Array(d.length);
    for (let i = 0; i < d.length; i++) n[i] = d[i]! + 1n;
    return { outputs: [{ name: 'next', datatype: 'INT64', shape: [rows, 3], data: n }], serviceMs: ms, ...(energyJ === undefined ? {} : { energyJ }) };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const TABLE = [306_000_000, 612_000_000, 918_000_000, 1_300_500_000];

/** A device whose clocks live in memory; records applies and counts restores, with a power sensor. */
export class FakeDevice implements Device {
  readonly id = 'fake-0';
  readonly kind: Device['kind'];
  clocks: FrequencyConfig = { gpuMinHz: 306_000_000, gpuMaxHz: 1_300_500_000 };
  readonly applies: FrequencyConfig[] = [];
  restored: DeviceSnapshot | null = null;
  restores = 0;
  /** Make every restore fail (a driver refusing the write). */
  failRestore = false;
  closed = false;
  powerW = 10;

  constructor(kind: Device['kind'] = 'jetson') {
    this.kind = kind;
  }

  async describe(): Promise<DeviceDescription> {
    return { id: this.id, kind: this.kind, name: 'fake board', knobs: await this.domains(), presets: [], rails: [], missing: [], warnings: [] };
  }
  async domains() {
    return { gpuHz: TABLE };
  }
  async apply(c: FrequencyConfig): Promise<ApplyResult> {
    this.applies.push(c);
    this.clocks = { ...this.clocks, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) };
    return { requested: c, applied: { ...this.clocks }, adjustments: [] };
  }
  async readClocks(): Promise<FrequencyConfig> {
    return { ...this.clocks };
  }
  async powerSources(): Promise<readonly PowerSource[]> {
    return [{ name: 'VDD_IN', role: 'total', kind: 'power', read: async () => this.powerW }];
  }
  async snapshot(): Promise<DeviceSnapshot> {
    return { deviceId: this.id, takenAt: new Date().toISOString(), values: { gpuMinHz: String(this.clocks.gpuMinHz), gpuMaxHz: String(this.clocks.gpuMaxHz) } };
  }
  async restore(s: DeviceSnapshot): Promise<void> {
    this.restores++;
    if (this.failRestore) throw new Error('EBUSY');
    this.restored = s;
    this.clocks = { gpuMinHz: Number(s.values.gpuMinHz), gpuMaxHz: Number(s.values.gpuMaxHz) };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** POST an inference request of `rows` rows to model 'double'. */
export function doubleRequest(rows: number, start = 0) {
  const data: number[] = [];
  for (let i = 0; i < rows * 4; i++) data.push(start + i);
  return { inputs: [{ name: 'x', shape: [rows, 4], datatype: 'FP32', data }] };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, json: json as Record<string, unknown>, text };
}

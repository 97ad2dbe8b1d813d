/**
 * `sim` backend: the device twin as an execution backend. Each batch is held for the twin's batch
 * time at the active configuration — GPU service plus the host work that does not overlap it, i.e.
 * the period of back-to-back batches, batch / throughput — in real wall-clock time, so batching,
 * queues and SLO accounting behave as on the board; it reports the twin's energy for the batch.
 * Like the board's GPU it runs one batch at a time: concurrent batches queue. Outputs have the
 * model's declared shapes; their values are zeros, because the twin computes costs, not results.
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { FrequencyConfig } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { BatchResult, InferenceBackend, ModelMetadata, Tensor } from '../core/inference.ts';
import type { WorkloadProfile } from '../core/workload-profile.ts';
import type { BackgroundLoad } from '../device/sim/background-load.ts';
import { type BoardSpec, evaluateConfig, resolveConfig, type SimLoad } from '../device/sim/index.ts';
import { idlePowerW, type ThermalDynamics } from '../device/sim/thermal-dynamics.ts';
import { WorkloadError } from './errors.ts';

export interface SimModel {
  readonly metadata: ModelMetadata;
  readonly profile: WorkloadProfile;
}

export interface SimBackendOptions {
  /** Board name of the twin, e.g. "orin-agx" (or its spec, with a runtime or calibration applied). */
  readonly board: string | BoardSpec;
  readonly models: readonly SimModel[];
  /**
   * The active clocks: fixed, or read before every batch (pass `() => device.readClocks()` of the
   * simulated device so the backend follows what the server or tuner applied). Absent clocks are the
   * board's defaults.
   */
  readonly clocks?: FrequencyConfig | (() => Promise<FrequencyConfig> | FrequencyConfig);
  /**
   * The simulated device the batches "run on": its clocks are read before each batch and its load
   * is set while one runs, so its power sensors read what the board would draw (busy vs idle).
   */
  readonly device?: { readClocks(): Promise<FrequencyConfig>; setLoad(load: SimLoad | null): void };
  /** Board temperature over time: each batch runs at the temperature now (leakage, throttling) and heats the board. */
  readonly thermal?: ThermalDynamics;
  /** Another process's share of the GPU over time. */
  readonly backgroundLoad?: BackgroundLoad;
}

function outputData(spec: ModelMetadata['outputs'][number], n: number): Tensor['data'] {
  switch (spec.datatype) {
    case 'FP64':
      return new Float64Array(n);
    case 'INT64':
      return new BigInt64Array(n);
    case 'INT32':
      return new Int32Array(n);
    case 'INT8':
      return new Int8Array(n);
    case 'UINT8':
      return new Uint8Array(n);
    case 'BOOL':
      return new Array<boolean>(n).fill(false);
    case 'BYTES':
      return new Array<string>(n).fill('');
    default:
      return new Float32Array(n);
  }
}

/** How late timers fire here, ms (moving average; a loaded machine runs them a few ms late). */
let timerLateMs = 1;

/**
 * Waits until `deadline` (performance.now() ms) precisely: timers fire late (about a millisecond,
 * more on a loaded machine), which at a few-ms batch time would be tens of percent. So it sleeps
 * until a learned lateness before the deadline, then yields to the event loop until the deadline.
 */
export async function holdUntil(deadline: number): Promise<void> {
  const coarse = deadline - performance.now() - timerLateMs - 0.5;
  if (coarse > 0) {
    const t0 = performance.now();
    await sleep(coarse);
    const late = Math.max(0, performance.now() - t0 - coarse);
    timerLateMs = Math.min(20, 0.8 * timerLateMs + 0.2 * late);
  }
  while (performance.now() < deadline) await yieldToLoop();
}

export class SimBackend implements InferenceBackend {
  readonly kind = 'sim';
  private readonly byName = new Map<string, SimModel>();
  private closed = false;

  constructor(private readonly o: SimBackendOptions) {
    if (o.models.length === 0) throw badInput('the sim backend needs at least one model');
    for (const m of o.models) this.byName.set(m.metadata.name, m);
    // Fail on an unknown board now, not at the first batch.
    const first = o.models[0]!;
    evaluateConfig(o.board, first.profile, { batch: 1 });
  }

  models(): readonly ModelMetadata[] {
    return [...this.byName.values()].map((m) => m.metadata);
  }

  /** The board runs one batch at a time: each batch starts when the one before it ends. */
  private lane: Promise<unknown> = Promise.resolve();

  private async clocks(): Promise<FrequencyConfig> {
    if (this.o.device) return this.o.device.readClocks();
    const c = this.o.clocks;
    return typeof c === 'function' ? await c() : (c ?? {});
  }

  async infer(model: string, inputs: readonly Tensor[]): Promise<BatchResult> {
    if (this.closed) throw new WorkloadError('closed', 'the sim backend is closed');
    const m = this.byName.get(model);
    if (!m) throw badInput(`unknown model "${model}" (loaded: ${[...this.byName.keys()].join(', ')})`);
    for (const spec of m.metadata.inputs) if (!inputs.some((t) => t.name === spec.name)) throw badInput(`input "${spec.name}" of model "${model}" is missing`);
    const batch = inputs[0]?.shape[0];
    if (batch === undefined || !Number.isInteger(batch) || batch < 1)
      throw badInput(`the batch dimension of the inputs must be a positive integer, got ${batch}`);
    const run = this.lane.then(() => this.hold(m, batch));
    this.lane = run.catch(() => undefined);
    const { holdMs, energyJ } = await run;
    const outputs = m.metadata.outputs.map((spec) => {
      const shape = spec.shape.map((d, i) => (i === 0 ? batch : d < 0 ? 1 : d));
      return {
        name: spec.name,
        datatype: spec.datatype,
        shape,
        data: outputData(
          spec,
          shape.reduce((a, b) => a * b, 1),
        ),
      };
    });
    return { outputs, serviceMs: holdMs, energyJ };
  }

  /** Holds one batch on the board at its clocks now; the device (if any) reads busy meanwhile. */
  private async hold(m: SimModel, batch: number): Promise<{ holdMs: number; energyJ: number }> {
    const start = performance.now();
    const clocks = await this.clocks();
    const th = this.o.thermal;
    const board = this.o.backgroundLoad ? this.o.backgroundLoad.boardAt() : this.o.board;
    const config = th ? th.capClocks({ ...clocks, batch }) : { ...clocks, batch };
    // the temperature to 0.1 °C: the twin caches its evaluations by it
    const ev = evaluateConfig(board, m.profile, config, th ? { temperatureC: Math.round(th.temperatureC * 10) / 10 } : {});
    const holdMs = (1000 * batch) / ev.throughputQps;
    th?.setPower(ev.powerW);
    this.o.device?.setLoad({ profile: m.profile, batch });
    try {
      await holdUntil(start + holdMs);
    } finally {
      this.o.device?.setLoad(null);
      if (th) {
        const b = th.board;
        const c = resolveConfig(b, config);
        const mode = b.modes.find((x) => x.name === b.defaultMode)!;
        th.setPower(idlePowerW(b, c, mode.onlineCpus, th.temperatureC));
      }
    }
    return { holdMs, energyJ: ev.energyPerQueryJ * batch };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * The execution backend the server forwards its batches to: `onnx` (onnxruntime-node in worker
 * threads, on the CPU), `http` (an upstream KServe v2 endpoint such as Triton on the Jetson GPU),
 * `sim` (the device twin: each batch held for the twin's time at the applied clocks, its energy
 * reported).
 */
import { badInput } from '../core/errors.ts';
import type { Device, FrequencyConfig } from '../core/device.ts';
import type { InferenceBackend, ModelMetadata } from '../core/inference.ts';
import type { BoardSpec } from '../device/sim/board-spec.ts';
import type { SimLoad } from '../device/sim/sim-device.ts';
import { HttpBackend } from '../workload/http-backend.ts';
import { sampleShape } from '../workload/inputs.ts';
import { inputDimsFromSymbolic, modelMetadata, modelName, modelProfile, onnxModelFile } from '../workload/model-source.ts';
import { OnnxBackend } from '../workload/onnx-backend.ts';
import { SimBackend } from '../workload/sim-backend.ts';

export type BackendKind = 'onnx' | 'http' | 'sim';
export const BACKEND_KINDS: readonly BackendKind[] = ['onnx', 'http', 'sim'];

export interface OpenBackendOptions {
  readonly kind: BackendKind;
  /**
   * onnx / sim: a zoo model name or an .onnx path, optionally `name=` before it; http: the
   * upstream's model names.
   */
  readonly models: readonly string[];
  /** http: the upstream's base URL. */
  readonly upstream?: string;
  /** onnx: worker threads. */
  readonly workers?: number;
  /** sim: values of symbolic non-batch input dimensions of .onnx models, by name (`--dim`). */
  readonly symbolicDims?: Readonly<Record<string, number>>;
  /** sim: the simulated device (its clocks drive the twin; its power follows the load). */
  readonly device?: Device;
  /** Progress lines (building a zoo model's file the first time). */
  readonly log?: (line: string) => void;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `name=model` or `model` → the name it is served under and the model (zoo name or .onnx path). */
export function modelArg(arg: string): { name: string; model: string } {
  const eq = arg.indexOf('=');
  const model = eq > 0 ? arg.slice(eq + 1) : arg;
  const name = eq > 0 ? arg.slice(0, eq) : modelName(model);
  if (!NAME.test(name))
    throw badInput(`model name "${name}" must be letters, digits, '.', '_' or '-' (it appears in URLs)`, 'name it explicitly: --model name=path.onnx');
  return { name, model };
}

function uniqueNames<T extends { name: string }>(models: T[]): T[] {
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) throw badInput(`two models are named "${m.name}"; name one: --model other=<model>`);
    seen.add(m.name);
  }
  return models;
}

type SimCapable = Device & { readonly board: BoardSpec; setLoad(load: SimLoad | null): void };
const isSimDevice = (d: Device | undefined): d is SimCapable => d !== undefined && d.kind === 'sim' && typeof (d as Partial<SimCapable>).setLoad === 'function';

/**
 * Progress of building a zoo model's file, as log lines: one when the build starts and one at each
 * quarter reached (at most five, whatever the number of progress calls: the log is a file or a
 * pipe as often as a terminal, and a line per percent is noise there).
 */
export function buildProgressLog(model: string, log: (line: string) => void): (done: number, total: number) => void {
  let logged = -1;
  return (done, total) => {
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    if (logged < 0) {
      log(`building ${model} into the model cache (first use)`);
      logged = 0;
    }
    const quarter = Math.floor(pct / 25) * 25;
    if (quarter > logged) {
      logged = quarter;
      log(`building ${model}: ${quarter} %`);
    }
  };
}

/**
 * The model's metadata with its symbolic non-batch dimensions set to the sizes given (`--dim`): the
 * sizes the twin costs the model at, so clients and the warm-up send tensors of that shape.
 */
function withSymbolicDims(model: string, metadata: ModelMetadata, symbolicDims: Readonly<Record<string, number>> | undefined): ModelMetadata {
  if (symbolicDims === undefined) return metadata;
  const perInput = inputDimsFromSymbolic(model, symbolicDims);
  return {
    ...metadata,
    inputs: metadata.inputs.map((spec) => {
      const sizes = perInput[spec.name];
      return sizes === undefined ? spec : { ...spec, shape: [spec.shape[0]!, ...sampleShape(spec, sizes)] };
    }),
  };
}

export async function openBackend(o: OpenBackendOptions): Promise<InferenceBackend> {
  if (o.models.length === 0) throw badInput('no model to serve: give --model (repeat it to serve several)');
  switch (o.kind) {
    case 'onnx': {
      const models = uniqueNames(
        o.models.map(modelArg).map((m) => ({
          name: m.name,
          path: onnxModelFile(m.model, o.log ? { onBuild: buildProgressLog(m.model, o.log) } : {}),
        })),
      );
      return OnnxBackend.create({ models, ...(o.workers === undefined ? {} : { workers: o.workers }) });
    }
    case 'http': {
      if (!o.upstream) throw badInput('--backend http needs --upstream <url> (e.g. http://127.0.0.1:8000 for Triton)');
      try {
        new URL(o.upstream);
      } catch {
        throw badInput(`--upstream: "${o.upstream}" is not a URL`);
      }
      return HttpBackend.connect({ url: o.upstream, models: o.models });
    }
    case 'sim': {
      const inner = o.device && 'inner' in o.device ? (o.device as { inner: Device }).inner : o.device;
      if (!isSimDevice(inner)) throw badInput('--backend sim needs a simulated device', 'add --device sim:<board>, e.g. sim:orin-agx');
      const models = uniqueNames(
        await Promise.all(
          o.models.map(modelArg).map(async (m) => ({
            name: m.name,
            metadata: { ...withSymbolicDims(m.model, modelMetadata(m.model), o.symbolicDims), name: m.name, platform: 'sim' },
            profile: await modelProfile(m.model, o.symbolicDims === undefined ? {} : { symbolicDims: o.symbolicDims }),
          })),
        ),
      );
      const device = inner;
      return new SimBackend({
        // The device's own spec: a runtime or a calibrated twin profile may have shaped it.
        board: device.board,
        models: models.map((m) => ({ metadata: m.metadata, profile: m.profile })),
        device: { readClocks: (): Promise<FrequencyConfig> => device.readClocks(), setLoad: (l) => device.setLoad(l) },
      });
    }
  }
}

/**
 * One function from "which workload, which model, which options" to a running WorkloadRunner.
 * The settings are a union by kind, so an http runner without a URL or a command runner without a
 * command cannot be expressed.
 */
import type { FrequencyConfig } from '../core/device.ts';
import { badInput } from '../core/errors.ts';
import type { DType } from '../core/workload-profile.ts';
import type { BoardSpec } from '../device/sim/board-spec.ts';
import { BackendRunner, plainSender } from './backend-runner.ts';
import { CommandRunner, type LatencyUnit } from './command-runner.ts';
import { createHttpRunner } from './http-runner.ts';
import { InputFactory, type InputOptions, readSamplesFile } from './inputs.ts';
import { inputDimsFromSymbolic, modelMetadata, modelName, modelProfile, onnxModelFile } from './model-source.ts';
import { createOnnxRunner } from './onnx-runner.ts';
import type { WorkloadRunner } from './runner.ts';
import { SimBackend, type SimBackendOptions } from './sim-backend.ts';

interface Common {
  /** Seed of generated inputs. */
  readonly seed?: number;
  /** JSON samples file instead of generated inputs. */
  readonly samplesFile?: string;
  /** Sizes of dynamic non-batch input dimensions, per input (the deprecated `--input-dims`). */
  readonly dims?: InputOptions['dims'];
  /** Values of symbolic non-batch dimensions, by dimension name (`--dim`); `dims` wins for an input it names. */
  readonly symbolicDims?: Readonly<Record<string, number>>;
  readonly dtype?: DType;
  readonly seq?: number;
}

export type WorkloadSettings =
  | (Common & {
      readonly kind: 'sim';
      readonly board: string;
      /** The spec to simulate instead of the board file's (a runtime or a calibration applied; `--runtime`, `--twin-profile`). */
      readonly boardSpec?: BoardSpec;
      /** The active clocks (e.g. the simulated device's readClocks). */
      readonly clocks?: FrequencyConfig | (() => Promise<FrequencyConfig>);
      /** The simulated device the batches run on (clocks read from it, load set on it). */
      readonly device?: SimBackendOptions['device'];
      readonly concurrency?: number;
    })
  | (Common & {
      readonly kind: 'onnx';
      readonly workers?: number;
      readonly intraOpThreads?: number;
      readonly interOpThreads?: number;
      /** Called while a zoo model's file is written to the cache. */
      readonly onBuild?: (done: number, total: number) => void;
    })
  | (Common & {
      readonly kind: 'http';
      readonly url: string;
      /** Model name at the endpoint (default: the --model name). */
      readonly upstreamModel?: string;
      readonly concurrency?: number;
      readonly timeoutMs?: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** Triton's binary tensor extension instead of JSON numbers. */
      readonly binary?: boolean;
    })
  | {
      readonly kind: 'command';
      readonly command: string;
      readonly latencyPattern?: string;
      readonly latencyUnit?: LatencyUnit;
      readonly batchesPerMatch?: number;
      readonly timeoutS?: number;
    };

async function inputOptions(model: string, s: Common): Promise<InputOptions> {
  const dims = { ...(s.symbolicDims === undefined ? {} : inputDimsFromSymbolic(model, s.symbolicDims, modelOpts(s))), ...s.dims };
  return {
    ...(s.seed === undefined ? {} : { seed: s.seed }),
    ...(Object.keys(dims).length === 0 ? {} : { dims }),
    ...(s.samplesFile === undefined ? {} : { samples: await readSamplesFile(s.samplesFile) }),
  };
}

const modelOpts = (s: Common) => ({
  ...(s.dtype === undefined ? {} : { dtype: s.dtype }),
  ...(s.seq === undefined ? {} : { seq: s.seq }),
  ...(s.symbolicDims === undefined ? {} : { symbolicDims: s.symbolicDims }),
});

/** Opens the runner for `model` (a zoo name or an .onnx file; for http, also any upstream name). */
export async function openWorkloadRunner(model: string, s: WorkloadSettings): Promise<WorkloadRunner> {
  switch (s.kind) {
    case 'sim': {
      const metadata = modelMetadata(model, modelOpts(s));
      const backend = new SimBackend({
        // The simulated device's own spec when there is one (--runtime / --twin-profile shape it).
        board: s.device && 'board' in s.device ? (s.device as { board: BoardSpec }).board : (s.boardSpec ?? s.board),
        models: [{ metadata, profile: await modelProfile(model, modelOpts(s)) }],
        ...(s.clocks === undefined ? {} : { clocks: s.clocks }),
        ...(s.device === undefined ? {} : { device: s.device }),
      });
      return new BackendRunner({
        kind: 'sim',
        description: `sim ${metadata.name} on the ${s.board} twin`,
        backend,
        inputs: InputFactory.forModel(metadata, await inputOptions(model, s)),
        sender: plainSender(backend, metadata.name),
        defaultConcurrency: s.concurrency ?? 1,
      });
    }
    case 'onnx':
      return createOnnxRunner({
        modelPath: onnxModelFile(model, { ...modelOpts(s), ...(s.onBuild ? { onBuild: s.onBuild } : {}) }),
        ...(s.workers === undefined ? {} : { workers: s.workers }),
        ...(s.intraOpThreads === undefined ? {} : { intraOpThreads: s.intraOpThreads }),
        ...(s.interOpThreads === undefined ? {} : { interOpThreads: s.interOpThreads }),
        ...(await inputOptions(model, s)),
      });
    case 'http':
      return createHttpRunner({
        url: s.url,
        model: s.upstreamModel ?? modelName(model),
        ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
        ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
        ...(s.headers === undefined ? {} : { headers: s.headers }),
        ...(s.binary === undefined ? {} : { binary: s.binary }),
        ...(await inputOptions(model, s)),
      });
    case 'command':
      return new CommandRunner({
        command: s.command,
        vars: { model },
        ...(s.latencyPattern === undefined ? {} : { latencyPattern: s.latencyPattern }),
        ...(s.latencyUnit === undefined ? {} : { latencyUnit: s.latencyUnit }),
        ...(s.batchesPerMatch === undefined ? {} : { batchesPerMatch: s.batchesPerMatch }),
        ...(s.timeoutS === undefined ? {} : { timeoutS: s.timeoutS }),
      });
    default:
      throw badInput(`unknown workload "${(s as { kind: string }).kind}"`, 'use sim, onnx, http or command');
  }
}

/** The `onnx` workload runner: a model file run by onnxruntime-node in worker threads. */
import { BackendRunner, plainSender } from './backend-runner.ts';
import { type InputOptions, InputFactory } from './inputs.ts';
import { modelNameFromPath, OnnxBackend } from './onnx-backend.ts';

export interface OnnxRunnerOptions extends InputOptions {
  /** Path of the .onnx file. */
  readonly modelPath: string;
  /** Worker threads (default 1). A run keeps one batch in flight per worker unless told otherwise. */
  readonly workers?: number;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
}

export async function createOnnxRunner(o: OnnxRunnerOptions): Promise<BackendRunner<unknown>> {
  const name = modelNameFromPath(o.modelPath);
  const backend = await OnnxBackend.create({
    models: [{ name, path: o.modelPath }],
    ...(o.workers === undefined ? {} : { workers: o.workers }),
    ...(o.intraOpThreads === undefined ? {} : { intraOpThreads: o.intraOpThreads }),
    ...(o.interOpThreads === undefined ? {} : { interOpThreads: o.interOpThreads }),
  });
  try {
    const inputs = InputFactory.forModel(backend.metadata(name), o);
    return new BackendRunner({
      kind: 'onnx',
      description: `onnx ${name} · ${backend.workers} worker${backend.workers === 1 ? '' : 's'} × ${backend.intraOpThreads} intra-op thread${backend.intraOpThreads === 1 ? '' : 's'}`,
      backend,
      inputs,
      sender: plainSender(backend, name),
      defaultConcurrency: backend.workers,
    });
  } catch (e) {
    await backend.close();
    throw e;
  }
}

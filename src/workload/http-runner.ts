/** The `http` workload runner: batches sent to a KServe v2 endpoint (Triton, KServe, our server). */
import { BackendRunner } from './backend-runner.ts';
import { type EncodedRequest, HttpBackend, type HttpBackendOptions } from './http-backend.ts';
import { type InputOptions, InputFactory } from './inputs.ts';

export interface HttpRunnerOptions extends InputOptions, Omit<HttpBackendOptions, 'models'> {
  readonly model: string;
  /** Requests kept in flight (default 1). */
  readonly concurrency?: number;
}

export async function createHttpRunner(o: HttpRunnerOptions): Promise<BackendRunner<EncodedRequest>> {
  const backend = await HttpBackend.connect({
    url: o.url,
    models: [o.model],
    ...(o.version === undefined ? {} : { version: o.version }),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    ...(o.headers === undefined ? {} : { headers: o.headers }),
    ...(o.binary === undefined ? {} : { binary: o.binary }),
  });
  const inputs = InputFactory.forModel(backend.metadata(o.model), o);
  return new BackendRunner({
    kind: 'http',
    description: `http ${backend.baseUrl} model ${o.model}${backend.binary ? ' (binary tensors)' : ''}`,
    backend,
    inputs,
    // The body is encoded once per batch size, so encoding is not part of the timed latency.
    sender: { prepare: (inputs) => backend.encode(o.model, inputs), send: (body) => backend.inferEncoded(o.model, body) },
    defaultConcurrency: o.concurrency ?? 1,
  });
}

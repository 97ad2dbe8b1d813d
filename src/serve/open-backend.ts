/**
 * The execution backend the server forwards its batches to: `onnx` (onnxruntime-node in worker
 * threads, the default), `http` (an upstream KServe v2 endpoint such as Triton on the Jetson GPU).
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { badInput } from '../core/errors.ts';
import type { InferenceBackend } from '../core/inference.ts';
import { HttpBackend } from '../workload/http-backend.ts';
import { OnnxBackend } from '../workload/onnx-backend.ts';

export type BackendKind = 'onnx' | 'http';
export const BACKEND_KINDS: readonly BackendKind[] = ['onnx', 'http'];

export interface OpenBackendOptions {
  readonly kind: BackendKind;
  /** onnx: `path.onnx` or `name=path.onnx`; http: model names on the upstream. */
  readonly models: readonly string[];
  /** http: the upstream's base URL. */
  readonly upstream?: string;
  /** onnx: worker threads. */
  readonly workers?: number;
}

/** `name=path.onnx` or `path.onnx` → the name it is served under and its file. */
export function onnxModelArg(arg: string): { name: string; path: string } {
  const eq = arg.indexOf('=');
  const name = eq > 0 ? arg.slice(0, eq) : basename(arg).replace(/\.onnx$/i, '');
  const path = eq > 0 ? arg.slice(eq + 1) : arg;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw badInput(`model name "${name}" must be letters, digits, '.', '_' or '-' (it appears in URLs)`, 'name it explicitly: --model name=path.onnx');
  if (!existsSync(path))
    throw badInput(
      `--model ${arg}: no such ONNX file ${path}`,
      /\.onnx$/i.test(path) ? undefined : 'give the path of an .onnx file (zoo models: `polythrottle models build <name>` writes one)',
    );
  return { name, path };
}

export async function openBackend(o: OpenBackendOptions): Promise<InferenceBackend> {
  if (o.models.length === 0) throw badInput('no model to serve: give --model (repeat it to serve several)');
  const names = new Set<string>();
  switch (o.kind) {
    case 'onnx': {
      const models = o.models.map(onnxModelArg);
      for (const m of models) {
        if (names.has(m.name)) throw badInput(`two models are named "${m.name}"; name one: --model other=path.onnx`);
        names.add(m.name);
      }
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
  }
}

import { PolyThrottleError } from '../../core/errors.ts';
import type { Job, JobKind } from '../scheduling/job.ts';

/** Talks to a running server's fine-tuning admin API (what `polythrottle finetune` uses). */
export interface AdminClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly token: string;
  readonly fetch?: typeof fetch;
}

export interface SubmitRequest {
  readonly kind: JobKind;
  readonly name?: string;
  readonly model?: string;
  readonly microBatch?: number;
  readonly steps?: number;
  readonly command?: string;
}

export class FinetuneAdminClient {
  constructor(private readonly o: AdminClientOptions) {
    try {
      new URL(o.url);
    } catch {
      throw new PolyThrottleError('BAD_INPUT', `not a URL: ${o.url}`, { hint: 'give the server address, e.g. --url http://127.0.0.1:8000' });
    }
  }

  list(): Promise<{ jobs: Job[] }> {
    return this.call('GET', '/v1/finetune/jobs');
  }
  get(id: string): Promise<{ job: Job; admission?: unknown }> {
    return this.call('GET', `/v1/finetune/jobs/${encodeURIComponent(id)}`);
  }
  submit(r: SubmitRequest): Promise<{ job: Job }> {
    return this.call('POST', '/v1/finetune/jobs', r);
  }
  cancel(id: string): Promise<{ job: Job }> {
    return this.call('DELETE', `/v1/finetune/jobs/${encodeURIComponent(id)}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const f = this.o.fetch ?? fetch;
    const url = new URL(path, this.o.url);
    let res: Response;
    try {
      res = await f(url, {
        method,
        headers: { authorization: `Bearer ${this.o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new PolyThrottleError('NOT_FOUND', `cannot reach the server at ${this.o.url}: ${(e as Error).message}`, {
        hint: 'is `polythrottle serve` running with an admin token? pass --url',
        cause: e,
      });
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { error: text };
    }
    if (!res.ok) {
      const d = data as { error?: string; message?: string };
      const msg = d.message ?? d.error ?? res.statusText;
      if (res.status === 401)
        throw new PolyThrottleError('PERMISSION', `the server refused the admin token: ${msg}`, { hint: 'pass --token or set POLYTHROTTLE_ADMIN_TOKEN' });
      if (res.status === 404)
        throw new PolyThrottleError('NOT_FOUND', msg, {
          hint: res.status === 404 && /no route/.test(msg) ? 'this server was started without fine-tuning' : undefined,
        });
      throw new PolyThrottleError('BAD_INPUT', `${method} ${path}: ${msg} (HTTP ${res.status})`);
    }
    return data as T;
  }
}

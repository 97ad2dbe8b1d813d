import { PolyThrottleError } from '../core/errors.ts';

/** Why a workload failed: the runner reports it and the trial is invalid with this reason. */
export type WorkloadFailure =
  | 'connection' // the endpoint could not be reached (refused, reset, DNS)
  | 'timeout' // no answer within the request timeout
  | 'http-status' // the endpoint answered with a non-2xx status
  | 'bad-response' // the answer is not what the protocol says
  | 'exit-status' // a benchmark program exited non-zero or was killed
  | 'no-latency' // a benchmark program printed nothing the latency pattern matches
  | 'worker' // an inference worker thread crashed or the runtime threw
  | 'closed'; // the runner was closed while work was pending

/**
 * A workload failed while executing (as opposed to a bad option, which is BAD_INPUT). Carries the
 * failure kind and, for HTTP answers, the status, so callers (the server) can pass them on.
 */
export class WorkloadError extends PolyThrottleError {
  readonly failure: WorkloadFailure;
  readonly status: number | undefined;
  constructor(failure: WorkloadFailure, message: string, opts: { status?: number; hint?: string; cause?: unknown } = {}) {
    super('MEASUREMENT', message, { hint: opts.hint, cause: opts.cause });
    this.name = 'WorkloadError';
    this.failure = failure;
    this.status = opts.status;
  }
}

export function isWorkloadError(e: unknown): e is WorkloadError {
  return e instanceof WorkloadError;
}

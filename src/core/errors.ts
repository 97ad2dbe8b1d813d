/**
 * Typed errors. Each carries a stable code and the process exit status the CLI uses for it, so a
 * user sees one clear line (and the stack only with --verbose).
 */
export type ErrorCode =
  | 'BAD_INPUT' // the user gave something we cannot use (file, option, model)
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  | 'PERMISSION' // a write needs root
  | 'HARDWARE' // the device refused or clamped something
  | 'MEASUREMENT' // a measurement window is invalid
  | 'INFEASIBLE' // nothing meets the SLO
  | 'INTERNAL';

const EXIT: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  NOT_FOUND: 2,
  UNSUPPORTED: 2,
  PERMISSION: 3,
  HARDWARE: 4,
  MEASUREMENT: 4,
  INFEASIBLE: 5,
  INTERNAL: 1,
};

export class PolyThrottleError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** A hint on what to do about it, printed under the message. */
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PolyThrottleError';
    this.code = code;
    this.exitCode = EXIT[code];
    this.hint = opts.hint;
  }
}

export const badInput = (message: string, hint?: string, cause?: unknown) => new PolyThrottleError('BAD_INPUT', message, { hint, cause });

export function isPolyThrottleError(e: unknown): e is PolyThrottleError {
  return e instanceof PolyThrottleError;
}

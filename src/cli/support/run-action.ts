import pc from 'picocolors';
import { isPolyThrottleError } from '../../core/errors.ts';

/** True when the user asked for stack traces (`--verbose` anywhere on the command line). */
export const verbose = (): boolean => process.argv.includes('--verbose') || process.argv.includes('-v');

/**
 * Report an error the way every command does: one line (plus a hint), the stack only with
 * --verbose; returns the exit code.
 */
export function reportError(e: unknown): number {
  if (isPolyThrottleError(e)) {
    process.stderr.write(`${pc.red('error:')} ${e.message}\n`);
    if (e.hint) process.stderr.write(`${pc.dim('hint:')} ${e.hint}\n`);
    if (verbose()) process.stderr.write(`${e.stack ?? ''}\n${e.cause ? `cause: ${String((e.cause as Error).stack ?? e.cause)}\n` : ''}`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`${pc.red('error:')} ${err.message}\n`);
  if (verbose()) process.stderr.write(`${err.stack ?? ''}\n`);
  else process.stderr.write(`${pc.dim('(run with --verbose for details)')}\n`);
  return 1;
}

/** Wrap a command action so that errors become one clear line and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

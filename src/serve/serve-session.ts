/**
 * The server's whole life cycle on a device: guard the device (snapshot before the first write),
 * apply the configuration (read back, adjustments reported), start metering, listen; on shutdown
 * stop accepting, drain what is queued and running, close the backend, restore and close the
 * device. The session is the one owner of the restore: it runs once, on every path, whatever
 * failed before it.
 */
import type { FastifyInstance } from 'fastify';
import type { ApplyResult, Device, FrequencyConfig } from '../core/device.ts';
import { PolyThrottleError } from '../core/errors.ts';
import { type GuardedDevice, guardDevice } from '../device/safety/guard.ts';
import { PowerMeter } from '../measure/power-meter.ts';
import { closeServer, createServer, type ServerOptions } from './server.ts';

export interface ServeSessionOptions extends Omit<ServerOptions, 'applied' | 'device' | 'powerMeter'> {
  /** The device to serve on; the session owns it from here on: it restores and closes it. */
  readonly device?: Device;
  /** Clocks to apply before serving (the profile's configuration). */
  readonly clocks?: FrequencyConfig;
  /** A meter to use instead of sampling the device's total power sensor. */
  readonly powerMeter?: PowerMeter;
  /** Power sampling period on a real device, ms (20). */
  readonly powerSampleMs?: number;
  /** Where the device's snapshot is kept until it is restored (default: the state directory's). */
  readonly snapshotFile?: string;
  readonly host?: string;
  readonly port?: number;
  /**
   * Longest wait on shutdown for queued and running requests before the remaining connections are
   * closed and the device restored, ms (DEFAULT_DRAIN_TIMEOUT_MS).
   */
  readonly drainTimeoutMs?: number;
  /** Progress and warnings, one line each. */
  readonly log?: (line: string) => void;
}

/** How long a shutdown waits for the drain by default: well inside a service manager's stop timeout (systemd: 90 s). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export interface ServeSession {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly applied: ApplyResult | undefined;
  /**
   * Stop accepting, drain (at most the drain timeout, then the remaining connections are closed),
   * restore and close the device, close the backend. Idempotent.
   */
  shutdown(): Promise<void>;
  /**
   * Close every connection and restore the device now, without waiting for the drain (a second
   * signal). Joins a restore already under way; the backend's close is started, not awaited.
   */
  shutdownNow(): Promise<void>;
}

const hasClocks = (c: FrequencyConfig | undefined): c is FrequencyConfig => c !== undefined && Object.values(c).some((v) => v !== undefined);

/** Samples kept for per-batch energy, ms: longer than any batch. */
const KEEP_SAMPLES_MS = 30_000;

async function openMeter(device: Device, intervalMs: number, log: (l: string) => void): Promise<PowerMeter | undefined> {
  // On the twin the sim backend reports each batch's energy; its power sensor still gives the board
  // power and idle energy (it follows the load the backend sets).
  const sources = await device.powerSources();
  const totals = sources.filter((s) => s.role === 'total');
  if (sources.length === 0) {
    log('warning: the device has no power sensor; energy will not be metered');
    return undefined;
  }
  if (totals.length === 0) log(`note: no board input sensor; board power is the sum of the rails ${sources.map((s) => s.name).join(', ')}`);
  const periodMs = device.kind === 'sim' ? Math.max(intervalMs, 100) : intervalMs;
  const meter = new PowerMeter(totals.length > 0 ? totals : sources, { periodMs, keepMs: KEEP_SAMPLES_MS });
  meter.start();
  return meter;
}

/** `fn` run at most once: later calls get the first call's promise. */
function once<T>(fn: () => Promise<T> | T | undefined): () => Promise<T | undefined> {
  let p: Promise<T | undefined> | undefined;
  return () => {
    p ??= Promise.resolve().then(fn);
    return p;
  };
}

/** Run every step, collecting what each throws instead of stopping at the first. */
async function allSteps(steps: readonly (() => Promise<unknown> | undefined)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps)
    try {
      await step();
    } catch (e) {
      errors.push(e);
    }
  return errors;
}

/** The errors of a shutdown as one, naming each. */
function shutdownError(errors: readonly unknown[]): PolyThrottleError {
  return new PolyThrottleError('HARDWARE', `shutdown finished with errors: ${errors.map((e) => (e as Error).message ?? String(e)).join('; ')}`, {
    cause: errors[0],
  });
}

export async function startServing(opts: ServeSessionOptions): Promise<ServeSession> {
  const log = opts.log ?? (() => {});
  const device: GuardedDevice | undefined = opts.device
    ? guardDevice(opts.device, { log, ...(opts.snapshotFile ? { file: opts.snapshotFile } : {}) })
    : undefined;
  let applied: ApplyResult | undefined;
  let meter: PowerMeter | undefined = opts.powerMeter;
  let app: FastifyInstance | undefined;
  const drainTimeoutMs = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!(Number.isFinite(drainTimeoutMs) && drainTimeoutMs >= 0)) throw new Error(`drainTimeoutMs must be ≥ 0, got ${drainTimeoutMs}`);
  // Each step runs once whichever path (drain, second signal, failed start) gets to it first.
  const stopMeter = once(() => meter?.stop());
  const restoreDevice = once(() => device?.close('end of serving'));
  const closeBackend = once(() => opts.backend.close());
  // The device is restored before the backend closes: a backend that hangs on close cannot hold the clocks.
  const closeAll = (server: FastifyInstance | undefined, closeServerStep: () => Promise<unknown> | undefined = () => server?.close()) =>
    allSteps([closeServerStep, stopMeter, restoreDevice, closeBackend]);

  try {
    if (device) {
      if (hasClocks(opts.clocks)) {
        applied = await device.apply(opts.clocks);
        for (const a of applied.adjustments) log(`warning: ${a.knob} ${a.kind}: ${a.detail}`);
      }
      meter ??= await openMeter(device, opts.powerSampleMs ?? 20, log);
    }
    app = await createServer({ ...opts, device, powerMeter: meter, applied });
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8000 });
  } catch (e) {
    for (const err of await closeAll(app)) log(`error: ${(err as Error).message ?? String(err)}`);
    if ((e as { code?: string }).code === 'EADDRINUSE')
      throw new PolyThrottleError('BAD_INPUT', `port ${opts.port} on ${opts.host ?? '127.0.0.1'} is already in use`, {
        hint: 'pick another with --port',
        cause: e,
      });
    throw e;
  }

  const addr = app.server.address();
  const url = typeof addr === 'object' && addr ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  const server = app;
  let closing: Promise<void> | undefined;
  const shutdown = () => {
    closing ??= closeAll(server, () => closeServer(server, { drainTimeoutMs, log })).then((errors) => {
      if (errors.length > 0) throw shutdownError(errors);
    });
    return closing;
  };
  let aborting: Promise<void> | undefined;
  const shutdownNow = () => {
    aborting ??= (async () => {
      server.server.close(() => {});
      server.server.closeAllConnections();
      const errors = await allSteps([stopMeter, restoreDevice]);
      closeBackend().catch((e: unknown) => log(`error: ${(e as Error).message ?? String(e)}`));
      if (errors.length > 0) throw shutdownError(errors);
    })();
    return aborting;
  };
  return { app: server, url, applied, shutdown, shutdownNow };
}

/** What ends a session: a signal, or an error nothing else caught. */
export interface ShutdownOnExitOptions {
  readonly log?: (line: string) => void;
  /** Where the signals and uncaught errors are emitted (the process by default). */
  readonly events?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/**
 * Shut the session down (drain, restore) on SIGTERM, SIGINT, an uncaught exception or an
 * unhandled rejection, and resolve with the exit code: 0 after a clean shutdown on a signal, 1
 * after an uncaught error or when the shutdown failed. The drain is bounded (the session's drain
 * timeout). A second SIGTERM/SIGINT while draining closes every connection, restores the device and
 * resolves at once; an error while draining is reported and ignored (restoring matters more).
 */
export function shutdownOnExit(session: ServeSession, opts: ShutdownOnExitOptions = {}): Promise<number> {
  const log = opts.log ?? (() => {});
  const events = opts.events ?? process;
  return new Promise<number>((resolve) => {
    let started = false;
    let exitCode = 0;
    let finished = false;
    const settle = (p: Promise<void>, code: number) =>
      p.then(
        () => finish(code),
        (e: unknown) => {
          log(`error: ${(e as Error).message}`);
          finish(1);
        },
      );
    const stop = (cause: string, code: number) => {
      if (started) {
        log(`${cause} while draining: still draining and restoring the device, please wait`);
        return;
      }
      started = true;
      exitCode = code;
      settle(session.shutdown(), code);
    };
    const onSignal = (sig: NodeJS.Signals) => {
      if (started) {
        log(`${sig} again: closing every connection, restoring the device and exiting now`);
        settle(session.shutdownNow(), exitCode);
        return;
      }
      log(`${sig}: draining in-flight requests (at most the drain timeout), then restoring the device`);
      stop(sig, 0);
    };
    const onFatal = (e: unknown) => {
      log(`error: ${(e as Error)?.stack ?? String(e)}`);
      stop('uncaught error', 1);
    };
    const handlers = [
      ['SIGTERM', onSignal],
      ['SIGINT', onSignal],
      ['uncaughtException', onFatal],
      ['unhandledRejection', onFatal],
    ] as const;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      for (const [event, handler] of handlers) events.off(event, handler);
      resolve(code);
    };
    for (const [event, handler] of handlers) events.on(event, handler);
  });
}

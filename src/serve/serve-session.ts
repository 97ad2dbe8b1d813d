/**
 * The server's whole life cycle on a device: snapshot the device, apply the configuration (read
 * back, adjustments reported), start metering, listen; on shutdown stop accepting, drain what is
 * queued and running, close the backend, restore the device. Restoring is attempted whatever
 * failed before it.
 */
import type { FastifyInstance } from 'fastify';
import type { ApplyResult, Device, DeviceSnapshot, FrequencyConfig } from '../core/device.ts';
import { PolyThrottleError } from '../core/errors.ts';
import { PowerMeter } from '../measure/power-meter.ts';
import { createServer, type ServerOptions } from './server.ts';

export interface ServeSessionOptions extends Omit<ServerOptions, 'applied' | 'device' | 'powerMeter'> {
  readonly device?: Device;
  /** Clocks to apply before serving (the profile's configuration). */
  readonly clocks?: FrequencyConfig;
  /** A meter to use instead of sampling the device's total power sensor. */
  readonly powerMeter?: PowerMeter;
  /** Power sampling period on a real device, ms (20). */
  readonly powerSampleMs?: number;
  readonly host?: string;
  readonly port?: number;
  /** Progress and warnings, one line each. */
  readonly log?: (line: string) => void;
}

export interface ServeSession {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly applied: ApplyResult | undefined;
  /** Stop accepting, drain, close the backend, restore the device. Idempotent. */
  shutdown(): Promise<void>;
}

const hasClocks = (c: FrequencyConfig | undefined): c is FrequencyConfig =>
  c !== undefined && Object.values(c).some((v) => v !== undefined);

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

export async function startServing(opts: ServeSessionOptions): Promise<ServeSession> {
  const log = opts.log ?? (() => {});
  const { device } = opts;
  let snapshot: DeviceSnapshot | undefined;
  let applied: ApplyResult | undefined;
  let meter: PowerMeter | undefined = opts.powerMeter;
  let app: FastifyInstance | undefined;

  const restore = async (errors: unknown[]) => {
    if (device && snapshot) {
      try {
        await device.restore(snapshot);
        log(`restored ${device.id} to its state before serving`);
      } catch (e) {
        errors.push(e);
      }
    }
    if (device)
      try {
        await device.close();
      } catch (e) {
        errors.push(e);
      }
  };

  try {
    if (device) {
      snapshot = await device.snapshot();
      if (hasClocks(opts.clocks)) {
        applied = await device.apply(opts.clocks);
        for (const a of applied.adjustments) log(`warning: ${a.knob} ${a.kind}: ${a.detail}`);
      }
      meter ??= await openMeter(device, opts.powerSampleMs ?? 20, log);
    }
    app = await createServer({ ...opts, device, powerMeter: meter, applied });
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8000 });
  } catch (e) {
    const errors: unknown[] = [];
    try {
      await app?.close();
    } catch (err) {
      errors.push(err);
    }
    await meter?.stop();
    await restore(errors);
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
    closing ??= (async () => {
      const errors: unknown[] = [];
      try {
        await server.close();
      } catch (e) {
        errors.push(e);
      }
      try {
        await meter?.stop();
      } catch (e) {
        errors.push(e);
      }
      try {
        await opts.backend.close();
      } catch (e) {
        errors.push(e);
      }
      await restore(errors);
      if (errors.length > 0)
        throw new PolyThrottleError('HARDWARE', `shutdown finished with errors: ${errors.map((e) => (e as Error).message ?? String(e)).join('; ')}`, {
          cause: errors[0],
        });
    })();
    return closing;
  };
  return { app: server, url, applied, shutdown };
}

/**
 * Shut the session down on SIGTERM/SIGINT (drain, restore) and resolve with the exit code:
 * 0 after a clean shutdown, 1 when restoring failed. A second signal while draining is reported
 * and ignored: restoring the device matters more than exiting fast.
 */
export function shutdownOnSignals(session: ServeSession, log: (line: string) => void = () => {}): Promise<number> {
  return new Promise<number>((resolve) => {
    let started = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (started) {
        log(`${sig} again: still draining and restoring the device, please wait`);
        return;
      }
      started = true;
      log(`${sig}: draining in-flight requests, then restoring the device`);
      session.shutdown().then(
        () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(0);
        },
        (e: unknown) => {
          log(`error: ${(e as Error).message}`);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

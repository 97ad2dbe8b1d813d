/**
 * Open-loop load for the serve benchmark: requests sent at scheduled times whatever the server
 * answers (a closed loop would slow down with the server and hide its tail). Schedules: Poisson
 * arrivals at a rate, synchronised bursts (each second's requests at once) over a steady rate, and
 * a closed-loop saturation run to measure capacity. Runs in a child process (`--load <json>`) so the
 * load generator does not share the server's event loop.
 */
import { mulberry32 } from '../src/numerics/random.ts';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export type Schedule =
  | { readonly kind: 'poisson'; readonly rate: number; readonly durationS: number; readonly seed: number }
  | {
      readonly kind: 'bursts';
      /** Requests sent at once at each burst. */
      readonly size: number;
      /** Bursts at 0, periodMs, 2·periodMs… */
      readonly count: number;
      readonly periodMs: number;
      /** Smooth background rate through the whole run, requests/s. */
      readonly steadyRate: number;
      readonly durationS: number;
    }
  | { readonly kind: 'saturate'; readonly connections: number; readonly durationS: number };

export interface LoadArgs {
  readonly url: string;
  /** Body as base64 (binary bodies survive the trip). */
  readonly bodyB64: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly schedule: Schedule;
}

/** One request's fate: when it was sent (ms from the start), its tag, status and client latency. */
export interface Sent {
  readonly at: number;
  readonly tag: 'poisson' | 'burst' | 'steady' | 'closed';
  readonly status: number;
  readonly ms: number;
}

export interface LoadResult {
  readonly durationS: number;
  readonly sent: readonly Sent[];
  readonly errors: number;
}

/** Send times (ms from the start) with their tags. */
export function sendTimes(s: Schedule): { at: number; tag: Sent['tag'] }[] {
  const out: { at: number; tag: Sent['tag'] }[] = [];
  if (s.kind === 'poisson') {
    const u = mulberry32(s.seed);
    for (let t = 0; ; ) {
      t += (-Math.log(1 - u()) / s.rate) * 1000;
      if (t >= s.durationS * 1000) break;
      out.push({ at: t, tag: 'poisson' });
    }
  } else if (s.kind === 'bursts') {
    for (let b = 0; b < s.count; b++) for (let i = 0; i < s.size; i++) out.push({ at: b * s.periodMs, tag: 'burst' });
    if (s.steadyRate > 0) for (let t = 500 / s.steadyRate; t < s.durationS * 1000; t += 1000 / s.steadyRate) out.push({ at: t, tag: 'steady' });
  }
  return out.sort((a, b) => a.at - b.at);
}

async function loadMain(argJson: string): Promise<void> {
  const a = JSON.parse(argJson) as LoadArgs;
  const body = Buffer.from(a.bodyB64, 'base64');
  const u = new URL(a.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const sent: Sent[] = [];
  let errors = 0;
  const t0 = performance.now();
  const post = (tag: Sent['tag'], at: number) =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const r = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { ...a.headers, 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            sent.push({ at, tag, status: res.statusCode ?? 0, ms: performance.now() - start });
            resolve();
          });
        },
      );
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end(body);
    });
  const s = a.schedule;
  const pending: Promise<void>[] = [];
  if (s.kind === 'saturate') {
    const end = t0 + s.durationS * 1000;
    const loop = async () => {
      while (performance.now() < end) await post('closed', performance.now() - t0);
    };
    await Promise.all(Array.from({ length: s.connections }, loop));
  } else {
    const times = sendTimes(s);
    let i = 0;
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now() - t0;
        while (i < times.length && times[i]!.at <= now) {
          const x = times[i++]!;
          pending.push(post(x.tag, x.at));
        }
        if (i >= times.length) return done();
        setTimeout(tick, Math.max(0, Math.min(5, times[i]!.at - (performance.now() - t0))));
      };
      tick();
    });
    await Promise.all(pending);
  }
  agent.destroy();
  const out: LoadResult = { durationS: (performance.now() - t0) / 1000, sent, errors };
  process.stdout.write(JSON.stringify(out));
}

export function runLoad(args: LoadArgs): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // the arguments go through stdin: a 600 KB body does not fit in one argv string
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--load'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(args));
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

if (process.argv.includes('--load')) {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  await loadMain(Buffer.concat(chunks).toString('utf8'));
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { PolyThrottleError } from '../../core/errors.ts';

/** Run nvidia-smi (found on PATH) and return its stdout. */
export function runNvidiaSmi(args: readonly string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nvidia-smi', [...args], { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: unknown };
      if (e.code === 'ENOENT')
        return reject(new PolyThrottleError('NOT_FOUND', 'nvidia-smi is not on PATH', { hint: 'install the NVIDIA driver utilities', cause: err }));
      const lines = `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      const text = lines.find((l) => /permission|not permitted|not supported|invalid|error|fail/i.test(l)) ?? lines[0] ?? err.message;
      if (/insufficient permissions|not permitted|root/i.test(`${stdout}${stderr}`))
        return reject(
          new PolyThrottleError('PERMISSION', `nvidia-smi ${args.join(' ')}: ${text}`, { hint: 'clock changes need root: run with sudo', cause: err }),
        );
      reject(new PolyThrottleError('HARDWARE', `nvidia-smi ${args.join(' ')} failed: ${text}`, { cause: err }));
    });
  });
}

/** A CSV cell of `--format=csv,noheader,nounits`: number, text, or undefined for [N/A] / [Not Supported]. */
export function cell(s: string | undefined): string | undefined {
  const t = s?.trim();
  if (t === undefined || t === '' || /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU is lost)\]?$/i.test(t)) return undefined;
  return t;
}

export function num(s: string | undefined): number | undefined {
  const t = cell(s);
  if (t === undefined) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Rows of `--format=csv,noheader,nounits` output. */
export function parseCsvRows(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(',').map((c) => c.trim()));
}

export const GPU_FIELDS = [
  'index',
  'name',
  'uuid',
  'driver_version',
  'pstate',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.gr',
  'clocks.mem',
  'clocks.max.gr',
  'clocks.max.mem',
] as const;

export interface GpuInfo {
  readonly index: number;
  readonly name: string;
  readonly uuid?: string;
  readonly driver?: string;
  readonly pstate?: string;
  readonly temperatureC?: number;
  readonly powerW?: number;
  readonly powerLimitW?: number;
  readonly graphicsMHz?: number;
  readonly memoryMHz?: number;
  readonly maxGraphicsMHz?: number;
  readonly maxMemoryMHz?: number;
}

export function parseGpuRow(row: readonly string[]): GpuInfo {
  const [index, name, uuid, driver, pstate, temp, power, limit, gr, mem, maxGr, maxMem] = row;
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    index: num(index) ?? 0,
    name: cell(name) ?? 'NVIDIA GPU',
    ...opt('uuid', cell(uuid)),
    ...opt('driver', cell(driver)),
    ...opt('pstate', cell(pstate)),
    ...opt('temperatureC', num(temp)),
    ...opt('powerW', num(power)),
    ...opt('powerLimitW', num(limit)),
    ...opt('graphicsMHz', num(gr)),
    ...opt('memoryMHz', num(mem)),
    ...opt('maxGraphicsMHz', num(maxGr)),
    ...opt('maxMemoryMHz', num(maxMem)),
  };
}

export async function queryGpus(): Promise<GpuInfo[]> {
  const out = await runNvidiaSmi([`--query-gpu=${GPU_FIELDS.join(',')}`, '--format=csv,noheader,nounits']);
  return parseCsvRows(out).map(parseGpuRow);
}

/** `--query-supported-clocks=memory,graphics` → memory MHz → graphics MHz list (ascending). */
export function parseSupportedClocks(text: string): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const [mem, gr] of parseCsvRows(text)) {
    const a = num(mem);
    const b = num(gr);
    if (a === undefined || b === undefined) continue;
    const list = m.get(a) ?? [];
    if (!list.includes(b)) list.push(b);
    m.set(a, list);
  }
  for (const l of m.values()) l.sort((x, y) => x - y);
  return m;
}

export async function querySupportedClocks(index: number): Promise<Map<number, number[]>> {
  return parseSupportedClocks(await runNvidiaSmi(['-i', String(index), '--query-supported-clocks=memory,graphics', '--format=csv,noheader,nounits']));
}

/** `GPU clocks set to "(gpuClkMin 300, gpuClkMax 1500)" for GPU …` → [300, 1500] (MHz). */
export function parseClocksSet(text: string): [number, number] | undefined {
  const m = text.match(/ClkMin\s+(\d+),\s*\w*ClkMax\s+(\d+)/);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The power field to sample: `power.draw.instant` (the instantaneous reading) where the driver
 * offers it, else `power.draw` (on Ampere and newer a 1 s average, useless for one batch).
 */
export type PowerField = 'power.draw.instant' | 'power.draw';

/**
 * Which power field GPU `index` reads: one query of `power.draw.instant`; a number means the driver
 * has it, "[N/A]", an unknown field ("is not a valid field to query") or any failure falls back to
 * `power.draw`.
 */
export async function probePowerField(index: number): Promise<PowerField> {
  try {
    const out = await runNvidiaSmi(['-i', String(index), '--query-gpu=power.draw.instant', '--format=csv,noheader,nounits']);
    const first = out.split('\n').find((l) => l.trim() !== '');
    return num(first) === undefined ? 'power.draw' : 'power.draw.instant';
  } catch {
    return 'power.draw';
  }
}

/**
 * The latest power reading (`field`, W) of one GPU from a long-running `nvidia-smi -lms` loop
 * (spawning nvidia-smi per sample costs tens of ms). A value older than `staleMs` is an error, never
 * a silent zero.
 */
export class PowerDrawStream {
  private child: ChildProcess | undefined;
  private latest: { w: number | undefined; at: number; raw: string } | undefined;
  private failure: string | undefined;
  private waiters: (() => void)[] = [];
  constructor(
    private readonly index: number,
    private readonly periodMs = 50,
    private readonly staleMs = 2_000,
    readonly field: PowerField = 'power.draw',
  ) {}
  private start(): void {
    const child = spawn('nvidia-smi', ['-i', String(this.index), `--query-gpu=${this.field}`, '--format=csv,noheader,nounits', '-lms', String(this.periodMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.latest = { w: num(line), at: Date.now(), raw: line };
        nl = buf.indexOf('\n');
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.on('error', (e) => {
      this.failure = `nvidia-smi power stream: ${e.message}`;
    });
    child.on('exit', (code) => {
      this.failure ??= `nvidia-smi power stream exited (${code})`;
      this.child = undefined;
      for (const w of this.waiters.splice(0)) w();
    });
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }
  async read(): Promise<number> {
    if (!this.child && !this.failure) this.start();
    if (!this.latest && !this.failure) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.staleMs);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const l = this.latest;
    if (!l) throw new PolyThrottleError('MEASUREMENT', this.failure ?? `nvidia-smi printed no ${this.field} within ${this.staleMs} ms`);
    if (Date.now() - l.at > this.staleMs)
      throw new PolyThrottleError('MEASUREMENT', `${this.failure ?? `nvidia-smi ${this.field}`} is stale (${Date.now() - l.at} ms old)`);
    if (l.w === undefined) throw new PolyThrottleError('MEASUREMENT', `nvidia-smi ${this.field} reads "${l.raw}"`);
    return l.w;
  }
  close(): void {
    this.child?.kill();
    this.child = undefined;
  }
}

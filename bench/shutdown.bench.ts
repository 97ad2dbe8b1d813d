/**
 * Bounded shutdown: how long SIGTERM → process exit takes with 200 clients that sent part of a body
 * and stopped, on a fake AGX Orin tree (the clock files are checked byte for byte after each exit).
 *
 *   npx tsx bench/shutdown.bench.ts [--runs 5] [--drain-ms 10000]
 *
 * Scenarios: "slow clients" (nothing queued: the drain is immediate), "stuck batch" (a batch that
 * never ends holds the drain until the deadline), "second signal" (SIGTERM, then SIGTERM again once
 * the server says it is draining). Traffic goes to 127.0.0.1 only; 201 connections per run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agxOrinR36, buildBoard, treeManifest } from '../test/fixtures/hardware/fake-tree.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'drain-ms': { type: 'string', default: '10000' } } });
const RUNS = Number(values.runs);
const DRAIN_MS = Number(values['drain-ms']);
const SLOW = 200;
const CHILD = fileURLToPath(new URL('../test/serve/fixtures/slow-clients-child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  output(): string;
}

function start(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += String(d);
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  exited.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (re: RegExp) => {
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`child exited before ${re}:\n${out}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { proc, waitFor, exited, output: () => out };
}

function open(port: number, bytes: string, sockets: Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes, () => resolve()));
    s.on('error', () => {});
    s.once('error', reject);
    sockets.push(s);
  });
}

const PARTIAL = 'POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": [';
const FULL = (() => {
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
  return `POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
})();

type Scenario = 'slow clients' | 'stuck batch' | 'second signal';

async function run(scenario: Scenario): Promise<{ ms: number; restored: boolean; code: number | null }> {
  const root = await buildBoard(agxOrinR36());
  const before = await treeManifest(root);
  const stuck = scenario !== 'slow clients';
  const child = start({
    SYSFS_ROOT: root,
    POLYTHROTTLE_STATE_DIR: root,
    DRAIN_MS: String(DRAIN_MS),
    SERVICE_MS: stuck ? '600000' : '5',
    SLOW: String(stuck ? SLOW + 1 : SLOW),
  });
  const sockets: Socket[] = [];
  try {
    const port = Number(new URL((await child.waitFor(/listening (\S+)/))[1]!).port);
    if (stuck) {
      await open(port, FULL, sockets);
      await child.waitFor(/batch started/);
    }
    for (let i = 0; i < SLOW; i++) await open(port, PARTIAL, sockets);
    await child.waitFor(/requests open: \d+/);
    const t0 = performance.now();
    child.proc.kill('SIGTERM');
    if (scenario === 'second signal') {
      await child.waitFor(/SIGTERM: draining/);
      child.proc.kill('SIGTERM');
    }
    const code = await child.exited;
    const ms = performance.now() - t0;
    const after = await treeManifest(root);
    const restored = Object.keys(before).every((k) => before[k] === after[k]) && Object.keys(after).length === Object.keys(before).length;
    return { ms, restored, code };
  } finally {
    for (const s of sockets) s.destroy();
    if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

console.log(`# bounded shutdown: ${SLOW} partial-body clients, --drain-timeout ${DRAIN_MS} ms, ${RUNS} runs per scenario`);
console.log(
  `# host: ${availableParallelism()} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}, ${new Date().toISOString()}`,
);
console.log('| scenario | SIGTERM → exit, ms: median / worst | clocks restored | exit code |');
console.log('|---|---|---|---|');
for (const scenario of ['slow clients', 'stuck batch', 'second signal'] as const) {
  const rs: { ms: number; restored: boolean; code: number | null }[] = [];
  for (let i = 0; i < RUNS; i++) rs.push(await run(scenario));
  const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)]!;
  console.log(
    `| ${scenario} | ${median.toFixed(0)} / ${ms.at(-1)!.toFixed(0)} | ${rs.filter((r) => r.restored).length}/${RUNS} | ${[...new Set(rs.map((r) => r.code))].join(', ')} |`,
  );
}

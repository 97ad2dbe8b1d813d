/**
 * `kill -9` of `polythrottle serve` on a fake AGX Orin tree at seeded clock writes (while it applies
 * the served configuration, or while its restore runs), followed by `polythrottle restore` or by the
 * next serve: the tree ends byte-identical every time. Every wait is on an event (an exit, a line).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/numerics/random.ts';
import { agxOrinR36, buildBoard, treeManifest } from '../../fixtures/hardware/fake-tree.ts';
import { type KServeFixture, startKServeFixture } from '../../fixtures/kserve-fixture.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'src/cli/main.ts');
const PRELOAD = join(REPO, 'test/fixtures/hardware/kill-at-write.ts');
const temps: string[] = [];
const children: ChildProcess[] = [];
beforeAll(async () => {
  upstream = await startKServeFixture();
});
afterAll(async () => {
  await upstream?.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

/** The upstream KServe v2 endpoint serve forwards batches to (a real server on 127.0.0.1). */
let upstream: KServeFixture;

/** The served configuration: every knob away from the fake board's boot values, so each is written. */
const serveArgs = () => ['serve', '--device', 'jetson', '--model', 'doubler', '--backend', 'http', '--upstream', upstream.url, '--slo', '500ms', '--port', '0'];
const CONFIG = ['--config', 'cpu=1190.4MHz,gpu-min=318.75MHz,gpu-max=624.75MHz,emc=665.6MHz,batch=1'];

interface Exit {
  code: number | null;
  signal: string | null;
  stderr: string;
}

function start(args: string[], env: Record<string, string>, opts: { preload?: boolean; until?: RegExp } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...(opts.preload ? ['--import', PRELOAD] : []), CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  let seen: (() => void) | undefined;
  const said = new Promise<void>((res) => {
    seen = res;
  });
  child.stderr!.on('data', (c) => {
    err += String(c);
    if (opts.until?.test(err)) seen?.();
  });
  child.stdout!.resume();
  const exited = new Promise<Exit>((res) => child.on('exit', (code, signal) => res({ code, signal, stderr: err })));
  return { child, said, exited };
}

describe('serve killed with -9 at seeded clock writes', () => {
  it('restore, or the next serve, puts the tree back byte for byte (8 seeded kill points)', async () => {
    const rnd = mulberry32(2026);
    let killed = 0;
    for (let i = 0; i < 8; i++) {
      const root = await buildBoard(agxOrinR36());
      const state = await mkdtemp(join(tmpdir(), 'pt-serve-kill-'));
      temps.push(root, state);
      const before = await treeManifest(root);
      const env = { POLYTHROTTLE_SYSFS_ROOT: root, POLYTHROTTLE_STATE_DIR: state };
      // the apply writes a dozen files (CPU clusters, GPU min and max, EMC); points past it land in the
      // restore after SIGINT
      const at = 1 + Math.floor(rnd() * 16);
      const when = rnd() < 0.5 ? 'before' : 'after';
      const a = start(
        [...serveArgs(), ...CONFIG],
        { ...env, POLYTHROTTLE_KILL_AT_WRITE: String(at), POLYTHROTTLE_KILL_WHEN: when },
        { preload: true, until: /^serving /m },
      );
      const first = await Promise.race([a.exited, a.said.then(() => null)]);
      if (first === null) a.child.kill('SIGINT'); // serving: the kill point lies in the restore
      const ex = await a.exited;
      if (ex.signal === 'SIGKILL') killed++;
      else expect(ex.code, ex.stderr).toBe(0);
      if (i % 2 === 0) {
        const r = await start(['restore'], env).exited;
        expect(r.code, r.stderr).toBe(0);
      } else {
        // the next serve puts the dead run's snapshot back before it writes, then serves and stops
        const next = start([...serveArgs(), ...CONFIG], env, { until: /^serving /m });
        await Promise.race([next.said, next.exited]);
        next.child.kill('SIGINT');
        const n = await next.exited;
        expect(n.code, n.stderr).toBe(0);
      }
      expect(await treeManifest(root), `kill point ${at} (${when})`).toEqual(before);
    }
    expect(killed).toBeGreaterThanOrEqual(4);
  }, 240_000);
});

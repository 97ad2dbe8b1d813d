/**
 * Shutdown is bounded: 200 clients that send part of a body and stop, and a batch that never ends,
 * cannot keep the served clocks on the device. The server runs in a child process on a fake AGX Orin
 * tree; the tree is compared byte for byte with how it was before serving.
 */
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killChildrenAfterEach, spawnTsx, type TsxChild } from '../fixtures/child-process.ts';
import { agxOrinR36, buildBoard, treeManifest } from '../fixtures/hardware/fake-tree.ts';
import { doubleRequest } from './fakes.ts';

killChildrenAfterEach();
const CHILD = fileURLToPath(new URL('./fixtures/slow-clients-child.ts', import.meta.url));
const roots: string[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function serveOnFakeBoard(env: Record<string, string>) {
  const root = await buildBoard(agxOrinR36());
  roots.push(root);
  const before = await treeManifest(root);
  const server = spawnTsx(CHILD, [], { SYSFS_ROOT: root, POLYTHROTTLE_STATE_DIR: root, ...env });
  const url = new URL((await server.waitFor(/listening (\S+)/))[1]!);
  const during = await treeManifest(root);
  expect(Object.keys(during).filter((k) => during[k] !== before[k]).length, 'served clocks written to the tree').toBeGreaterThanOrEqual(4);
  return { root, before, server, port: Number(url.port) };
}

/** `n` clients that each send the headers and a few bytes of a 1000-byte body, then nothing. */
async function slowClients(port: number, n: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => {
            s.write('POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": [', () =>
              resolve(),
            );
          });
          s.on('error', () => {}); // the server closing them at shutdown is the point
          s.once('error', reject);
          sockets.push(s);
        }),
    ),
  );
}

/** A request whose batch is running (the child prints "batch started"); its answer is not awaited. */
function requestInFlight(port: number): void {
  const body = JSON.stringify(doubleRequest(1));
  const s = connect(port, '127.0.0.1', () =>
    s.write(`POST /v2/models/double/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
  );
  s.on('error', () => {});
  sockets.push(s);
}

async function exitAfter(server: TsxChild, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const t0 = performance.now();
  server.child.kill(signal);
  const code = await server.exited;
  return { code, ms: performance.now() - t0 };
}

describe('bounded shutdown with 200 slow clients', () => {
  it('SIGTERM: the drain has nothing to wait for, so the 200 connections are closed at once, the clocks restored and the process exits 0', async () => {
    const { root, before, server, port } = await serveOnFakeBoard({ DRAIN_MS: '5000', SLOW: '200' });
    await slowClients(port, 200);
    await server.waitFor(/requests open: 200/);
    const { code, ms } = await exitAfter(server, 'SIGTERM');
    expect(code, server.output()).toBe(0);
    expect(ms).toBeLessThan(5000); // inside the deadline (it does not need it)
    expect(await treeManifest(root)).toEqual(before);
    expect(server.output()).toMatch(/log: drained in \d+ ms/);
    expect(server.output()).toMatch(/log: restoring jetson/);
  }, 60_000);

  it('SIGTERM with a batch that never ends: the drain deadline passes, connections are closed, the clocks restored, exit 0 within the deadline', async () => {
    const { root, before, server, port } = await serveOnFakeBoard({ DRAIN_MS: '1500', SERVICE_MS: '600000', SLOW: '201' });
    requestInFlight(port);
    await server.waitFor(/batch started/);
    await slowClients(port, 200);
    await server.waitFor(/requests open: 201/);
    const { code, ms } = await exitAfter(server, 'SIGTERM');
    expect(code, server.output()).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(1500);
    expect(ms).toBeLessThan(1500 + 8000); // the deadline plus restoring and exiting, on a loaded machine
    expect(server.output()).toContain('log: drain deadline (1500 ms) passed: closing the remaining connections');
    expect(await treeManifest(root)).toEqual(before);
  }, 60_000);

  it('a second SIGTERM while draining restores and exits at once, long before the deadline', async () => {
    const { root, before, server, port } = await serveOnFakeBoard({ DRAIN_MS: '120000', SERVICE_MS: '600000', SLOW: '201' });
    requestInFlight(port);
    await server.waitFor(/batch started/);
    await slowClients(port, 200);
    await server.waitFor(/requests open: 201/);
    server.child.kill('SIGTERM');
    await server.waitFor(/SIGTERM: draining/);
    const { code, ms } = await exitAfter(server, 'SIGTERM');
    expect(code, server.output()).toBe(0);
    expect(ms).toBeLessThan(10_000); // the deadline is 120 s
    expect(server.output()).toContain('SIGTERM again: closing every connection, restoring the device and exiting now');
    expect(await treeManifest(root)).toEqual(before);
  }, 60_000);
});

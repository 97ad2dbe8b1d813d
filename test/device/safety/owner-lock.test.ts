import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../../src/device/open.ts';
import { GuardedDevice } from '../../../src/device/safety/guard.ts';
import { acquireLock, lockPathFor, ownerAlive, processStartTime, readLock } from '../../../src/device/safety/owner-lock.ts';
import { restoreFromSnapshotFiles } from '../../../src/device/safety/restore-file.ts';
import { writeSnapshotFile } from '../../../src/device/safety/snapshot-file.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { buildBoard, treeManifest, x86Desktop } from '../../fixtures/hardware/fake-tree.ts';

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});
async function temp() {
  const d = await mkdtemp(join(tmpdir(), 'pt-lock-'));
  temps.push(d);
  return d;
}

/** The PID of a process that has exited (and been reaped). */
function deadPid(): Promise<number> {
  return new Promise((res) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.on('exit', () => res(c.pid!));
  });
}

/** A lock file as another process would have written it. */
async function foreignLock(path: string, pid: number, startTime: string | null) {
  await writeFile(
    path,
    JSON.stringify({
      format: 'polythrottle-lock/1',
      pid,
      startTime,
      command: 'polythrottle tune --device jetson',
      since: '2026-12-04T20:00:00.000Z',
      what: 'dev',
    }),
  );
}

describe('owner lock', () => {
  it('records PID, start time, command and since; a second taker is refused naming the holder; release removes only its own file', async () => {
    const path = join(await temp(), 'dev.lock');
    const held = await acquireLock(path, { what: 'jetson:tegra234', command: 'polythrottle tune --device jetson' });
    const o = await readLock(path);
    expect(o).toMatchObject({ pid: process.pid, command: 'polythrottle tune --device jetson', what: 'jetson:tegra234' });
    expect(o!.startTime).toBe(processStartTime(process.pid));
    expect(ownerAlive(o!)).toBe(true);
    await expect(acquireLock(path, { what: 'jetson:tegra234' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      exitCode: 2,
      message: expect.stringMatching(/^jetson:tegra234 is already in use by this process \(polythrottle tune --device jetson \(pid \d+, since .* UTC\)\)$/),
    });
    await held.release();
    expect(existsSync(path)).toBe(false);
    // a file that is no longer ours is left alone
    const again = await acquireLock(path, { what: 'x' });
    await foreignLock(path, 1, null);
    await again.release();
    expect(existsSync(path)).toBe(true);
  });

  it('a live holder in another process is refused with one line: command, PID, since when', async () => {
    const path = join(await temp(), 'dev.lock');
    // PID 1 is alive (EPERM counts as alive); with its real start time it is the same process
    await foreignLock(path, 1, processStartTime(1));
    await expect(acquireLock(path, { what: 'jetson:tegra234' })).rejects.toMatchObject({
      exitCode: 2,
      message: 'jetson:tegra234 is in use by polythrottle tune --device jetson (pid 1, since 2026-12-04 20:00:00 UTC)',
      hint: expect.stringContaining('kill 1'),
    });
  });

  it('stale locks are taken over, saying so: a dead PID, a reused PID (other start time), an unreadable file', async () => {
    const dir = await temp();
    const cases: [string, () => Promise<void>, RegExp][] = [
      [
        'dead',
        async () => foreignLock(join(dir, 'dead.lock'), await deadPid(), '1'),
        /from polythrottle tune --device jetson \(pid \d+, since 2026-12-04 20:00:00 UTC\): that process is gone/,
      ],
      ['reused', async () => foreignLock(join(dir, 'reused.lock'), 1, 'not-its-start-time'), /\(pid 1, since .*\): that process is gone/],
      ['torn', async () => writeFile(join(dir, 'torn.lock'), '{"format":"polyth'), /from an unreadable lock file .*: the lock file was unreadable/],
    ];
    for (const [name, make, said] of cases) {
      await make();
      const logs: string[] = [];
      const held = await acquireLock(join(dir, `${name}.lock`), { what: 'dev', log: (l) => logs.push(l) });
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(said);
      expect((await readLock(held.path))!.pid).toBe(process.pid);
      await held.release();
    }
  });

  it('many takers of a stale lock at once: exactly one wins, and it is the one that says it took over (20 rounds)', async () => {
    const dir = await temp();
    for (let round = 0; round < 20; round++) {
      const path = join(dir, `dev-${round}.lock`);
      await foreignLock(path, await deadPid(), null);
      const logs: string[] = [];
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(path, { what: 'dev', log: (l) => logs.push(l) })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.filter((r) => r.status === 'rejected').every((r) => /already in use by this process/.test(String((r as PromiseRejectedResult).reason))),
      ).toBe(true);
      expect(logs).toHaveLength(1);
      expect(existsSync(`${path}.takeover`)).toBe(false);
    }
  });
});

describe('guard and the lock', () => {
  it('the guard holds the lock from the first write until the restore; `restore` removes a dead holder’s lock', async () => {
    const root = await buildBoard(x86Desktop());
    temps.push(root);
    const before = await treeManifest(root);
    const file = join(await temp(), 'snapshot-dev.json');
    const g = new GuardedDevice(await openDevice('linux-cpu', { root, io: new FakeKernel(root) }), { file, log: () => {} });
    expect(existsSync(g.lockFile)).toBe(false);
    await g.apply({ cpuHz: 1_000_000_000 });
    expect((await readLock(g.lockFile))!.pid).toBe(process.pid);
    await g.restore();
    expect(existsSync(g.lockFile)).toBe(false);
    expect(await treeManifest(root)).toEqual(before);

    // what a kill -9 leaves: the snapshot and a lock naming a dead process
    await g.apply({ cpuHz: 1_000_000_000 });
    const snap = JSON.parse(await readFile(file, 'utf8'));
    const dead = await deadPid();
    await writeSnapshotFile(file, { ...snap, pid: dead });
    await foreignLock(lockPathFor(file), dead, null);
    await restoreFromSnapshotFiles({ file });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(lockPathFor(file))).toBe(false);
    expect(await treeManifest(root)).toEqual(before);
  });

  it('a corrupt snapshot left by an earlier run is neither overwritten nor written over: the run refuses with the command to run', async () => {
    const root = await buildBoard(x86Desktop());
    temps.push(root);
    const before = await treeManifest(root);
    const file = join(await temp(), 'snapshot-dev.json');
    await writeFile(file, '{"format":"polythrottle-snapshot/1"');
    const g = new GuardedDevice(await openDevice('linux-cpu', { root, io: new FakeKernel(root) }), { file, log: () => {} });
    await expect(g.apply({ cpuHz: 1_000_000_000 })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/is not JSON.*; it is not overwritten$/),
      hint: expect.stringContaining(`polythrottle restore --snapshot ${file}`),
    });
    expect(await readFile(file, 'utf8')).toBe('{"format":"polythrottle-snapshot/1"');
    expect(existsSync(lockPathFor(file))).toBe(false);
    expect(await treeManifest(root)).toEqual(before);
  });
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KServeFixture, startKServeFixture } from '../fixtures/kserve-fixture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('polythrottle workload', () => {
  let srv: KServeFixture;
  beforeAll(async () => {
    srv = await startKServeFixture({ delayMs: 2 });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('probes an http endpoint at a batch size and prints JSON', async () => {
    const r = await cli([
      'workload',
      '--workload',
      'http',
      '--url',
      srv.url,
      '--model',
      'doubler',
      '--batch',
      '3',
      '--batches',
      '5',
      '--concurrency',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ batch: 3, batches: 5, served: 15, errors: 0 });
    expect(out.latencyMs.p50).toBeGreaterThanOrEqual(2);
    expect(srv.received.filter((b) => b === 3).length).toBe(6); // one warm-up batch + five
  });

  it('exits 4 with the program’s last lines when a command fails, and 2 on a missing flag', async () => {
    const fail = await cli(['workload', '--workload', 'command', '--model', 'x', '--command', 'echo "engine not found" >&2; exit 3', '--batches', '1']);
    expect(fail.code).toBe(4);
    expect(fail.stderr).toMatch(/error: 1 batch failed: the command exited with code 3; last lines:\nengine not found/);
    const missing = await cli(['workload', '--workload', 'http', '--model', 'doubler']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--workload http needs --url/);
  });
});

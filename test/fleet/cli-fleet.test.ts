/** The fleet commands' flags and errors: one line, exit 2, nothing opened before a bad flag is refused. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-fleet-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectOneLine(args: string[], what: RegExp): Promise<void> {
  const r = await runCli(...args);
  expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
  expect(r.out).toBe('');
  const lines = r.err.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(what);
}

describe('fleet commands', () => {
  it('refuse bad flags with one line and exit code 2', async () => {
    await expectOneLine(['agent', '--device', 'sim:orin-agx', '--lease', '60'], /--lease needs a unit/);
    await expectOneLine(['agent', '--lease', '60s'], /--device is required/);
    await expectOneLine(['agent', '--device', 'sim:orin-agx', '--time-scale', '-1'], /--time-scale/);
    await expectOneLine(['tune', '--parallel', '0'], /--parallel must be a positive integer, got "0"/);
    await expectOneLine(['profile', 'pull'], /missing required argument 'key'/);
  });

  it('profile: an empty registry lists nothing, an unknown key is not found (exit 2)', async () => {
    const db = join(dir, 'registry.db');
    const list = await runCli('profile', 'list', '--db', db);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/no profiles in/);
    const pull = await runCli('profile', 'pull', 'orin-agx:35.4:000000000000:fp32:twin:p99-10ms', '--db', db);
    expect(pull.code).toBe(2);
    expect(pull.err).toMatch(/no profile "orin-agx:35\.4:000000000000:fp32:twin:p99-10ms" in the registry/);
  });
});

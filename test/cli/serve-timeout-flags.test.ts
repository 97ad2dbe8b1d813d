/** serve's shutdown and connection-timeout flags: durations, bounded, checked before anything is opened. */
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import { runCli } from '../fixtures/cli.ts';

describe('serve --drain-timeout and the connection timeouts', () => {
  it('refuses what is not a duration, and durations a timer cannot hold', async () => {
    const bad = await runCli('serve', '--device', 'none', '--model', 'x.onnx', '--drain-timeout', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--drain-timeout/);
    const huge = await runCli('serve', '--device', 'none', '--model', 'x.onnx', '--request-timeout', '1e10s');
    expect(huge.code).toBe(2);
    expect(huge.err).toMatch(/--request-timeout must be at most 2147483647 ms/);
  });

  it('refuses a headers timeout longer than the request timeout before opening a model or device', async () => {
    const r = await runCli('serve', '--device', 'none', '--model', 'no-such-file.onnx', '--headers-timeout', '20s', '--request-timeout', '5s');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the headers timeout \(20000 ms\) must not exceed the request timeout \(5000 ms\)/);
    expect(r.err).toMatch(/hint: give --headers-timeout at most --request-timeout/);
  });

  it('lists the flags with their defaults in the help', () => {
    const help = buildProgram()
      .commands.find((c) => c.name() === 'serve')!
      .helpInformation();
    for (const [flag, def] of [
      ['--drain-timeout <duration>', '10s'],
      ['--headers-timeout <duration>', '10s'],
      ['--request-timeout <duration>', '30s'],
      ['--keep-alive-timeout <duration>', '5s'],
      ['--idle-timeout <duration>', '120s'],
    ] as const) {
      expect(help).toContain(flag);
      // the flag's own entry (up to the next flag), its lines joined as the terminal wraps them
      const entry = help
        .slice(help.indexOf(flag))
        .split(/\n {2}-/)[0]!
        .replace(/\s+/g, ' ');
      expect(entry).toContain(`(default: ${def})`);
    }
  });
});

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addWorkloadFlags, workloadFromFlags } from '../../src/cli/support/workload-flags.ts';

describe('shared --workload flags', () => {
  it('registers on a commander command and round-trips through opts()', async () => {
    let got: ReturnType<typeof workloadFromFlags> | undefined;
    const program = new Command().exitOverride();
    addWorkloadFlags(program.command('tune')).action((o: Record<string, unknown>) => {
      got = workloadFromFlags(o);
    });
    await program.parseAsync(
      ['tune', '--workload', 'command', '--command', 'trtexec --batch={batch}', '--latency-pattern', 'Host latency: ([0-9.]+) ms', '--warmup', '0'],
      { from: 'user' },
    );
    expect(got).toEqual({
      workload: 'command',
      workloadOptions: { command: 'trtexec --batch={batch}', latencyPattern: 'Host latency: ([0-9.]+) ms' },
      trial: { warmupS: 0 },
    });
  });

  it('parses and validates the flags commander hands over', () => {
    const r = workloadFromFlags({
      workload: 'http',
      url: 'http://127.0.0.1:8000',
      concurrency: '4',
      requestTimeout: '500ms',
      header: ['Authorization: Bearer x'],
      binaryData: true,
      inputDims: 'input_ids=128,mask=1x128',
      window: '2.5s',
      repeats: '2',
      settle: '0',
    });
    expect(r).toEqual({
      workload: 'http',
      workloadOptions: {
        url: 'http://127.0.0.1:8000',
        concurrency: 4,
        timeoutMs: 500,
        headers: { Authorization: 'Bearer x' },
        binary: true,
        dims: { input_ids: [128], mask: [1, 128] },
      },
      trial: { windowS: 2.5, repeats: 2, settleS: 0 },
    });
    expect(() => workloadFromFlags({ workload: 'trt' })).toThrow(/unknown workload "trt"/);
    expect(() => workloadFromFlags({ concurrency: '0' })).toThrow(/--concurrency must be a positive integer/);
    expect(() => workloadFromFlags({ latencyUnit: 'min' })).toThrow(/--latency-unit must be us, ms or s/);
    expect(() => workloadFromFlags({ inputDims: 'input_ids' })).toThrow(/expected name=AxB/);
    // Durations carry their unit: a bare number is refused with both spellings in the message.
    expect(() => workloadFromFlags({ window: '2.5' })).toThrow('--window needs a unit: give 2.5s or 2500ms, got "2.5"');
    expect(() => workloadFromFlags({ requestTimeout: '500' })).toThrow('--request-timeout needs a unit: give 500ms or 0.5s, got "500"');
    expect(workloadFromFlags({ commandTimeout: '300s', powerPeriod: '50ms', idle: '0' }).trial).toEqual({ periodMs: 50, idleS: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import {
  collect,
  deviceSpec,
  durationMs,
  durationS,
  frequencyHz,
  integer,
  latencyMs,
  namedSize,
  nonNegativeInt,
  nonNegativeNumber,
  numberInRange,
  oneOf,
  positiveInt,
  positiveIntList,
  positiveDurationMs,
  positiveDurationS,
  positiveNumber,
  quantile,
  simBoard,
} from '../../src/cli/support/flag-parsers.ts';
import { runCli } from '../fixtures/cli.ts';

/** The BAD_INPUT error a parser throws on the text (fails the test when it throws none). */
function refusal(parse: (text: string) => unknown, text: string): { code: string; exitCode: number; message: string } {
  try {
    parse(text);
  } catch (e) {
    return e as { code: string; exitCode: number; message: string };
  }
  throw new Error(`accepted "${text}"`);
}

/** Refused as BAD_INPUT (exit code 2), with a message that names the flag and quotes the text. */
function expectRefused(parse: (text: string) => unknown, flag: string, text: string, what?: RegExp): void {
  const e = refusal(parse, text);
  expect(e.code).toBe('BAD_INPUT');
  expect(e.exitCode).toBe(2);
  expect(e.message).toContain(flag);
  expect(e.message).toContain(`"${text}"`);
  if (what) expect(e.message).toMatch(what);
}

describe('flag parsers', () => {
  it('integer: whole numbers, with an optional lower bound', () => {
    expect(integer('--seed')('-3')).toBe(-3);
    expect(integer('--seed', 0)('0')).toBe(0);
    expectRefused(integer('--seed'), '--seed', '1.5', /an integer/);
    expectRefused(integer('--seed'), '--seed', '', /an integer/);
    expectRefused(integer('--seed', 0), '--seed', '-1', /≥ 0/);
  });

  it('positiveInt and nonNegativeInt', () => {
    expect(positiveInt('--budget')('30')).toBe(30);
    expectRefused(positiveInt('--budget'), '--budget', '0', /a positive integer/);
    expectRefused(positiveInt('--budget'), '--budget', 'ten', /a positive integer/);
    expectRefused(positiveInt('--budget'), '--budget', '2.5');
    expect(nonNegativeInt('--warmup-batches')('0')).toBe(0);
    expectRefused(nonNegativeInt('--warmup-batches'), '--warmup-batches', '-1');
  });

  it('positiveNumber and nonNegativeNumber', () => {
    expect(positiveNumber('--rate')('2.5')).toBe(2.5);
    expectRefused(positiveNumber('--rate'), '--rate', '0', /a positive number/);
    expectRefused(positiveNumber('--rate'), '--rate', 'Infinity');
    expectRefused(positiveNumber('--rate'), '--rate', ' ');
    expect(nonNegativeNumber('--settle')('0')).toBe(0);
    expectRefused(nonNegativeNumber('--settle'), '--settle', '-0.1', /zero or more/);
  });

  it('numberInRange: half-open by default, closed on request', () => {
    const margin = numberInRange('--margin', 0, 0.5);
    expect(margin('0')).toBe(0);
    expect(margin('0.49')).toBe(0.49);
    expectRefused(margin, '--margin', '0.5', /in \[0, 0\.5\)/);
    expectRefused(margin, '--margin', 'NaN');
    const scale = numberInRange('--scale', 0.5, 4, { hiInclusive: true });
    expect(scale('4')).toBe(4);
    expectRefused(scale, '--scale', '4.01', /in \[0\.5, 4\]/);
  });

  it('durationMs reads units through core/units', () => {
    expect(durationMs('--at')('30s')).toBe(30_000);
    expect(durationMs('--at')('250ms')).toBe(250);
    expect(durationMs('--at')('500us')).toBeCloseTo(0.5);
    expect(durationMs('--at')('0')).toBe(0);
    // A bare number could be seconds or milliseconds: refused, with both spellings of the likely value.
    expectRefused(durationMs('--at'), '--at', '40', /needs a unit: give 40ms or 0\.04s/);
    expectRefused(durationMs('--at'), '--at', '2', /needs a unit: give 2s or 2000ms/);
    expectRefused(durationMs('--at'), '--at', 'soon', /a duration/);
    expect(durationS('--window')('250ms')).toBe(0.25);
    expect(positiveDurationS('--window')('5s')).toBe(5);
    expectRefused(positiveDurationS('--window'), '--window', '0s', /a positive duration/);
    expect(positiveDurationMs('--power-period')('0.05s')).toBe(50);
  });

  it('frequencyHz reads units through core/units', () => {
    expect(frequencyHz('--cpu-hz')('2201.6MHz')).toBe(2_201_600_000);
    expect(frequencyHz('--cpu-hz')('652800kHz')).toBe(652_800_000);
    expectRefused(frequencyHz('--cpu-hz'), '--cpu-hz', 'fast', /a frequency/);
  });

  it('latencyMs and quantile use core/slo and put the flag in front of its message', () => {
    expect(latencyMs('--slo')('0.05s')).toBe(50);
    expect(refusal(latencyMs('--slo'), '0.05').message).toBe('--slo needs a unit: give 0.05s or 50ms, got "0.05"');
    expectRefused(latencyMs('--slo'), '--slo', '50', /give 50ms or 0\.05s/);
    expectRefused(latencyMs('--slo'), '--slo', 'soon', /cannot read latency/);
    expect(refusal(latencyMs('--slo'), 'soon').message).toBe('--slo: cannot read latency "soon"');
    expectRefused(latencyMs('--slo'), '--slo', '7200s', /at most 1 hour/);
    expect(quantile('--quantile')('p95')).toBe(0.95);
    expect(quantile('--quantile')('99%')).toBe(0.99);
    expectRefused(quantile('--quantile'), '--quantile', '1.5', /between 0 and 1/);
  });

  it('deviceSpec and simBoard use device/device-spec', () => {
    expect(deviceSpec('--device')('sim:tx2')).toEqual({ kind: 'sim', board: 'tx2' });
    expect(deviceSpec('--device')('auto')).toEqual({ kind: 'auto' });
    expectRefused(deviceSpec('--device'), '--device', 'tpu', /unknown device/);
    expect(simBoard('--board')('orin-nano')).toBe('orin-nano');
    expect(simBoard('--board')('sim:orin-nano')).toBe('orin-nano');
    expect(refusal(simBoard('--board'), 'nano').message).toMatch(/--board: unknown simulated board 'nano'/);
  });

  it('oneOf, positiveIntList, namedSize, collect', () => {
    expect(oneOf('--dtype', ['fp32', 'fp16'])('fp16')).toBe('fp16');
    expectRefused(oneOf('--dtype', ['fp32', 'fp16']), '--dtype', 'int8', /one of fp32, fp16/);
    expect(positiveIntList('--batch-sizes')('16,1,4,4')).toEqual([1, 4, 16]);
    expectRefused(positiveIntList('--batch-sizes'), '--batch-sizes', '1,,2', /positive integers/);
    expectRefused(positiveIntList('--batch-sizes'), '--batch-sizes', '1,0');
    expect(namedSize('--dim')('seq=8', namedSize('--dim')('batch=2'))).toEqual({ batch: 2, seq: 8 });
    expectRefused((t) => namedSize('--dim')(t), '--dim', 'seq', /name=size/);
    expect(namedSize('--dim')('p2o.DynamicDimension.1=320,seq=8')).toEqual({ 'p2o.DynamicDimension.1': 320, seq: 8 });
    expectRefused((t) => namedSize('--dim')(t), '--dim', 'seq=0', /name=size/);
    expect(collect('b', collect('a'))).toEqual(['a', 'b']);
  });
});

describe('a refused flag value on the command line', () => {
  it('is one error line naming the flag and the text, with exit code 2', async () => {
    const r = await runCli('tune', '--budget', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: --budget must be a positive integer, got "0"/);
    const d = await runCli('landscape', '--device', 'sim:nano', '--model', 'resnet-50');
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/--device: unknown simulated board 'sim:nano'/);
    expect(d.err).toMatch(/hint: known boards: sim:orin-agx, sim:tx2, sim:xavier-nx, sim:orin-nano/);
    const f = await runCli('finetune', 'replay', '--slo-change', '30s:soon');
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/--slo-change latency: cannot read latency "soon"/);
  });
});

describe('every bad flag on every command', () => {
  /** One `error:` line on stderr (nothing else: no help dump, no stack), nothing on stdout, exit code 2. */
  async function expectOneLine(args: string[], what: RegExp): Promise<void> {
    const r = await runCli(...args);
    expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(what);
  }

  it('tune: budget, rate, batch sizes, SLO without a unit, unknown options and missing values', async () => {
    await expectOneLine(['tune', '--budget', '0'], /--budget must be a positive integer, got "0"/);
    await expectOneLine(['tune', '--budget', '-3'], /--budget must be a positive integer, got "-3"/);
    await expectOneLine(['tune', '--budget', '2.5'], /--budget must be a positive integer, got "2.5"/);
    await expectOneLine(['tune', '--rate', '-1'], /--rate must be a positive number, got "-1"/);
    await expectOneLine(['tune', '--batch-sizes', '0,3'], /--batch-sizes must be positive integers/);
    await expectOneLine(['tune', '--slo', '0.05'], /--slo needs a unit: give 0\.05s or 50ms, got "0\.05"/);
    await expectOneLine(['tune', '--window', '5'], /--window needs a unit: give 5s or 5000ms/);
    await expectOneLine(['tune', '--dim', 'seq'], /--dim must be name=size/);
    await expectOneLine(['tune', '--sol', '50ms'], /unknown option '--sol' \(Did you mean --slo\?\)/);
    await expectOneLine(['tune', '--slo'], /option '--slo <latency>' argument missing/);
  });

  it('the other commands', async () => {
    await expectOneLine(['recommend', '--profile', 'x', '--slo', '80'], /--slo needs a unit: give 80ms or 0\.08s/);
    await expectOneLine(['recommend', '--slo', '80ms'], /required option '--profile <id\|file>' not specified/);
    await expectOneLine(['landscape', '--model', 'resnet-50', '--quantile', '2'], /--quantile: quantile must be between 0 and 1/);
    await expectOneLine(['landscape', '--model', 'resnet-50', '--quantile', 'p10'], /--quantile must be at least p50/);
    await expectOneLine(['landscape', '--model', 'resnet-50', '--cpu-hz', 'fast'], /--cpu-hz must be a frequency/);
    await expectOneLine(['workload', '--model', 'resnet-50', '--duration', '10'], /--duration needs a unit: give 10ms or 0\.01s/);
    await expectOneLine(['models', 'inspect', 'resnet-50', '--dim', 'x=0'], /--dim must be name=size/);
    await expectOneLine(['models', 'inspect'], /missing required argument 'model'/);
    await expectOneLine(['finetune', 'replay', '--duration', '60'], /--duration needs a unit/);
    await expectOneLine(['finetune', 'replay', '--slo-change', '30:700ms'], /--slo-change time needs a unit/);
    await expectOneLine(['devices', '--bogus'], /unknown option '--bogus'/);
    await expectOneLine(['no-such-command'], /unknown command 'no-such-command'/);
  });
});

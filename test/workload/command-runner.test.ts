import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandRunner, fillTemplate } from '../../src/workload/command-runner.ts';

/** A stand-in for trtexec: prints one "Average on 1 runs" line per inference, like trtexec --avgRuns=1. */
const FAKE_TRTEXEC = `#!/bin/sh
engine=""; batch=1; iters=5
for a in "$@"; do
  case "$a" in
    --loadEngine=*) engine="\${a#--loadEngine=}" ;;
    --batch=*) batch="\${a#--batch=}" ;;
    --iterations=*) iters="\${a#--iterations=}" ;;
  esac
done
if [ ! -f "$engine" ]; then echo "[E] Error opening engine file: $engine" >&2; echo "&&&& FAILED TensorRT.trtexec" ; exit 1; fi
echo "[I] Loading engine $engine"
i=0
while [ $i -lt $iters ]; do
  sleep 0.01
  echo "[11/26/2026-12:00:00] [I] Average on 1 runs - GPU latency: 1.$batch ms - Host latency: 2.$batch ms (enqueue 0.4 ms)"
  i=$((i+1))
done
echo "&&&& PASSED TensorRT.trtexec"
`;

describe('command runner', () => {
  let dir: string;
  let trtexec: string;
  let engine: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pt-cmd-'));
    trtexec = join(dir, 'trtexec');
    writeFileSync(trtexec, FAKE_TRTEXEC);
    chmodSync(trtexec, 0o755);
    engine = join(dir, 'my engine.plan');
    writeFileSync(engine, 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills the template (quoting values) and reads one latency sample per matching line', async () => {
    const r = new CommandRunner({
      command: `${trtexec} --loadEngine={model} --batch={batch} --iterations={batches}`,
      vars: { model: engine },
      latencyPattern: 'Host latency: ([0-9.]+) ms',
    });
    let started = 0;
    const res = await r.run({ batch: 4, length: { batches: 6 }, onStart: () => started++ });
    expect(res.errors).toBe(0);
    expect(res.batchLatenciesMs).toEqual(Array(6).fill(2.4));
    expect(started).toBe(1);
    // The first line's batch ran before the measured part began.
    expect(res.served).toBe(5 * 4);
    expect(res.wallS).toBeGreaterThan(0);
  });

  it('reads the README’s trtexec pattern from TensorRT 8 ("on") and later ("over") lines', async () => {
    const lines = [
      '[11/26/2023-13:46:01] [I] Average on 1 runs - GPU latency: 2.62305 ms - Host latency: 2.68164 ms (end to end 2.69336 ms, enqueue 2.63281 ms)',
      '[04/11/2025-15:15:52] [I] Average over 1 runs - GPU latency: 30.211 ms - Host latency: 30.8067 ms (enqueue 0.00390778 ms)',
      '[I] Host Latency',
    ];
    const script = join(dir, 'trt-lines.sh');
    writeFileSync(script, `#!/bin/sh\n${lines.map((l) => `echo '${l}'`).join('\n')}\n`);
    chmodSync(script, 0o755);
    const r = new CommandRunner({
      command: script,
      latencyPattern: 'Average o(n|ver) 1 runs - GPU latency: [0-9.]+ ms - Host latency: (?<latency>[0-9.]+) ms',
    });
    const res = await r.run({ batch: 1, length: { batches: 2 } });
    expect(res.batchLatenciesMs).toEqual([2.68164, 30.8067]);
  });

  it('uses a named group and a unit', async () => {
    const r = new CommandRunner({
      command: `${trtexec} --loadEngine={model} --batch={batch} --iterations=3`,
      vars: { model: engine },
      latencyPattern: 'GPU latency: (?<latency>[0-9.]+) ms',
      latencyUnit: 'us',
    });
    const res = await r.run({ batch: 2, length: { durationS: 1 } });
    expect(res.batchLatenciesMs).toEqual([0.0012, 0.0012, 0.0012]);
  });

  it('fails the run on a non-zero exit with the program’s last lines', async () => {
    const r = new CommandRunner({
      command: `${trtexec} --loadEngine={model} --batch={batch}`,
      vars: { model: join(dir, 'missing.plan') },
      latencyPattern: 'Host latency: ([0-9.]+) ms',
    });
    const res = await r.run({ batch: 1, length: { batches: 3 } });
    expect(res.errors).toBe(1);
    expect(res.served).toBe(0);
    expect(res.batchLatenciesMs).toEqual([]);
    // stdout and stderr lines both, in whichever order the two pipes delivered them.
    expect(res.errorReasons[0]).toMatch(/^the command exited with code 1; last lines:\n/);
    expect(res.errorReasons[0]).toMatch(/\n\[E\] Error opening engine file: .*missing\.plan(\n|$)/);
    expect(res.errorReasons[0]).toMatch(/\n&&&& FAILED TensorRT\.trtexec(\n|$)/);
  });

  it('fails when nothing matches the pattern', async () => {
    const r = new CommandRunner({ command: 'echo "throughput 12 qps"', latencyPattern: 'latency=([0-9.]+)' });
    const res = await r.run({ batch: 1, length: { batches: 1 } });
    expect(res.errors).toBe(1);
    expect(res.errorReasons[0]).toMatch(/printed no line matching .*throughput 12 qps/s);
  });

  it('takes wall time per run without a pattern and repeats the program for the count', async () => {
    const r = new CommandRunner({ command: 'sleep 0.05; echo batch {batch}' });
    const res = await r.run({ batch: 3, length: { batches: 3 } });
    expect(res.errors).toBe(0);
    expect(res.batchLatenciesMs).toHaveLength(3);
    for (const l of res.batchLatenciesMs) expect(l).toBeGreaterThanOrEqual(45);
    expect(res.served).toBe(9);
  });

  it('fills {duration} and {durationMs} for a count of batches (the warm-up) as a timed run does', async () => {
    const log = join(dir, 'durations.log');
    // trtexec-like: refuses to start without a number of seconds, like --duration= with nothing after it
    const r = new CommandRunner({
      command: `[ -n {duration} ] && [ {duration} -ge 1 ] && [ {durationMs} -ge 1 ] && echo "d={duration} ms={durationMs}" >> ${log} && echo "latency 400"`,
      latencyPattern: 'latency ([0-9.]+)',
    });
    const warm = await r.run({ batch: 4, length: { batches: 1 } });
    expect(warm.errorReasons).toEqual([]);
    const timed = await r.run({ batch: 4, length: { durationS: 2.5 } });
    expect(timed.errorReasons).toEqual([]);
    // a count after a measured run: the time it is expected to take at the measured batch latency (5 × 400 ms)
    const count = await r.run({ batch: 4, length: { batches: 5 } });
    expect(count.errorReasons).toEqual([]);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['d=1 ms=1000', 'd=3 ms=2500', 'd=2 ms=2000']);
  });

  it('kills a program that runs past its timeout, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    // The timeout must leave /bin/sh time to start and fork the child even on a loaded host (at 0.3 s
    // a slow start was killed before it wrote the pid file); the program itself would run 30 s.
    const r = new CommandRunner({ command: `sleep 30 & echo $! > ${pidFile}; sleep 30; echo latency 1`, latencyPattern: 'latency ([0-9]+)', timeoutS: 1 });
    const t0 = Date.now();
    const res = await r.run({ batch: 1, length: { batches: 1 } });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(res.errors).toBe(1);
    expect(res.errorReasons[0]).toMatch(/killed after the 1 s timeout/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1); // a half-written pid file would make the check below vacuous
    // The background child is gone too (or a zombie waiting for its reaper).
    const alive = () => existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });

  it('rejects bad templates and patterns at once', () => {
    expect(() => new CommandRunner({ command: 'trtexec --engine={engine}' })).toThrow(/uses \{engine\}, which has no value/);
    expect(() => new CommandRunner({ command: 'x', latencyPattern: 'latency ([0-9' })).toThrow(/not a valid regular expression/);
    expect(() => new CommandRunner({ command: 'x', latencyPattern: 'latency [0-9]+' })).toThrow(/no capture group/);
    expect(fillTemplate('a {x} {y}', { x: "it's", y: 'plain-1.0' })).toBe(`a 'it'"'"'s' plain-1.0`);
    const shellVar = '$' + '{HOME}'; // a shell expansion, not a placeholder
    expect(fillTemplate(`${shellVar}/bin/x --b={y}`, { y: 2 })).toBe(`${shellVar}/bin/x --b=2`);
  });
});

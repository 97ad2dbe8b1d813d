import { describe, expect, it } from 'vitest';
import { type Config, configKey } from '../../src/core/config.ts';
import { paretoFront } from '../../src/core/pareto.ts';
import type { Slo } from '../../src/core/slo.ts';
import { latencyQuantile, simulateCoRun } from '../../src/finetune/simulation/corun-sim.ts';
import { MemoryJobStore } from '../../src/finetune/scheduling/job-store.ts';
import { InterferencePredictor } from '../../src/finetune/prediction/predictor.ts';
import { poissonArrivals } from '../../src/numerics/random.ts';
import { FinetuneScheduler, type SchedulerEvent } from '../../src/finetune/scheduling/scheduler.ts';
import { createSimEnvironment } from '../../src/finetune/simulation/sim-environment.ts';
import { grid, PROFILING, profileOf, rooflineCosts } from './fixtures.ts';

const costs = rooflineCosts();
const RATE = 40;
const slo = (ms: number): Slo => ({ latencyMs: ms, quantile: 0.99 });

function setup(opts: { sloMs: number; allowSwitch?: boolean; shrink?: boolean; model?: string }) {
  const model = opts.model ?? 'medium';
  const predictor = new InterferencePredictor({ featureSet: 'roofline' });
  // The Pareto set as a tuner would store it: energy vs tail at the serving load.
  const probe = createSimEnvironment({
    costs,
    profileOf,
    model,
    candidates: grid(),
    predictor,
    profiling: PROFILING,
    noise: 0.02,
    seed: 5,
    baselineRequests: 600,
  });
  const measured = grid()
    .map((c) => {
      const b = probe.baseline(c, slo(opts.sloMs), RATE);
      return { config: c, energyPerQueryJ: b.energyPerQueryJ, latencyTailMs: b.tailMs };
    })
    .filter((p) => Number.isFinite(p.energyPerQueryJ) && Number.isFinite(p.latencyTailMs));
  const front = paretoFront(
    measured,
    (p) => p.energyPerQueryJ,
    (p) => p.latencyTailMs,
  ).map((p) => p.config);
  const env = createSimEnvironment({
    costs,
    profileOf,
    model,
    candidates: front,
    predictor,
    profiling: PROFILING,
    noise: 0.02,
    seed: 5,
    baselineRequests: 600,
  });
  const events: SchedulerEvent[] = [];
  let now = 0;
  const sched = new FinetuneScheduler({
    store: new MemoryJobStore(),
    predictor,
    environment: env,
    slo: slo(opts.sloMs),
    rateRps: RATE,
    clock: () => now,
    allowSwitch: opts.allowSwitch ?? true,
    // Without the switch, the paper's mode: admit or wait (no smaller or chunked steps either).
    shrinkMicroBatch: opts.shrink ?? opts.allowSwitch ?? true,
    onEvent: (e) => events.push(e),
  });
  return { sched, env, events, front, setNow: (t: number) => (now = t) };
}

describe('FinetuneScheduler admission', () => {
  it('keeps a job queued under a tight SLO and starts it when the SLO is relaxed', () => {
    const { sched, events } = setup({ sloMs: 60, allowSwitch: false });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'large', microBatch: 8, steps: 10 });
    expect(sched.get(job.id)!.state).toBe('queued');
    expect(sched.get(job.id)!.reason).toMatch(/exceeds the SLO 60 ms/);
    expect(sched.gap(Number.POSITIVE_INFINITY)).toBeNull();
    sched.setSlo(slo(900));
    expect(sched.get(job.id)!.state).toBe('running');
    expect(events.some((e) => e.type === 'job-started')).toBe(true);
    expect(sched.gap(Number.POSITIVE_INFINITY)?.jobId).toBe(job.id);
  });

  it('runs jobs FIFO, one at a time, each after the previous one completes', () => {
    const { sched } = setup({ sloMs: 900 });
    const a = sched.submit({ kind: 'sim', name: 'a', model: 'small', microBatch: 2, steps: 2 });
    const b = sched.submit({ kind: 'sim', name: 'b', model: 'small', microBatch: 2, steps: 1 });
    expect(sched.get(a.id)!.state).toBe('running');
    expect(sched.get(b.id)!.state).toBe('queued');
    for (let i = 0; i < 2; i++) {
      const g = sched.gap(Number.POSITIVE_INFINITY)!;
      expect(g.jobId).toBe(a.id);
      expect(sched.gap(Number.POSITIVE_INFINITY)).toBeNull(); // one step in flight at a time
      sched.stepDone(a.id, 10);
    }
    expect(sched.get(a.id)!.state).toBe('done');
    expect(sched.get(b.id)!.state).toBe('running');
    expect(sched.list().map((j) => j.name)).toEqual(['a', 'b']);
  });

  it('switches to a faster Pareto configuration when the job does not fit, and back after, reporting the energy', () => {
    // At this SLO the cheapest configuration leaves too little slack for the step; a faster one fits.
    // (Steps at their requested size: here a shrunk step would fit without a switch.)
    const { sched, events, front } = setup({ sloMs: 100, shrink: false });
    const base = sched.config;
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'medium', microBatch: 4, steps: 3 });
    const started = events.find((e) => e.type === 'job-started');
    expect(started && started.type === 'job-started' && started.admission.switched).toBe(true);
    expect(configKey(sched.config)).not.toBe(configKey(base));
    expect(front.map(configKey)).toContain(configKey(sched.config));
    // Steps and batches take what was predicted (a step measured much longer re-takes the decision).
    const serviceMs = costs.inferenceBatch(sched.config, 'medium').serviceMs;
    for (let i = 0; i < 3; i++) {
      const g = sched.gap(Number.POSITIVE_INFINITY)!;
      expect(g.part.count).toBe(1);
      sched.stepDone(job.id, g.expectedMs);
      if (i < 2) sched.batchDone(serviceMs, 4);
    }
    const done = sched.get(job.id)!;
    expect(done.state).toBe('done');
    expect(done.switchEnergyJ).toBeGreaterThan(0);
    expect(done.reason).toBeUndefined(); // the "running at a switched configuration" note is gone
    expect(configKey(sched.config)).toBe(configKey(base));
    const switches = events.filter((e) => e.type === 'config-switch');
    expect(switches.length).toBe(2);
  });

  it('re-takes the decision when the steps run longer than predicted, and says so', () => {
    const { sched, events } = setup({ sloMs: 300 });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'medium', microBatch: 4, steps: 100 });
    expect(sched.get(job.id)!.state).toBe('running');
    const serviceMs = costs.inferenceBatch(sched.config, 'medium').serviceMs;
    for (let i = 0; i < 20 && sched.get(job.id)!.state === 'running'; i++) {
      const g = sched.gap(Number.POSITIVE_INFINITY);
      if (!g) break;
      sched.stepDone(job.id, 3 * g.expectedMs + 20);
      sched.batchDone(serviceMs, 4);
    }
    const redecided = events.filter((e) => /run longer than predicted/.test(JSON.stringify(e)));
    expect(redecided.length).toBeGreaterThan(0);
    expect(redecided.some((e) => e.type === 'job-suspended' || e.type === 'config-switch')).toBe(true);
  });

  it('waits instead of switching when switching is disabled', () => {
    const { sched } = setup({ sloMs: 100, allowSwitch: false });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'medium', microBatch: 4, steps: 3 });
    const j = sched.get(job.id)!;
    expect(j.state === 'queued' || j.runMicroBatch! < 4).toBe(true);
  });

  it('shrinks the micro-batch when no configuration fits the requested one', () => {
    const { sched } = setup({ sloMs: 300 });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'large', microBatch: 64, steps: 3 });
    const j = sched.get(job.id)!;
    expect(j.state).toBe('running');
    expect(j.runMicroBatch).toBeLessThan(64);
    expect(sched.gap(Number.POSITIVE_INFINITY)!.microBatch).toBe(j.runMicroBatch);
  });

  it('suspends a running job when the SLO tightens and resumes it when it relaxes', () => {
    const { sched, events } = setup({ sloMs: 900, allowSwitch: false });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'large', microBatch: 8, steps: 50 });
    expect(sched.get(job.id)!.state).toBe('running');
    sched.gap(Number.POSITIVE_INFINITY);
    sched.stepDone(job.id, 40);
    sched.setSlo(slo(60));
    expect(sched.get(job.id)!.state).toBe('queued');
    expect(events.some((e) => e.type === 'job-suspended')).toBe(true);
    sched.setSlo(slo(900));
    const j = sched.get(job.id)!;
    expect(j.state).toBe('running');
    expect(j.stepsDone).toBe(1);
  });

  it('counts a step that was in flight when its job was suspended', () => {
    const { sched } = setup({ sloMs: 900, allowSwitch: false });
    const job = sched.submit({ kind: 'sim', name: 'ft', model: 'large', microBatch: 8, steps: 50 });
    expect(sched.gap(Number.POSITIVE_INFINITY)?.jobId).toBe(job.id);
    sched.setSlo(slo(60)); // suspended mid-step
    expect(sched.get(job.id)!.state).toBe('queued');
    expect(sched.stepDone(job.id, 30).stepsDone).toBe(1);
    expect(() => sched.stepDone(job.id, 30)).toThrow(/no step in flight/);
  });

  it('marks a job whose process died as failed with its exit status and starts the next one', () => {
    const { sched } = setup({ sloMs: 900 });
    const a = sched.submit({ kind: 'gate', name: 'a', model: 'small', microBatch: 2 });
    const b = sched.submit({ kind: 'sim', name: 'b', model: 'small', microBatch: 2, steps: 1 });
    sched.complete(a.id, 137);
    const ja = sched.get(a.id)!;
    expect(ja.state).toBe('failed');
    expect(ja.exitStatus).toBe(137);
    expect(ja.reason).toMatch(/status 137/);
    expect(sched.get(b.id)!.state).toBe('running');
    sched.complete(b.id, 'SIGKILL');
    expect(sched.get(b.id)!.reason).toMatch(/signal SIGKILL/);
  });

  it('rejects invalid jobs with a clear message', () => {
    const { sched } = setup({ sloMs: 900 });
    expect(() => sched.submit({ kind: 'sim', name: 'x', model: 'small', microBatch: 2 })).toThrow(/needs a number of steps/);
    expect(() => sched.submit({ kind: 'sim', name: 'x', model: 'small', microBatch: 0, steps: 1 })).toThrow(/micro-batch/);
    expect(() => sched.submit({ kind: 'sim', name: 'x', model: 'nope', microBatch: 1, steps: 1 })).toThrow(/unknown model/);
    expect(() => sched.submit({ kind: 'command', name: 'x', model: 'small', microBatch: 1 })).toThrow(/names a command/);
  });

  it('grants gate steps only to a waiting training loop, in a gap', async () => {
    const { sched } = setup({ sloMs: 900 });
    const job = sched.submit({ kind: 'gate', name: 'loop', model: 'small', microBatch: 2 });
    expect(sched.gap(Number.POSITIVE_INFINITY)).toBeNull(); // the loop has not asked
    const p = sched.requestStep(job.id);
    const g = sched.gap(Number.POSITIVE_INFINITY);
    expect(g?.jobId).toBe(job.id);
    await expect(p).resolves.toMatchObject({ jobId: job.id, microBatch: 2 });
    await expect(sched.requestStep(job.id)).rejects.toThrow(/already has a step in flight/);
    sched.stepDone(job.id, 12);
    const pending = sched.requestStep(job.id);
    sched.cancel(job.id);
    await expect(pending).rejects.toThrow(/cancelled/);
  });
});

describe('co-run replay on the synthetic device', () => {
  it('runs no step under the tight SLO, steps after the relaxation, and keeps the SLO', () => {
    const { sched } = setup({ sloMs: 60, allowSwitch: false });
    const arrivals = poissonArrivals(RATE, 20_000, 9);
    const r = simulateCoRun({
      model: 'medium',
      arrivalsMs: arrivals,
      costs,
      noise: 0.02,
      seed: 9,
      slo: slo(60),
      scheduler: sched,
      sloChanges: [{ atMs: 10_000, slo: slo(900) }],
      submissions: [
        { atMs: 1000, spec: { kind: 'sim', name: 'j1', model: 'large', microBatch: 8, steps: 20 } },
        { atMs: 1000, spec: { kind: 'sim', name: 'j2', model: 'small', microBatch: 8, steps: 20 } },
      ],
    });
    expect(r.steps.length).toBeGreaterThan(0);
    expect(Math.min(...r.steps.map((s) => s.startMs))).toBeGreaterThanOrEqual(10_000);
    // Sequential: j2's first step after j1's last.
    const j1 = r.steps.filter((s) => sched.get(s.jobId)!.name === 'j1');
    const j2 = r.steps.filter((s) => sched.get(s.jobId)!.name === 'j2');
    expect(j1.length).toBe(20);
    expect(Math.min(...j2.map((s) => s.startMs))).toBeGreaterThanOrEqual(Math.max(...j1.map((s) => s.endMs)));
    const ok = r.requests.filter((q) => q.latencyMs <= q.sloMs).length / r.requests.length;
    expect(ok).toBeGreaterThanOrEqual(0.99);
    expect(
      latencyQuantile(
        r.requests.filter((q) => q.arrivalMs > 10_000),
        0.99,
      ),
    ).toBeLessThanOrEqual(900);
  });

  it('a fixed configuration without a scheduler serves every request', () => {
    const c: Config = grid()[10]!;
    const arrivals = poissonArrivals(RATE, 5000, 2);
    const r = simulateCoRun({ model: 'small', arrivalsMs: arrivals, costs, noise: 0, seed: 1, config: c, slo: slo(200) });
    expect(r.requests.length).toBe(arrivals.length);
    expect(r.steps.length).toBe(0);
    expect(r.inferenceEnergyJ).toBeGreaterThan(0);
  });
});

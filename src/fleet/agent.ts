/**
 * A fleet agent: on one board, lease a trial, apply and measure it, write it back; repeat. The
 * lease is renewed while the trial runs (every third of its length), so only a dead agent's lease
 * expires; its trial then goes to another board, and a late completion by the first holder is
 * refused by the store, so a trial is counted once.
 */
import type { TrialMeasurement, TrialRunner } from '../core/measurement.ts';
import type { AgentIdentity, Lease, Store, TrialTask } from '../store/store.ts';

export interface MeasuredLease {
  readonly lease: Lease;
  readonly measurement: TrialMeasurement;
  /** Met the SLO in its own window. */
  readonly feasible: boolean;
}

/** Measure a leased trial on the board's runner. */
export async function measureLease(lease: Lease, runner: TrialRunner): Promise<MeasuredLease> {
  const measurement = await runner.measure(lease.task.config, lease.task.trial);
  return { lease, measurement, feasible: measurement.valid && measurement.latencyTailMs <= lease.task.sloMs };
}

export type AgentEvent =
  | { readonly kind: 'leased'; readonly lease: Lease }
  | { readonly kind: 'completed'; readonly lease: Lease; readonly measurement: TrialMeasurement }
  /** The lease was lost (expired and taken over, or the run ended): the result was not written. */
  | { readonly kind: 'lost'; readonly lease: Lease }
  | { readonly kind: 'idle' };

export interface AgentOptions {
  readonly store: Store;
  readonly identity: AgentIdentity;
  /** Lease length, ms. */
  readonly leaseMs: number;
  /** Only this run (default: any running fleet run of the board's type). */
  readonly runId?: string;
  /** The board's runner for a task's model (cache it: called for every trial). */
  readonly runnerFor: (task: TrialTask) => Promise<TrialRunner>;
  /** Extra wall time a trial takes after its measurement returns, ms (a simulated board's duration). */
  readonly trialDelayMs?: (m: TrialMeasurement) => number;
  /** Stop after this many completed trials. */
  readonly maxTrials?: number;
  /** Stop after this long without a trial to lease, ms (default: never). */
  readonly idleExitMs?: number;
  /** Wait between lease attempts when there is nothing to lease, ms (default 1000). */
  readonly pollMs?: number;
  readonly onEvent?: (e: AgentEvent) => void;
  readonly signal?: AbortSignal;
}

export interface AgentSummary {
  readonly completed: number;
  readonly lost: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Lease and measure trials until stopped (signal), idle too long or `maxTrials` are done. */
export async function runAgent(o: AgentOptions): Promise<AgentSummary> {
  let completed = 0;
  let lost = 0;
  let idleSince = Date.now();
  const poll = o.pollMs ?? 1000;
  while (!o.signal?.aborted && (o.maxTrials === undefined || completed < o.maxTrials)) {
    const lease = await o.store.leaseTrial(o.identity, { leaseMs: o.leaseMs, ...(o.runId === undefined ? {} : { runId: o.runId }) });
    if (!lease) {
      if (o.idleExitMs !== undefined && Date.now() - idleSince >= o.idleExitMs) break;
      o.onEvent?.({ kind: 'idle' });
      await sleep(poll, o.signal);
      continue;
    }
    o.onEvent?.({ kind: 'leased', lease });
    // a failed renewal is not acted on: the completion below is the one check that counts
    const renew = setInterval(
      () => {
        void o.store.renewLease(lease, o.leaseMs).catch(() => {});
      },
      Math.max(50, o.leaseMs / 3),
    );
    try {
      const m = await measureLease(lease, await o.runnerFor(lease.task));
      const delay = o.trialDelayMs?.(m.measurement) ?? 0;
      if (delay > 0) await sleep(delay);
      const ok = await o.store.completeTrial(lease, o.identity, m.measurement, m.feasible);
      if (ok) {
        completed++;
        o.onEvent?.({ kind: 'completed', lease, measurement: m.measurement });
      } else {
        lost++;
        o.onEvent?.({ kind: 'lost', lease });
      }
    } finally {
      clearInterval(renew);
    }
    idleSince = Date.now();
  }
  return { completed, lost };
}

/**
 * The store interface every backend implements (SQLite, the embedded default, and PostgreSQL, for a
 * fleet): runs and their trials, finished profiles, the queue of trials that agents lease, and the
 * profile registry. Every method is asynchronous so a networked backend fits behind it.
 */
import type { Config } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import type { TrialMeasurement, TrialOptions } from '../core/measurement.ts';
import type { ModelSpec } from '../core/model-spec.ts';
import type { TrialRecord, TrialSource, TuningRun } from '../core/tuning-run.ts';

export interface NewRun {
  readonly id: string;
  readonly device: DeviceDescription;
  readonly model: string;
  readonly sloMs: number;
  readonly quantile: number;
  readonly rateRps?: number;
  readonly optimizer: string;
  readonly seed: number;
  readonly budget: number;
  /** Everything that must match for a resume (JSON of the run's settings). */
  readonly settingsKey: string;
  readonly createdAt: string;
  /** A run whose trials agents lease (parallel tuning): what every board measures first. */
  readonly fleet?: FleetRunSettings;
}

export interface StoredRunInfo {
  readonly id: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly createdAt: string;
  readonly model: string;
  readonly deviceId: string;
  readonly trials: number;
}

export interface ProfileSummary {
  readonly id: string;
  readonly runId: string;
  readonly deviceId: string;
  readonly model: string;
  readonly sloMs: number;
  readonly quantile: number;
  readonly createdAt: string;
}

/** What an agent needs to measure one trial: the configuration, the model and the trial's options. */
export interface TrialTask {
  readonly config: Config;
  readonly model: ModelSpec;
  readonly trial: TrialOptions;
  /** The latency SLO, ms (a measurement above it is not feasible). */
  readonly sloMs: number;
}

export interface FleetRunSettings {
  /** Trials in flight at once. */
  readonly parallel: number;
  /** The configuration every board measures once before searching (its offsets); absent: no reference round. */
  readonly reference?: TrialTask;
  /**
   * Search trials a board measures before its reference trial takes precedence (default 0: the
   * reference first). Later references let the first rounds explore at once, their trials taken as
   * the mean board's until the board's offsets are known.
   */
  readonly referenceAfter?: number;
}

export interface PostedTrial {
  readonly source: TrialSource;
  readonly task: TrialTask;
  readonly acquisition?: number;
  readonly suggestMs?: number;
}

/** Who leases: one agent process on one board. */
export interface AgentIdentity {
  readonly agentId: string;
  readonly boardId: string;
  /** The board's type (e.g. orin-agx); an agent leases only runs tuned for its type. */
  readonly boardType: string;
}

export interface Lease {
  readonly queueId: number;
  readonly runId: string;
  /** Fresh for every lease: a completion with an older token is refused. */
  readonly token: string;
  readonly source: TrialSource;
  readonly task: TrialTask;
  /** Leases taken on this trial, this one included (> 1: an earlier holder's lease expired). */
  readonly attempts: number;
  readonly expiresMs: number;
}

/** A measured trial of a fleet run: the trial record plus the queue entry and board it came from. */
export interface FleetTrialRecord extends TrialRecord {
  readonly queueId: number;
  readonly boardId: string;
}

export interface QueueState {
  readonly queued: number;
  /** Leased and not expired. */
  readonly leased: number;
  /** Leased, expired, waiting for another agent to take it over. */
  readonly expired: number;
  readonly done: number;
}

/** The key of a profile in the registry: one tuning per board type, L4T, model, precision, runtime and SLO. */
export interface ProfileKeyFields {
  readonly boardType: string;
  readonly l4t: string;
  /** Content hash of the model (12 hex digits). */
  readonly modelHash: string;
  readonly precision: string;
  readonly runtime: string;
  readonly sloMs: number;
  readonly quantile: number;
}

export interface RegistryProfile extends ProfileKeyFields {
  /** Text form of the key fields (see fleet/profile-key.ts). */
  readonly key: string;
  readonly model: string;
  readonly runId: string;
  /** Boards whose measurements the profile comes from. */
  readonly boards: readonly string[];
  readonly run: TuningRun;
  readonly pushedAt: string;
  /** 1 for the first push of a key, +1 for each later push that replaced it. */
  readonly version: number;
}

export type RegistrySummary = Omit<RegistryProfile, 'run'>;

/** Times are milliseconds since the epoch; `now` given = that clock (virtual time), absent = the store's own clock. */
export interface Store {
  /** What the user named it by (a file path, or the URL without its password). */
  readonly path: string;
  readonly backend: 'sqlite' | 'postgres';
  close(): Promise<void>;

  createRun(r: NewRun): Promise<void>;
  findResumable(settingsKey: string, runId?: string): Promise<StoredRunInfo | null>;
  reopenRun(id: string): Promise<void>;
  saveTrial(runId: string, t: TrialRecord): Promise<void>;
  loadTrials(runId: string): Promise<TrialRecord[]>;
  markFailed(runId: string): Promise<void>;
  /** Store the finished run and its profile; returns the profile id. */
  finishRun(run: TuningRun): Promise<string>;
  getRun(idOrPrefix: string): Promise<TuningRun | null>;
  listProfiles(): Promise<ProfileSummary[]>;

  /** Queue trials of a fleet run for agents; returns their queue ids. */
  postTrials(runId: string, trials: readonly PostedTrial[], now?: number): Promise<number[]>;
  /**
   * Lease one trial: this board's reference trial of a run it has not measured yet (once the board
   * has measured `referenceAfter` trials of the run; before that only when nothing else is free),
   * else the oldest queued trial or one whose lease expired. Only running fleet runs of the agent's
   * board type (or `runId`).
   */
  leaseTrial(agent: AgentIdentity, o: { readonly leaseMs: number; readonly runId?: string; readonly now?: number }): Promise<Lease | null>;
  /** Extend a lease still held; false when it was lost (expired and taken over, or the run ended). */
  renewLease(lease: Lease, leaseMs: number, now?: number): Promise<boolean>;
  /**
   * Write the measurement of a leased trial, once: false (and nothing written) when the lease was
   * lost, so a trial is never counted twice.
   */
  completeTrial(lease: Lease, agent: AgentIdentity, m: TrialMeasurement, feasible: boolean, now?: number): Promise<boolean>;
  /** Measured trials of a fleet run with index ≥ `fromIndex`, in index order. */
  fleetTrials(runId: string, fromIndex?: number): Promise<FleetTrialRecord[]>;
  queueState(runId: string, now?: number): Promise<QueueState>;
  /** Drop the trials still queued or leased (the run has finished). */
  cancelQueued(runId: string): Promise<number>;

  /** Add a profile to the registry (replacing an older one with the same key); returns its version. */
  pushProfile(p: Omit<RegistryProfile, 'version' | 'pushedAt'>): Promise<number>;
  pullProfile(key: string): Promise<RegistryProfile | null>;
  listRegistry(): Promise<RegistrySummary[]>;
}

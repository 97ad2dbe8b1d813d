/** Fine-tuning jobs as the scheduler, the store, the HTTP API and the CLI see them. */
export type JobKind = 'gate' | 'command' | 'sim';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const JOB_KINDS: readonly JobKind[] = ['gate', 'command', 'sim'];

export interface JobSpec {
  readonly kind: JobKind;
  /** Free-form label shown in listings. */
  readonly name: string;
  /** Model being fine-tuned (zoo name): its FLOPs and bytes are the predictor's step features. */
  readonly model: string;
  /** Requested fine-tuning micro-batch (the scheduler may run a smaller one to fit). */
  readonly microBatch: number;
  /** Steps to run; required for simulated jobs, optional for a gate (the loop says when it is done). */
  readonly steps?: number;
  /** For `command` jobs: the name of a command from the server's configuration file. */
  readonly command?: string;
}

export interface Job extends JobSpec {
  readonly id: string;
  /** FIFO position: jobs run in ascending `seq`. */
  readonly seq: number;
  readonly state: JobState;
  readonly submittedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly stepsDone: number;
  /** Micro-batch the job actually runs with (≤ microBatch), set on admission. */
  readonly runMicroBatch?: number;
  /** Why a queued job waits, or why a job failed. */
  readonly reason?: string;
  /** Exit status of a command job's process (signal name when killed by one). */
  readonly exitStatus?: number | string;
  /** Energy cost of running at a switched configuration, J (set when the job ends). */
  readonly switchEnergyJ?: number;
}

export function isTerminal(s: JobState): boolean {
  return s === 'done' || s === 'failed' || s === 'cancelled';
}

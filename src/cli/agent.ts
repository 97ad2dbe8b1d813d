/** `polythrottle agent`: on one board of a fleet, lease trials of fleet runs from the store, measure them, write them back. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { badInput } from '../core/errors.ts';
import type { TrialRunner } from '../core/measurement.ts';
import type { DeviceSpec } from '../device/device-spec.ts';
import { openDevice } from '../device/open.ts';
import { runAgent, simBoardRunner, simTrialSeconds } from '../fleet/index.ts';
import { defaultDbPath } from '../store/paths.ts';
import { openStore } from '../store/open-store.ts';
import type { TrialTask } from '../store/store.ts';
import { boardTypeOfDeviceId } from '../store/tuning-store.ts';
import { addDeviceWriteOptions, type DeviceWriteCliOptions, deviceOption, deviceWriteOptions } from './support/device-options.ts';
import { numberInRange, positiveDurationMs, positiveInt } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { addWorkloadFlags, openTrialRunnerFromFlags, workloadFromFlags } from './support/workload-flags.ts';

interface AgentCliOptions extends Record<string, unknown>, DeviceWriteCliOptions {
  device: DeviceSpec;
  db?: string;
  boardId?: string;
  run?: string;
  lease: number;
  maxTrials?: number;
  idleExit?: number;
  poll: number;
  timeScale: number;
  noise?: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description('on one board of a fleet: lease trials of fleet runs (tune --parallel) from the store, measure them, write them back')
    .addOption(deviceOption('jetson | nvidia | linux-cpu | sim:<board> (a simulated board of that type)'))
    .option('--db <url>', `the fleet's store: a postgres:// URL (or a SQLite file on one machine; default: ${defaultDbPath()})`)
    .option('--board-id <id>', 'this board’s name in the fleet (default: the host name; sim: sim-<pid>)')
    .option('--run <id>', 'only this run (default: any running fleet run of this board type)')
    .option('--lease <duration>', 'lease length, renewed while a trial runs; a dead agent’s trial is re-queued after it', positiveDurationMs('--lease'), 60_000)
    .option('--max-trials <n>', 'stop after this many trials', positiveInt('--max-trials'))
    .option('--idle-exit <duration>', 'stop after this long with nothing to lease (default: keep waiting)', positiveDurationMs('--idle-exit'))
    .option('--poll <duration>', 'wait between lease attempts when nothing is queued', positiveDurationMs('--poll'), 1000)
    .option(
      '--time-scale <f>',
      'sim only: a trial takes its simulated duration (32 s by default) × f of real time (0: at once; 1: real time)',
      numberInRange('--time-scale', 0, 10),
      0,
    )
    .option('--noise <sd>', 'sim only: relative measurement noise (default 0.03)', numberInRange('--noise', 0, 1));
  addDeviceWriteOptions(cmd);
  addWorkloadFlags(cmd);
  cmd
    .addHelpText(
      'after',
      `
Examples:
  polythrottle agent --db postgres://tuner@db.lan/fleet --device jetson          # on each board
  polythrottle agent --db postgres://postgres@127.0.0.1/test --device sim:orin-agx --board-id sim-1 --time-scale 0.05`,
    )
    .action(action(async (o: AgentCliOptions) => runAgentCli(o)));
}

async function realBoardType(o: AgentCliOptions): Promise<string> {
  const d = await openDevice(o.device, deviceWriteOptions(o));
  try {
    return boardTypeOfDeviceId((await d.describe()).id);
  } finally {
    await d.close();
  }
}

async function runAgentCli(o: AgentCliOptions): Promise<void> {
  if (!o.device) throw badInput('--device is required: the board this agent measures on (jetson, or sim:<board> for a simulated one)');
  const sim = o.device.kind === 'sim' ? o.device.board : null;
  if (!sim && (o.timeScale !== 0 || o.noise !== undefined)) throw badInput('--time-scale and --noise apply to simulated boards (--device sim:<board>)');
  const w = workloadFromFlags(o);
  const boardId = o.boardId ?? (sim ? `sim-${process.pid}` : hostname());
  const runners = new Map<string, TrialRunner>();
  const keyOf = (t: TrialTask) => JSON.stringify(t.model);
  const runnerFor = async (t: TrialTask): Promise<TrialRunner> => {
    let r = runners.get(keyOf(t));
    if (!r) {
      r = sim
        ? simBoardRunner({ board: sim, boardId, ...(o.noise === undefined ? {} : { noise: o.noise }) }, t.model)
        : await openTrialRunnerFromFlags(o.device, t.model.name, w, {
            dtype: t.model.dtype,
            ...(t.model.seq === undefined ? {} : { seq: t.model.seq }),
            deviceOptions: deviceWriteOptions(o),
          });
      runners.set(keyOf(t), r);
    }
    return r;
  };
  // the board type: the twin's board, or what the real device says it is
  const boardType = sim ?? (await realBoardType(o));
  const store = await openStore(o.db ?? defaultDbPath());
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`agent ${boardId} (${boardType}) on ${store.path}: waiting for trials`);
  try {
    const summary = await runAgent({
      store,
      identity: { agentId: `${boardId}/${process.pid}`, boardId, boardType },
      leaseMs: o.lease,
      ...(o.run === undefined ? {} : { runId: o.run }),
      runnerFor,
      ...(sim && o.timeScale > 0 ? { trialDelayMs: (m) => simTrialSeconds(m) * 1000 * o.timeScale } : {}),
      ...(o.maxTrials === undefined ? {} : { maxTrials: o.maxTrials }),
      ...(o.idleExit === undefined ? {} : { idleExitMs: o.idleExit }),
      pollMs: o.poll,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.kind === 'leased')
          say(
            `leased trial ${e.lease.queueId} of run ${e.lease.runId.slice(0, 8)} (${e.lease.source}${e.lease.attempts > 1 ? `, attempt ${e.lease.attempts}` : ''})`,
          );
        else if (e.kind === 'completed')
          say(
            `completed trial ${e.lease.queueId}: ${e.measurement.energyPerQueryJ.toPrecision(4)} J/query, p${+(e.measurement.tailQuantile * 100).toFixed(3)} ${e.measurement.latencyTailMs.toFixed(2)} ms`,
          );
        else if (e.kind === 'lost') say(`lost the lease of trial ${e.lease.queueId}: another board has taken it over; result not counted`);
      },
    });
    say(`agent ${boardId}: ${summary.completed} trials completed, ${summary.lost} lost leases`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
    for (const r of runners.values()) await r.close();
  }
}

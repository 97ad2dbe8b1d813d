/**
 * `tune --parallel N`: the fleet run's driver. It posts suggestions to the store (`--db`, a
 * postgres:// URL for boards on a network) and waits while `polythrottle agent` processes on the
 * boards measure them; the result is stored as a run and profile like any other.
 */
import pc from 'picocolors';
import { formatConfig } from '../../core/config.ts';
import { badInput } from '../../core/errors.ts';
import type { Slo } from '../../core/slo.ts';
import type { DeviceSpec } from '../../device/device-spec.ts';
import { openDevice } from '../../device/open.ts';
import { type FleetTuningRun, runFleetTuning, simBoardRunner } from '../../fleet/index.ts';
import type { ModelSpec } from '../../core/model-spec.ts';
import { openStore } from '../../store/open-store.ts';

export interface FleetTuneFlags {
  readonly device: DeviceSpec;
  readonly model: ModelSpec;
  readonly slo: Slo;
  readonly rate?: number;
  readonly budget: number;
  readonly seed: number;
  readonly parallel: number;
  readonly margin: number;
  readonly batchSizes: readonly number[];
  readonly db: string;
  readonly json?: boolean;
  readonly trial?: { readonly repeats?: number; readonly windowS?: number };
}

async function describeBoardType(spec: DeviceSpec) {
  if (spec.kind === 'sim') return simBoardRunner({ board: spec.board, boardId: 'driver' }, { name: 'efficientnet-b0', dtype: 'fp32' }).describe();
  if (spec.kind === 'auto') throw badInput('tune --parallel needs the board type: --device jetson (run on one of the boards) or --device sim:<board>');
  const d = await openDevice(spec, { dryRun: true });
  try {
    return await d.describe();
  } finally {
    await d.close();
  }
}

export async function runFleetTune(o: FleetTuneFlags): Promise<FleetTuningRun> {
  const device = await describeBoardType(o.device);
  const store = await openStore(o.db);
  const log = (s: string) => {
    if (!o.json) process.stderr.write(`${s}\n`);
  };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  try {
    log(pc.dim(`fleet run on ${store.path}: ${o.parallel} trials at a time; start \`polythrottle agent --db … --device …\` on the boards`));
    const { run } = await runFleetTuning({
      store,
      device,
      model: o.model,
      slo: o.slo,
      ...(o.rate === undefined ? {} : { rateRps: o.rate }),
      budget: o.budget,
      seed: o.seed,
      parallel: o.parallel,
      margin: o.margin,
      batchSizes: o.batchSizes,
      ...(o.trial === undefined ? {} : { trial: o.trial }),
      signal: stop.signal,
      onProgress: (p) =>
        log(
          `${p.searchDone}/${p.budget} search trials · ${p.inFlight} in flight · ${p.boards} boards · best ${p.best ? `${Math.exp(p.best.energy).toPrecision(3)} J @ ${Math.exp(p.best.latency).toFixed(1)} ms` : '–'}`,
        ),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    else process.stdout.write(formatFleetRun(run, store.path));
    return run;
  } finally {
    process.off('SIGINT', onSignal);
    await store.close();
  }
}

export function formatFleetRun(run: FleetTuningRun, where: string): string {
  const q = `p${+(run.slo.quantile * 100).toFixed(3)}`;
  const lines = [
    '',
    `${pc.bold(run.device.name)} · ${run.model} · SLO ${q} ≤ ${run.slo.latencyMs} ms · fleet of ${run.fleet.boards.length} boards, ${run.fleet.parallel} at a time`,
  ];
  if (run.recommendation) {
    const m = run.recommendation.measurement;
    lines.push(`${pc.green('recommended')}  ${formatConfig(run.recommendation.config)}`);
    lines.push(
      `             ${m.energyPerQueryJ.toPrecision(4)} J/query · ${q} ${m.latencyTailMs.toFixed(1)} ms on the fleet's mean board; meets the SLO on the slowest board measured`,
    );
  } else lines.push(pc.red(run.infeasibleReason ?? 'infeasible'));
  lines.push('', 'boards (offsets against the fleet mean, from the configurations several boards measured):');
  for (const b of run.fleet.boards)
    lines.push(
      `  ${b.boardId.padEnd(24)} ${b.trials} trials · energy ${(100 * (Math.exp(b.energy) - 1)).toFixed(1)} % · latency ${(100 * (Math.exp(b.latency) - 1)).toFixed(1)} %${b.referenced ? '' : ' (no shared configuration measured yet)'}`,
    );
  lines.push('', pc.dim(`run ${run.id} · profile ${run.profileId ?? '–'} in ${where}`));
  lines.push(pc.dim(`share it with every board of the type: polythrottle profile push ${run.id.slice(0, 8)} --db <registry>`));
  return `${lines.join('\n')}\n`;
}

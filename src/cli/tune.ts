/** `polythrottle tune`: find the configuration with the least energy per query that meets the latency SLO. */
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import pc from 'picocolors';
import { DEFAULT_BATCH_SIZES, formatConfig } from '../core/config.ts';
import { badInput } from '../core/errors.ts';
import { DEFAULT_SLO_QUANTILE, SLO_MARGINS } from '../core/slo.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import type { DType } from '../core/workload-profile.ts';
import { type DeviceSpec, formatDeviceSpec } from '../device/device-spec.ts';
import { DEFAULT_SIM_SPEC, resolveJetsonOrTwin } from '../device/open.ts';
import { modelSpecOf } from '../model/model-spec.ts';
import { defaultDbPath } from '../store/paths.ts';
import { openStore } from '../store/open-store.ts';
import { priorForDevice } from '../tune/device-prior.ts';
import { budgetOf, DEFAULT_BUDGET, DEFAULT_PRESETS, DEFAULT_TWO_PHASE_BUDGET } from '../tune/tune.ts';
import { runTuningSession } from '../tune/tuning-session.ts';
import type { TuneOptimizer, TuneProgress } from '../tune/tune.ts';
import {
  addDeviceWriteOptions,
  addTwinOptions,
  type DeviceWriteCliOptions,
  deviceOption,
  deviceWriteOptions,
  type TwinCliOptions,
  twinFromOptions,
} from './support/device-options.ts';
import { integer, latencyMs, numberInRange, positiveInt, positiveIntList, positiveNumber, quantile } from './support/flag-parsers.ts';
import { runFleetTune } from './support/fleet-tune.ts';
import { action } from './support/run-action.ts';
import { addWorkloadFlags, dimOption, openTrialRunnerFromFlags, workloadFromFlags } from './support/workload-flags.ts';

interface TuneCliOptions extends Record<string, unknown>, DeviceWriteCliOptions, TwinCliOptions {
  device: DeviceSpec;
  model: string;
  /** ms */
  slo: number;
  quantile: number;
  rate?: number;
  budget?: number;
  resume?: boolean | string;
  seed: number;
  json?: boolean;
  db?: string;
  noise?: number;
  batchSizes: number[];
  joint?: boolean;
  twoPhase?: boolean;
  prior: boolean;
  priorBoard?: string;
  presets?: number;
  margin: number;
  optimizer: TuneOptimizer;
  baselines: boolean;
  dtype?: DType;
  seq?: number;
  dim?: Record<string, number>;
  /** --model was not given (commander filled in the default). */
  modelIsDefault?: boolean;
  parallel?: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('tune')
    .description('find the clocks and batch size with the least energy per query that meet a latency SLO (constrained Bayesian optimisation)')
    .addOption(
      deviceOption(`auto | jetson | nvidia | linux-cpu | sim:<board> | landscape:<grid.csv> (auto: a Jetson when found, else ${DEFAULT_SIM_SPEC})`, 'auto'),
    )
    .option('--model <name|file.onnx>', 'a zoo model (see `models list`) or an .onnx file', 'efficientnet-b0')
    .addOption(new Option('--slo <latency>', 'latency SLO on the tail, e.g. 50ms or 0.05s').argParser(latencyMs('--slo')).default(50, '50ms'))
    .addOption(
      new Option('--quantile <q>', 'latency quantile the SLO applies to (0.99, p99, 95%)').argParser(quantile('--quantile')).default(DEFAULT_SLO_QUANTILE),
    )
    .option('--rate <rps>', 'arrival rate in requests/s (load-aware: batch-fill wait and idle power count); default: saturated', positiveNumber('--rate'))
    .option(
      '--budget <n>',
      `measurements of the whole run, every phase counted: default, presets, search, confirmation (default ${DEFAULT_BUDGET}; with --two-phase: search trials, default ${DEFAULT_TWO_PHASE_BUDGET})`,
      positiveInt('--budget'),
    )
    .option('--resume [run-id]', 're-use the finished trials of an interrupted run with the same settings (the latest, or this id)')
    .option('--seed <n>', 'seed of the optimiser (and of the twin noise)', integer('--seed', 0), 0)
    .option('--json', 'print the whole run as JSON (every trial, the recommendation, the savings)')
    .option('--db <file|url>', `store of runs and profiles: a SQLite file or a postgres:// URL (default: ${defaultDbPath()})`)
    .option('--noise <sd>', 'twin and landscape only: relative measurement noise (default 0.03)', numberInRange('--noise', 0, 1))
    .option('--batch-sizes <list>', 'batch sizes to search, comma-separated', positiveIntList('--batch-sizes'), [...DEFAULT_BATCH_SIZES])
    .option('--joint', 'deprecated: every knob, the CPU clock included, is searched together by default')
    .option('--two-phase', 'the previous method: the CPU clock first on its own, then the rest; presets after the decision')
    .option('--no-prior', "do not use the device twin's prediction as the search's prior")
    .option(
      '--prior-board <board|file.json>',
      "the twin used as prior: a board name or a board-spec file, e.g. a calibrated twin (default: the device's own board)",
    )
    .option('--presets <n>', `power-mode presets measured in the initial design, at most (default ${DEFAULT_PRESETS})`, integer('--presets', 0))
    .option('--margin <fraction>', 'the recommendation must measure at most SLO × (1 − margin)', numberInRange('--margin', 0, 0.5), SLO_MARGINS.recommendation)
    .addOption(new Option('--optimizer <name>', 'search strategy').choices(['cbo', 'random', 'grid']).default('cbo'))
    .option('--no-baselines', 'skip measuring the default and the power-mode presets')
    .addOption(new Option('--dtype <dtype>', 'precision of a zoo model').choices(['fp32', 'fp16']))
    .option('--seq <L>', 'sequence length of the BERT models', positiveInt('--seq'))
    .addOption(dimOption())
    .option(
      '--parallel <n>',
      'a fleet run: keep n trials in the store for `polythrottle agent`s on the boards to measure (see docs/fleet.md)',
      positiveInt('--parallel'),
    );
  addDeviceWriteOptions(cmd);
  addTwinOptions(cmd);
  addWorkloadFlags(cmd);
  cmd
    .addHelpText(
      'after',
      `
Examples:
  polythrottle tune                                              # efficientnet-b0, p99 ≤ 50 ms, on the simulated AGX Orin
  polythrottle tune --device sim:tx2 --model efficientnet-b7 --slo 400ms --budget 24
  polythrottle tune --device landscape:grid.csv --model resnet-50 --slo 30ms --prior-board tx2
  polythrottle tune --model bert-base --slo 80ms --rate 60 --json > run.json
  polythrottle tune --resume                                      # continue the interrupted run with these settings
  polythrottle tune --device jetson --workload onnx --dry-run      # print the clock writes a run would make (nothing stored)`,
    )
    .action(
      action(async (o: TuneCliOptions, command: Command) =>
        // A twin profile is of one model: without --model, tune that one.
        runTune({ ...o, ...(command.getOptionValueSource('model') === 'default' ? { modelIsDefault: true } : {}) }),
      ),
    );
}

async function runTune(o: TuneCliOptions): Promise<void> {
  const slo = { latencyMs: o.slo, quantile: o.quantile };
  if (o.parallel !== undefined) return runFleetTuneFromFlags(o, slo);
  // Every flag is read before anything is printed or opened: a bad one is the only line.
  const w = workloadFromFlags(o);
  const { spec, passedOver } = await resolveJetsonOrTwin(o.device, o.sysfsRoot ? { root: o.sysfsRoot } : {});
  if (o.noise !== undefined && spec.kind !== 'sim' && spec.kind !== 'landscape')
    throw badInput("--noise sets the twin's measurement noise; it needs --device sim:<board> or landscape:<grid.csv>");
  if (o.twoPhase && o.priorBoard !== undefined) throw badInput('--prior-board needs the joint search; drop --two-phase');
  const log = (s: string) => {
    if (!o.json) process.stderr.write(`${s}\n`);
  };
  if (o.device.kind === 'auto' && spec.kind === 'sim')
    log(pc.dim(`no Jetson found; tuning the simulated AGX Orin${passedOver ? ` (${passedOver} found: pass --device ${passedOver} to tune it)` : ''}`));
  // On a simulated board --runtime / --twin-profile shape the twin that is measured; on a real board
  // they shape only the prior (the calibrated twin of that board).
  const realBoardTwin = spec.kind !== 'sim' && (o.runtime !== undefined || o.twinProfile !== undefined);
  if (realBoardTwin && (o.twoPhase || !o.prior))
    throw badInput('--runtime and --twin-profile on a real board shape the prior of the joint search; drop --two-phase / --no-prior');
  const twin = realBoardTwin ? {} : await twinFromOptions(spec, o.modelIsDefault ? { ...o, model: undefined } : o);
  if (o.modelIsDefault && twin.model !== undefined) o = { ...o, model: twin.model };
  const dtype = o.dtype ?? twin.dtype;
  const runner = await openTrialRunnerFromFlags(spec, o.model, w, {
    ...o,
    ...(dtype === undefined ? {} : { dtype }),
    ...(twin.board === undefined ? {} : { simBoard: twin.board }),
    deviceOptions: deviceWriteOptions(o),
  });
  // A dry run measures at the unchanged clocks: its trials must not become a stored profile.
  if (o.dryRun && spec.kind !== 'sim') log(pc.dim('dry run: the clocks are not changed and nothing is stored (trials measure the current clocks)'));
  const method = o.twoPhase ? 'two-phase' : 'joint';
  const budget = budgetOf({ method, ...(o.budget === undefined ? {} : { budget: o.budget }) });
  const modelOptions = {
    ...(o.dtype === undefined ? {} : { dtype: o.dtype }),
    ...(o.seq === undefined ? {} : { seq: o.seq }),
    ...(o.dim === undefined ? {} : { symbolicDims: o.dim }),
  };
  let prior: Awaited<ReturnType<typeof priorForDevice>> = null;
  try {
    prior =
      method === 'joint' && o.prior && (o.optimizer ?? 'cbo') === 'cbo'
        ? await priorForDevice({
            spec,
            description: await runner.describe(),
            model: o.model,
            modelOptions,
            ...(o.priorBoard === undefined ? {} : { board: o.priorBoard }),
            ...(twin.board === undefined ? {} : { boardSpec: twin.board }),
            ...(realBoardTwin && o.runtime !== undefined ? { runtime: o.runtime } : {}),
            ...(realBoardTwin && o.twinProfile !== undefined ? { twinProfile: o.twinProfile } : {}),
            ...(o.rate === undefined ? {} : { rateRps: o.rate }),
            quantile: o.quantile,
          })
        : null;
  } catch (e) {
    await runner.close();
    throw e;
  }
  if (prior) log(pc.dim(`prior: the twin of ${prior.board}, corrected by the measurements`));
  const store = await openStore(o.dryRun ? ':memory:' : (o.db ?? defaultDbPath()));
  const bar = o.json ? null : progressBar(budget, method === 'joint' ? 'measurements' : 'search trials');
  try {
    const res = await runTuningSession({
      runner,
      store,
      model: modelSpecOf(o.model, { ...(dtype === undefined ? {} : { dtype }), ...(o.seq === undefined ? {} : { seq: o.seq }) }),
      ...(twin.runtime !== undefined ? { runtime: twin.runtime } : realBoardTwin && o.runtime !== undefined ? { runtime: o.runtime } : {}),
      ...(twin.twinProfileRecord === undefined ? {} : { twinProfile: twin.twinProfileRecord }),
      slo,
      ...(o.rate === undefined ? {} : { rateRps: o.rate }),
      ...(o.budget === undefined ? {} : { budget: o.budget }),
      seed: o.seed,
      batchSizes: o.batchSizes,
      method,
      prior: prior ? prior.predictor : null,
      ...(o.presets === undefined ? {} : { presets: o.presets }),
      margin: o.margin,
      optimizer: o.optimizer,
      baselines: o.baselines,
      ...(o.resume === undefined ? {} : { resume: o.resume }),
      ...(w.trial.repeats === undefined && w.trial.windowS === undefined
        ? {}
        : {
            trial: {
              ...(w.trial.repeats === undefined ? {} : { repeats: w.trial.repeats }),
              ...(w.trial.windowS === undefined ? {} : { windowS: w.trial.windowS }),
            },
          }),
      settings: {
        device: formatDeviceSpec(spec),
        noise: o.noise ?? null,
        prior: prior ? (o.priorBoard ?? 'device') : null,
        dtype: o.dtype ?? null,
        seq: o.seq ?? null,
        workload: w.workload ?? null,
        // Only when given, so runs without --dim keep the settings (and resume key) they had.
        ...(o.dim === undefined ? {} : { dims: o.dim }),
        ...(twin.runtime === undefined ? {} : { runtime: twin.runtime }),
        ...(twin.twinProfile === undefined ? {} : { twinProfile: twin.twinProfile }),
      },
      onResume: (i) =>
        log(
          i.resumed
            ? `resuming run ${i.runId.slice(0, 8)}: ${i.trials} finished trials will be re-used`
            : pc.dim(`an interrupted run with these settings exists (${i.runId.slice(0, 8)}, ${i.trials} trials): add --resume to continue it`),
        ),
      ...(bar ? { onProgress: bar.update } : {}),
    });
    bar?.stop();
    if (o.json) process.stdout.write(`${JSON.stringify(res.run, null, 2)}\n`);
    else process.stdout.write(formatRun(res.run, store.path));
    if (!res.run.recommendation) process.exitCode = 5;
  } finally {
    bar?.stop();
    await store.close();
    await runner.close();
  }
}

async function runFleetTuneFromFlags(o: TuneCliOptions, slo: { latencyMs: number; quantile: number }): Promise<void> {
  const w = workloadFromFlags(o);
  const model = modelSpecOf(o.model, { ...(o.dtype === undefined ? {} : { dtype: o.dtype }), ...(o.seq === undefined ? {} : { seq: o.seq }) });
  const trial = {
    ...(w.trial.repeats === undefined ? {} : { repeats: w.trial.repeats }),
    ...(w.trial.windowS === undefined ? {} : { windowS: w.trial.windowS }),
  };
  const { device, seed, parallel, margin, batchSizes, json } = o;
  const run = await runFleetTune({
    device,
    model,
    slo,
    budget: o.budget ?? DEFAULT_BUDGET,
    seed,
    parallel: parallel!,
    margin,
    batchSizes,
    json: json === true,
    db: o.db ?? defaultDbPath(),
    trial,
    ...(o.rate === undefined ? {} : { rate: o.rate }),
  });
  if (!run.recommendation) process.exitCode = 5;
}

function progressBar(budget: number, unit: string) {
  const tty = process.stderr.isTTY === true;
  const b = new SingleBar({
    format: `tune [{bar}] {value}/{total} ${unit} · {phase} · {trials} measured · best {best} · saving {saving}`,
    barsize: 20,
    hideCursor: tty,
    noTTYOutput: !tty,
    notTTYSchedule: 2000,
    stream: process.stderr,
  });
  b.start(budget, 0, { phase: 'initial', trials: 0, best: '–', saving: '–' });
  let stopped = false;
  return {
    update: (p: TuneProgress) =>
      b.update(p.done, {
        phase: p.phase,
        trials: p.trials,
        best: p.best ? `${p.best.energyPerQueryJ.toPrecision(3)} J @ ${p.best.latencyTailMs.toFixed(1)} ms` : '–',
        saving: p.saving === null ? '–' : `${(p.saving * 100).toFixed(1)} %`,
      }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      b.stop();
    },
  };
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** The human-readable result. */
export function formatRun(run: TuningRun, dbPath: string): string {
  const q = `p${+(run.slo.quantile * 100).toFixed(3)}`;
  const count = (s: string) => run.trials.filter((t) => t.source === s).length;
  const searched = run.trials.filter((t) => ['initial', 'bo', 'random', 'grid', 'exhaustive'].includes(t.source)).length;
  const lines: string[] = [];
  lines.push('');
  lines.push(`${pc.bold(run.device.name)} · ${run.model} · SLO ${q} ≤ ${run.slo.latencyMs} ms · ${run.rateRps ? `${run.rateRps} req/s` : 'saturated'}`);
  const phases = run.measurements ? Object.entries(run.measurements.byPhase).map(([p, n]) => `${n} ${p}`) : [];
  lines.push(
    pc.dim(
      // With the measurements per phase (runs since they were recorded) the counts by trial source
      // would say the same thing again in other words (the initial design holds the baselines).
      (phases.length > 0
        ? `${run.trials.length} measurements (${phases.join(' + ')}) of a budget of ${run.budget}${run.optimizer.endsWith('two-phase') ? ' search trials' : ''} · ${run.optimizer}, stopped: ${run.stopReason ?? 'budget'}`
        : `${run.trials.length} measurements of a budget of ${run.budget} · ${searched} searched (${run.optimizer}, stopped: ${run.stopReason ?? 'budget'}) · ${count('baseline')} baseline · ${count('confirm')} confirmation`) +
        (run.reusedTrials ? ` · ${run.reusedTrials} re-used from the interrupted run` : ''),
    ),
  );
  if (run.surrogates?.fixed.cpuHz !== undefined)
    lines.push(pc.dim(`CPU clock chosen in the first phase: ${(run.surrogates.fixed.cpuHz / 1e9).toFixed(2)} GHz`));
  lines.push('');
  if (!run.recommendation) {
    lines.push(pc.red(run.infeasibleReason ?? 'infeasible'));
  } else {
    const m = run.recommendation.measurement;
    lines.push(`${pc.green('recommended')}  ${formatConfig(run.recommendation.config)}`);
    lines.push(
      `             ${m.energyPerQueryJ.toPrecision(4)} J/query · ${q} ${m.latencyTailMs.toFixed(1)} ms · p50 ${m.latencyP50Ms.toFixed(1)} ms · ${m.powerW.toFixed(1)} W · ${m.throughputQps.toFixed(0)} queries/s (every window of it pooled, confirmed by a re-measurement)`,
    );
    const passed = run.passedOver ?? [];
    if (passed.length > 0) {
      lines.push(
        pc.dim(`${passed.length} other trial${passed.length === 1 ? '' : 's'} read less energy inside the margin in one measurement; not recommended because:`),
      );
      for (const p of passed.slice(0, 5))
        lines.push(pc.dim(`  trial ${p.trial} (${formatConfig(p.config)}, ${p.energyPerQueryJ.toPrecision(4)} J, ${p.latencyTailMs.toFixed(1)} ms): ${p.why}`));
      if (passed.length > 5) lines.push(pc.dim(`  … and ${passed.length - 5} more (tune --json lists them under passedOver)`));
    }
  }
  if (run.baselines.length > 0) {
    lines.push('');
    lines.push('measured in this run:');
    const rows = run.baselines.map((b) => [
      b.name === 'default' ? 'default (all clocks max)' : b.name,
      String(b.config.batch),
      b.measurement.valid ? b.measurement.energyPerQueryJ.toPrecision(4) : 'invalid',
      b.measurement.valid ? b.measurement.latencyTailMs.toFixed(1) : '–',
      b.feasible ? 'meets' : 'misses',
      pct(b.saving),
    ]);
    const head = ['baseline', 'batch', 'J/query', `${q} ms`, 'SLO', 'saving'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
    lines.push(pc.dim(fmt(head)));
    for (const r of rows) lines.push(fmt(r));
  }
  lines.push('');
  lines.push(pc.dim(`run ${run.id} · profile ${run.profileId ?? '–'} in ${dbPath}`));
  if (run.profileId) lines.push(pc.dim(`another SLO without measuring: polythrottle recommend --profile ${run.profileId.slice(0, 8)} --slo <latency>`));
  return `${lines.join('\n')}\n`;
}

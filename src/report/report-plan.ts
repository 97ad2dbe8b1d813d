import type { TopLevelSpec } from 'vega-lite';
import { formatConfig, type KnobName } from '../core/config.ts';
import type { TrialRecord, TuningRun } from '../core/tuning-run.ts';
import { type ConvergenceInput, convergenceSpec } from './charts/convergence-chart.ts';
import { heatmapSpec } from './charts/heatmap-chart.ts';
import { paretoChartSpec } from './charts/pareto-chart.ts';
import { timelineSpec } from './charts/timeline-chart.ts';
import {
  bestFeasibleSoFar,
  type ConvergenceCurve,
  curvesFromBenchmark,
  type MissingKnobValues,
  randomSearchQuantiles,
  referenceOptimum,
  rowAt,
  rowConfig,
  SEARCH_SOURCES,
  searchTrials,
} from './convergence.ts';
import type { TimelinePoint } from './finetune-timeline.ts';
import { answeredSamples, finetuneSpans, sloViolations } from './finetune-timeline.ts';
import { bestPoint, busiestBatch, type EnergyPoint, heatCells, heatmapBatch, landscapePoints, trialPoints } from './heatmap-data.ts';
import { combineEffects, describeKnobs, gridKnobEffects, measuredKnobEffects } from './knob-importance.ts';
import { type SurrogateLandscape, surrogateLandscape } from './surrogate-landscape.ts';
import type { LandscapeRow } from './landscape.ts';
import { type ComparisonRow, comparisonRows, formatEnergy, formatMs, headline, quantileName } from './summary.ts';

/** Everything a report can draw from; only the run is required. */
export interface ReportInputs {
  readonly run: TuningRun;
  /** The twin's exhaustive grid for this model and device (`polythrottle landscape`). */
  readonly landscape?: readonly LandscapeRow[];
  /** Where the landscape came from, in words (e.g. "grid.csv"); shown beside the charts. */
  readonly landscapeSource?: string;
  /**
   * Every configuration the run could search, the CPU clock included (for a run on the twin, its grid
   * over every CPU clock), when the landscape holds less: the convergence chart's reference optimum
   * comes from it. Without it, the landscape's optimum serves, and the text says which knob values
   * the run measured that it lacks.
   */
  readonly grid?: readonly LandscapeRow[];
  readonly gridSource?: string;
  /** Other runs on the same problem to draw beside this one (e.g. a random-search run). */
  readonly compareRuns?: readonly TuningRun[];
  /** A tuner benchmark's parsed JSON, read for best-so-far curves. */
  readonly benchmark?: unknown;
  /** The server's record while fine-tuning shared the device. */
  readonly timeline?: readonly TimelinePoint[];
}

export type ChartId = 'pareto' | 'heatmap-gpu-emc' | 'heatmap-gpu-min-max' | 'convergence' | 'timeline';

export interface ChartPlan {
  readonly id: ChartId;
  readonly spec: TopLevelSpec;
  /** Axis and legend titles the chart must show (checked by tests). */
  readonly axisTitles: readonly string[];
}

export type SectionId = 'recommendation' | 'knobs' | 'pareto' | 'landscape' | 'convergence' | 'timeline';

export interface SectionPlan {
  readonly id: SectionId;
  readonly heading: string;
  readonly paragraphs: readonly string[];
  readonly charts: readonly ChartPlan[];
  /** Why a chart is missing and how to get it. */
  readonly missing?: string;
  readonly table?: readonly ComparisonRow[];
}

export interface ReportPlan {
  readonly title: string;
  readonly facts: readonly [string, string][];
  readonly sections: readonly SectionPlan[];
}

/** Decide what the report shows, from the inputs alone (pure; rendering is separate). */
export function planReport(inputs: ReportInputs): ReportPlan {
  const { run } = inputs;
  // Without a landscape, the run's surrogates predict every configuration (heatmaps, knob effects).
  const surrogate = inputs.landscape !== undefined && inputs.landscape.length > 0 ? null : surrogateLandscape(run);
  return {
    title: `PolyThrottle report: ${run.model} on ${run.device.name}`,
    facts: [
      ['Run', run.id],
      ['Created', run.createdAt],
      ['Device', `${run.device.name} (${run.device.id})`],
      ['Model', run.model],
      [
        'SLO',
        `${quantileName(run.slo.quantile)} latency ≤ ${run.slo.latencyMs} ms${run.rateRps !== undefined ? ` at ${run.rateRps} requests/s` : ' (saturated)'}`,
      ],
      [
        'Optimizer',
        `${run.optimizer}, seed ${run.seed}: ${searchTrials(run.trials).length} search trials of a budget of ${run.budget}, ${run.trials.length} measurements in all`,
      ],
    ],
    sections: [
      recommendationSection(run),
      knobsSection(inputs, surrogate),
      paretoSection(inputs),
      landscapeSection(inputs, surrogate),
      convergenceSection(inputs),
      timelineSection(inputs),
    ],
  };
}

const list = (xs: readonly string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

function recommendationSection(run: TuningRun): SectionPlan {
  const rows = comparisonRows(run);
  const presets = rows.filter((r) => r.name !== 'recommended' && r.name !== 'default' && r.savingValue !== null);
  const paragraphs = [...headline(run)];
  if (presets.length > 0) {
    const names = [...new Set(presets.map((r) => r.name))];
    const several = presets.length > names.length;
    const missing = [...new Set(presets.filter((r) => !r.meetsSlo).map((r) => (several ? `${r.name} at batch ${r.batch}` : r.name)))];
    paragraphs.push(
      `Against the power presets: ${presets.map((r) => `${r.name}${several ? ` at batch ${r.batch}` : ''} ${r.saving}`).join('; ')}.` +
        (missing.length > 0
          ? ` ${list(missing)} ${missing.length > 1 ? 'miss' : 'misses'} the SLO, so ${missing.length > 1 ? 'they are' : 'it is'} no real alternative.`
          : ''),
    );
  }
  paragraphs.push(
    'Energy and latency are means over repeated measurement windows; ± is their coefficient of variation, and a saving’s ± combines both measurements’.',
  );
  return { id: 'recommendation', heading: 'Recommendation', paragraphs, charts: [], table: rows };
}

function knobsSection(inputs: ReportInputs, surrogate: SurrogateLandscape | null): SectionPlan {
  const { run } = inputs;
  const heading = 'Which knobs matter';
  const grid = inputs.grid && inputs.grid.length > 0 ? inputs.grid : (inputs.landscape ?? []);
  const rec = run.recommendation?.config ?? null;
  const valid = run.trials.filter((t) => t.measurement.valid);
  // Held at the recommendation, else at the cheapest valid measurement.
  const held =
    rec ??
    valid.reduce<TrialRecord | null>((a, t) => (a === null || t.measurement.energyPerQueryJ < a.measurement.energyPerQueryJ ? t : a), null)?.config ??
    null;
  if (!held) return { id: 'knobs', heading, paragraphs: [], charts: [], missing: 'The run has no valid measurement, so nothing shows what the knobs do.' };
  const sources = [];
  let from: string;
  if (grid.length > 0) {
    sources.push(gridKnobEffects(landscapePoints(grid), held, 'landscape'));
    from = inputs.grid && inputs.grid.length > 0 ? 'the twin’s exact grid over every CPU clock' : 'the landscape';
  } else if (surrogate?.points) {
    sources.push(gridKnobEffects(surrogate.points, held, 'surrogate'));
    from = 'the run’s surrogates’ predictions (posterior median)';
  } else from = 'the run’s measurements';
  sources.push(measuredKnobEffects(run.trials, held));
  const fx = combineEffects(...sources);
  if (fx.effects.length === 0)
    return {
      id: 'knobs',
      heading,
      paragraphs: describeKnobs(fx, run.model, run.slo.latencyMs),
      charts: [],
      missing: 'Neither a landscape, nor surrogates, nor two measurements that differ in one knob only: give --landscape to see what each knob does.',
    };
  return {
    id: 'knobs',
    heading,
    paragraphs: [
      ...describeKnobs(fx, run.model, run.slo.latencyMs),
      `Each knob is varied over every value ${from === 'the run’s measurements' ? 'the run measured it at, the others unchanged' : `${from} holds, the others held at ${rec ? 'the recommendation' : 'the cheapest measured configuration'} (${formatConfig(held)})`}; ` +
        'ranked by how far energy per query moves (highest over lowest).',
    ],
    charts: [],
  };
}

function paretoSection(inputs: ReportInputs): SectionPlan {
  const { run } = inputs;
  if (!run.trials.some((t) => t.measurement.valid) && !run.baselines.some((b) => b.measurement.valid))
    return { id: 'pareto', heading: 'Energy against latency', paragraphs: [], charts: [], missing: 'The run has no valid measurement to draw.' };
  const spec = paretoChartSpec(run, inputs.landscape);
  return {
    id: 'pareto',
    heading: 'Energy against latency',
    paragraphs: [
      'Each point is a configuration the run measured; the lines join each batch size’s Pareto-optimal points (nothing else of that batch size is both faster and cheaper). ' +
        'Points right of the dashed SLO line are too slow.',
    ],
    charts: [{ id: 'pareto', spec, axisTitles: [`${quantileName(run.slo.quantile)} request latency (ms)`, 'Energy per query (mJ)', 'batch size'] }],
  };
}

function landscapeSection(inputs: ReportInputs, surrogate: SurrogateLandscape | null): SectionPlan {
  const { run } = inputs;
  const fromTwin = inputs.landscape !== undefined && inputs.landscape.length > 0;
  const predicted = surrogate?.points ?? null;
  const kind: 'landscape' | 'surrogate' | 'measured' = fromTwin ? 'landscape' : predicted ? 'surrogate' : 'measured';
  const all: EnergyPoint[] = kind === 'landscape' ? landscapePoints(inputs.landscape!) : (predicted ?? trialPoints(run));
  const batch = kind === 'measured' ? busiestBatch(all, run.recommendation?.config.batch) : heatmapBatch(all);
  const heading = 'Energy landscape';
  const gpuTable = run.device.knobs.gpuHz;
  const emcTable = run.device.knobs.emcHz;
  if (batch === null) return { id: 'landscape', heading, paragraphs: [], charts: [], missing: 'The run has no valid measurement to draw.' };
  const slice = all.filter((p) => p.config.batch === batch);
  const measured = kind === 'measured' ? [] : run.trials.filter((t) => t.config.batch === batch).map((t) => t.config);
  const source: string[] =
    kind === 'landscape'
      ? [`From the twin’s landscape: ${inputs.landscapeSource ?? `${inputs.landscape!.length} configurations`}.`, 'Dots: configurations the run measured.']
      : kind === 'surrogate'
        ? [`Predicted by the run’s fitted surrogates (posterior median) on all ${all.length} configurations.`, 'Dots: configurations the run measured.']
        : ['From measured configurations only: no surrogate prediction is available,', 'so unmeasured cells are blank.'];
  const charts: ChartPlan[] = [];
  const paragraphs: string[] = [];
  const domain = (table: readonly number[] | undefined, key: 'gpuMaxHz' | 'gpuMinHz' | 'emcHz') =>
    table && table.length > 0 ? table : [...new Set(slice.map((p) => p.config[key]).filter((v): v is number => v !== undefined))];

  const best = bestPoint(slice, run.slo.latencyMs);
  // Say what a cell summarises over: the CPU clocks the data holds (one, for the twin's charts and a default landscape).
  const cpus = [...new Set(slice.map((p) => p.config.cpuHz).filter((v): v is number => v !== undefined))];
  const overCpu = cpus.length > 1 ? 'CPU clocks' : cpus.length === 1 ? `CPU clock held at ${Math.round(cpus[0]! / 1e6)} MHz` : undefined;
  const hasGpu = slice.some((p) => p.config.gpuMaxHz !== undefined);
  const hasEmc = slice.some((p) => p.config.emcHz !== undefined);
  if (hasGpu && hasEmc) {
    charts.push({
      id: 'heatmap-gpu-emc',
      spec: heatmapSpec({
        title: `Energy per query over GPU and memory clocks, batch ${batch}`,
        subtitle: [
          cpus.length > 1
            ? 'Each cell: the lowest energy over GPU minimum and CPU clocks.'
            : `Each cell: the lowest energy over GPU minimum clocks${overCpu ? `, ${overCpu}` : ''}.`,
          'Faded: nothing in the cell meets the SLO. Red outline: the best cell.',
          ...source,
        ],
        x: 'gpuMaxHz',
        y: 'emcHz',
        cells: heatCells(slice, 'gpuMaxHz', 'emcHz', run.slo.latencyMs),
        xDomainHz: domain(gpuTable, 'gpuMaxHz'),
        yDomainHz: domain(emcTable, 'emcHz'),
        measured,
        highlight: best?.config ?? null,
        highlightLabel: 'best',
        sloMs: run.slo.latencyMs,
      }),
      axisTitles: ['GPU maximum frequency (MHz)', 'Memory (EMC) frequency (MHz)', 'energy/query (mJ)'],
    });
  }
  if (hasGpu && slice.some((p) => p.config.gpuMinHz !== undefined)) {
    const emc = best?.config.emcHz;
    const atEmc = emc === undefined ? slice : slice.filter((p) => p.config.emcHz === emc);
    const bestHere = bestPoint(atEmc, run.slo.latencyMs);
    charts.push({
      id: 'heatmap-gpu-min-max',
      spec: heatmapSpec({
        title: `Energy per query over GPU minimum and maximum clocks, batch ${batch}`,
        subtitle: [
          `${emc === undefined ? 'Each' : `Memory clock at ${Math.round(emc / 1e6)} MHz (the best cell’s); each`} cell: ${cpus.length > 1 ? 'the lowest energy over CPU clocks' : `one configuration${overCpu ? `, ${overCpu}` : ''}`}.`,
          'Faded: misses the SLO. Red outline: the best cell.',
          ...source,
        ],
        x: 'gpuMaxHz',
        y: 'gpuMinHz',
        cells: heatCells(atEmc, 'gpuMaxHz', 'gpuMinHz', run.slo.latencyMs),
        xDomainHz: domain(gpuTable, 'gpuMaxHz'),
        yDomainHz: domain(gpuTable, 'gpuMinHz'),
        measured: measured.filter((c) => c.emcHz === emc),
        highlight: bestHere?.config ?? null,
        highlightLabel: 'best',
        sloMs: run.slo.latencyMs,
      }),
      axisTitles: ['GPU maximum frequency (MHz)', 'GPU minimum frequency (MHz)', 'energy/query (mJ)'],
    });
  }
  if (charts.length === 0)
    return {
      id: 'landscape',
      heading,
      paragraphs: [],
      charts: [],
      missing: 'This device exposes no GPU and memory clocks, so there is no clock landscape to draw.',
    };
  const whose = { landscape: 'the landscape’s', surrogate: 'the surrogates’ predicted', measured: 'the measured' }[kind];
  if (best)
    paragraphs.push(
      `At batch ${batch} ${whose} lowest energy${best.latencyMs <= run.slo.latencyMs ? ' within the SLO' : ' (nothing met the SLO)'} is ${formatEnergy(best.energyJ)} per query at ${formatConfig(best.config)}.`,
    );
  if (kind === 'landscape' && batch !== 1) paragraphs.push(`The landscape has no batch-1 rows, so the maps show batch ${batch}, its smallest.`);
  if (kind === 'surrogate') paragraphs.push('Predictions are the surrogates’ posterior medians: trust them near the dots, less far from any measurement.');
  if (kind === 'measured')
    paragraphs.push(
      `Without a landscape${surrogate && !surrogate.points ? ` (and ${surrogate.why})` : ''} the maps show what the run measured at batch ${batch}, the batch size it measured most; give --landscape for the whole grid.`,
    );
  const lq = inputs.landscape?.[0]?.tailQuantile;
  if (fromTwin && lq !== undefined && Math.abs(lq - run.slo.quantile) > 1e-9)
    paragraphs.push(`The landscape gives ${quantileName(lq)} latency; feasibility here uses it against the ${quantileName(run.slo.quantile)} SLO.`);
  return { id: 'landscape', heading, paragraphs, charts };
}

function convergenceSection(inputs: ReportInputs): SectionPlan {
  const { run } = inputs;
  const curves: ConvergenceCurve[] = [{ label: `${run.optimizer} (this run)`, bestJ: bestFeasibleSoFar(searchTrials(run.trials)) }];
  for (const other of inputs.compareRuns ?? [])
    curves.push({ label: `${other.optimizer} (run ${other.id.slice(0, 8)})`, bestJ: bestFeasibleSoFar(searchTrials(other.trials)) });
  const bench =
    inputs.benchmark === undefined ? null : curvesFromBenchmark(inputs.benchmark, { model: run.model, device: run.device.id, sloMs: run.slo.latencyMs });
  if (bench) curves.push(...bench.curves);
  const conv: { randomSearch?: ConvergenceInput['randomSearch']; optimumJ?: number; optimumLabel?: string } = {};
  const paragraphs: string[] = [];
  if (bench?.note) paragraphs.push(bench.note);
  // Every curve is drawn over the run's own horizon (a benchmark may give random search far more trials).
  const horizon = Math.max(run.budget, curves[0]!.bestJ.length);
  for (const [i, c] of curves.entries()) if (c.bestJ.length > horizon) curves[i] = { ...c, bestJ: c.bestJ.slice(0, horizon) };
  const landscape = inputs.landscape ?? [];
  if (landscape.length > 0) {
    const feasible = landscape.filter((r) => r.latencyTailMs <= run.slo.latencyMs).map((r) => r.energyPerQueryJ);
    conv.randomSearch = randomSearchQuantiles(feasible, landscape.length, horizon);
    const cpus = new Set(landscape.map((r) => r.cpuHz));
    const heldCpu = cpus.size === 1 && inputs.grid !== undefined ? [...cpus][0] : undefined;
    paragraphs.push(
      `Random search is computed exactly over the landscape’s ${landscape.length} configurations${heldCpu === undefined ? '' : ` at the CPU clock the search held, ${mhzText(heldCpu)}`} (${feasible.length} meet the SLO): the median and quartiles of its best feasible energy after n distinct random trials.`,
    );
  }
  // The reference: the optimum of every configuration the run could search, the CPU clock included.
  const refRows = inputs.grid && inputs.grid.length > 0 ? inputs.grid : landscape;
  const ref = refRows.length > 0 ? referenceOptimum(refRows, run.trials, run.slo.latencyMs) : null;
  const restricted = ref !== null && ref.missing.length > 0;
  if (ref) {
    conv.optimumJ = ref.energyJ;
    conv.optimumLabel = restricted
      ? `landscape optimum ${(ref.energyJ * 1e3).toPrecision(3)} mJ (not global: ${ref.missing.map((m) => KNOB_NOUN[m.knob].plural).join(', ')} missing)`
      : undefined;
    paragraphs.push(
      restricted
        ? `The landscape’s optimum is not the global one: the run measured ${list(ref.missing.map(missingText))}. ` +
            'A run can truly come in below it; for the true optimum give a landscape over every clock the run searched (`polythrottle landscape --cpu all`).'
        : `The optimum (dashed) is the lowest energy meeting the SLO over all ${ref.size} configurations of ${inputs.grid && inputs.grid.length > 0 ? `the twin’s grid over every CPU clock (${ref.feasible} meet the SLO)` : `the landscape (${ref.feasible} meet the SLO)`}: ` +
            `${formatEnergy(ref.energyJ)} per query at ${formatConfig(rowConfig(ref.row))}. It covers every knob value the run measured, so no configuration the run could try is truly cheaper.`,
    );
  }
  const mine = curves[0]!.bestJ;
  const firstFeasible = mine.findIndex((b) => b !== null);
  const final = mine[mine.length - 1] ?? null;
  if (final !== null) {
    let text = `This run first met the SLO at trial ${firstFeasible + 1} and ended at ${formatEnergy(final)} per query`;
    if (ref) {
      const gap = final / ref.energyJ - 1;
      const within = (tol: number) => mine.findIndex((b) => b !== null && b <= ref.energyJ * (1 + tol));
      const w5 = within(0.05);
      const pct = (x: number) => `${(Math.abs(x) * 100).toFixed(1)} %`;
      if (restricted)
        text += `, ${pct(gap)} ${gap >= 0 ? 'above' : 'below'} the landscape’s optimum (${formatEnergy(ref.energyJ)}) over a narrower space than the run searched${gap < 0 ? ': the run found a cheaper configuration outside it' : ''}`;
      else if (gap >= 0) text += `, ${pct(gap)} above the landscape’s optimum (${formatEnergy(ref.energyJ)})`;
      else text += `, ${pct(gap)} below the landscape’s optimum (${formatEnergy(ref.energyJ)}): ${whyBelow(run, refRows, final)}`;
      text += w5 >= 0 ? `; it came within 5 % at trial ${w5 + 1}` : '; it never came within 5 %';
    }
    paragraphs.unshift(`${text}.`);
  } else paragraphs.unshift('No trial of this run met the SLO.');
  if (run.trials.some((t) => !SEARCH_SOURCES.has(t.source)) && run.trials.some((t) => SEARCH_SOURCES.has(t.source)))
    paragraphs.push('Trials count the optimiser’s search only: the CPU phase, baselines and confirmation runs are left out.');
  if (curves.length === 1 && conv.randomSearch === undefined)
    paragraphs.push(
      'Nothing to compare against: give a landscape (--landscape), a random-search run (--compare) or the tuner benchmark (--benchmark) to draw random search beside it.',
    );
  const anything = curves.some((c) => c.bestJ.some((b) => b !== null)) || (conv.randomSearch ?? []).some((r) => r.median !== null);
  if (!anything)
    return {
      id: 'convergence',
      heading: 'Convergence',
      paragraphs,
      charts: [],
      missing: 'Nothing met the SLO — not in this run, nor in any compared run or landscape — so there is no best feasible energy to draw.',
    };
  return {
    id: 'convergence',
    heading: 'Convergence',
    paragraphs,
    charts: [
      {
        id: 'convergence',
        spec: convergenceSpec({
          subtitle: `${run.model} on ${run.device.name}, SLO ${quantileName(run.slo.quantile)} ≤ ${run.slo.latencyMs} ms`,
          curves,
          ...conv,
        }),
        axisTitles: ['Trial number', 'Best feasible energy per query so far (mJ)'],
      },
    ],
  };
}

const mhzText = (hz: number | undefined) => (hz === undefined ? '?' : `${Math.round(hz / 1e6)} MHz`);

const KNOB_NOUN: Readonly<Record<KnobName, { one: string; plural: string }>> = {
  cpuHz: { one: 'CPU clock', plural: 'CPU clocks' },
  gpuMinHz: { one: 'GPU minimum clock', plural: 'GPU minimum clocks' },
  gpuMaxHz: { one: 'GPU maximum clock', plural: 'GPU maximum clocks' },
  emcHz: { one: 'memory clock', plural: 'memory clocks' },
  batch: { one: 'batch size', plural: 'batch sizes' },
};

/** "3 CPU clocks (115, 346 and 576 MHz) it does not hold (it holds 1805 MHz)" */
function missingText(m: MissingKnobValues): string {
  const noun = KNOB_NOUN[m.knob];
  const show = (vs: readonly number[]) => {
    const text = vs.map((v) => (m.knob === 'batch' ? String(v) : String(Math.round(v / 1e6))));
    const shown = text.length > 5 ? `${text.slice(0, 4).join(', ')}, … ${text[text.length - 1]}` : list(text);
    return m.knob === 'batch' ? shown : `${shown} MHz`;
  };
  return `${m.values.length} ${m.values.length === 1 ? noun.one : noun.plural} (${show(m.values)}) the landscape does not hold (it holds ${show(m.gridValues)})`;
}

/**
 * Why the run's best measured energy is below an optimum that covers its whole space: the best trial
 * is truly over the SLO (a window measured it fast enough), or its energy reading is low by noise.
 */
function whyBelow(run: TuningRun, rows: readonly LandscapeRow[], final: number): string {
  const best = searchTrials(run.trials).find((t) => t.feasible && t.measurement.valid && t.measurement.energyPerQueryJ === final);
  const row = best ? rowAt(rows, best.config) : undefined;
  if (!best || !row) return 'the run’s measurements are noisy, the landscape is not';
  const q = quantileName(run.slo.quantile);
  if (row.latencyTailMs > run.slo.latencyMs)
    return `its best trial (${formatConfig(best.config)}) truly misses the SLO (the landscape gives ${q} ${formatMs(row.latencyTailMs)}), but its window measured ${formatMs(best.measurement.latencyTailMs)}`;
  const low = 1 - final / row.energyPerQueryJ;
  return `its best trial (${formatConfig(best.config)}) measured ${formatEnergy(final)}, ${(low * 100).toFixed(1)} % under the landscape’s ${formatEnergy(row.energyPerQueryJ)} for that configuration: measurement noise (± ${(best.measurement.noise.energyCv * 100).toFixed(1)} % per window)`;
}

function timelineSection(inputs: ReportInputs): SectionPlan {
  const heading = 'Fine-tuning timeline';
  const tl = inputs.timeline;
  if (!tl || tl.length === 0)
    return {
      id: 'timeline',
      heading,
      paragraphs: [],
      charts: [],
      missing:
        'No server record was given. Pass --timeline record.json (an array of { t, sloMs, latencyMs, finetuneRunning }) to draw when fine-tuning ran against the SLO.',
    };
  const spans = finetuneSpans(tl);
  const ranFor = spans.reduce((s, x) => s + (x.end - x.start), 0);
  const misses = sloViolations(tl);
  const answered = answeredSamples(tl).length;
  const quiet = tl.length - answered;
  const duration = tl[tl.length - 1]!.t - tl[0]!.t;
  const subtitle = ['Shaded: fine-tuning running. Dashed: the SLO in force.', ...(quiet > 0 ? ['Gaps: no request completed in that window.'] : [])];
  return {
    id: 'timeline',
    heading,
    paragraphs: [
      `Over ${duration.toFixed(0)} s, fine-tuning ran in ${spans.length} stretch${spans.length === 1 ? '' : 'es'} for ${ranFor.toFixed(1)} s in all; ` +
        (answered === 0
          ? `no request completed in any of the ${tl.length} samples, so there is no latency to draw.`
          : `${misses.length} of ${answered} samples with requests missed the SLO in force${misses.length > 0 ? ` (marked ✕; the worst by ${Math.max(...misses.map((m) => m.latencyMs - m.sloMs)).toFixed(0)} ms)` : ''}` +
            (quiet > 0 ? `; in ${quiet} of the ${tl.length} samples no request completed (gaps in the latency line).` : '.')),
    ],
    charts: [{ id: 'timeline', spec: timelineSpec(tl, subtitle), axisTitles: ['Time (s)', 'Latency (ms)'] }],
  };
}

import type { TopLevelSpec } from 'vega-lite';
import { formatConfig } from '../../core/config.ts';
import { paretoFrontBy } from '../../core/pareto.ts';
import type { TuningRun } from '../../core/tuning-run.ts';
import type { LandscapeRow } from '../landscape.ts';
import { quantileName } from '../summary.ts';
import { batchColours, chartConfig, type Layers, mj, SLO_COLOUR, scaleFor } from './chart-style.ts';

export const PARETO_TITLES = {
  title: 'Energy per query against latency',
  x: (q: number) => `${quantileName(q)} request latency (ms)`,
  y: 'Energy per query (mJ)',
} as const;

const BASELINE_SHAPES = ['diamond', 'square', 'triangle-up', 'triangle-down', 'cross', 'triangle-left', 'triangle-right', 'wedge'];

/**
 * Paper Fig. 2: every measured configuration of the run, coloured by batch size, the Pareto frontier
 * of each batch size, the SLO, the recommendation and the baselines; the twin's whole grid, when
 * given, as a faint background.
 */
export function paretoChartSpec(run: TuningRun, landscape?: readonly LandscapeRow[]): TopLevelSpec {
  const trials = run.trials
    .filter((t) => t.measurement.valid)
    .map((t) => ({
      latencyMs: t.measurement.latencyTailMs,
      energyJ: t.measurement.energyPerQueryJ,
      energyMJ: mj(t.measurement.energyPerQueryJ),
      batch: t.config.batch,
      feasible: t.feasible,
      trial: t.index + 1,
      config: formatConfig(t.config),
    }));
  const frontier = [
    ...paretoFrontBy(
      trials,
      (p) => p.energyJ,
      (p) => p.latencyMs,
      (p) => p.batch,
    ),
  ].flatMap(([, f]) => f.map((p, order) => ({ ...p, order })));
  const background = (landscape ?? []).map((r) => ({ latencyMs: r.latencyTailMs, energyMJ: mj(r.energyPerQueryJ) }));
  const baselines = run.baselines
    .filter((b) => b.measurement.valid)
    .map((b) => ({ name: b.name, batch: b.config.batch, latencyMs: b.measurement.latencyTailMs, energyMJ: mj(b.measurement.energyPerQueryJ) }));
  const rec = run.recommendation
    ? [{ latencyMs: run.recommendation.measurement.latencyTailMs, energyMJ: mj(run.recommendation.measurement.energyPerQueryJ), name: 'recommended' }]
    : [];

  const xs = [...trials.map((t) => t.latencyMs), ...baselines.map((b) => b.latencyMs), run.slo.latencyMs];
  const x = { field: 'latencyMs', type: 'quantitative', title: PARETO_TITLES.x(run.slo.quantile), scale: scaleFor(xs) } as const;
  // The y axis spans the measured points and reaches down to the grid's cheapest point in the latency
  // range, so configurations cheaper than anything the run measured are never cut off.
  const xInside = (v: number) => x.scale.domain === undefined || (v >= x.scale.domain[0] && v <= x.scale.domain[1]);
  const gridFloor = background.filter((b) => xInside(b.latencyMs)).map((b) => b.energyMJ);
  const ys = [
    ...trials.map((t) => t.energyMJ),
    ...baselines.map((b) => b.energyMJ),
    ...rec.map((r) => r.energyMJ),
    ...(gridFloor.length > 0 ? [Math.min(...gridFloor)] : []),
  ];
  const y = { field: 'energyMJ', type: 'quantitative', title: PARETO_TITLES.y, scale: scaleFor(ys) } as const;
  const colour = { field: 'batch', type: 'ordinal', title: 'batch size', scale: batchColours(trials.map((t) => t.batch)) } as const;

  const layer: Layers = [];
  // The grid is context: only its part inside the measured ranges is drawn (filtered here, not clipped by
  // vega, because resvg drops marks inside vega's clip paths).
  const inside = (v: number, d: [number, number] | undefined) => d === undefined || (v >= d[0] && v <= d[1]);
  const shown = background.filter((b) => inside(b.latencyMs, x.scale.domain) && inside(b.energyMJ, y.scale.domain));
  if (shown.length > 0)
    layer.push({
      data: { values: shown },
      mark: { type: 'circle', size: 8, color: '#bbbbbb', opacity: 0.3 },
      encoding: { x, y },
    });
  layer.push(
    {
      data: { values: frontier },
      mark: { type: 'line', strokeWidth: 1.6, opacity: 0.9 },
      encoding: { x, y, color: colour, detail: { field: 'batch', type: 'ordinal' }, order: { field: 'order', type: 'quantitative' } },
    },
    ...[true, false].map((feasible) => ({
      data: { values: trials.filter((t) => t.feasible === feasible) },
      mark: { type: 'point' as const, size: 46, strokeWidth: 1.4, filled: feasible, opacity: feasible ? 0.85 : 0.9 },
      encoding: {
        x,
        y,
        color: colour,
        tooltip: [
          { field: 'trial', title: 'trial' },
          { field: 'config', title: 'configuration' },
          { field: 'energyMJ', title: 'mJ/query', format: '.2f' },
          { field: 'latencyMs', title: 'latency ms', format: '.1f' },
        ],
      },
    })),
    {
      data: { values: [{ slo: run.slo.latencyMs, label: `SLO ${run.slo.latencyMs} ms` }] },
      layer: [
        { mark: { type: 'rule', color: SLO_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { x: { field: 'slo', type: 'quantitative' } } },
        {
          mark: { type: 'text', color: SLO_COLOUR, align: 'left', dx: 4, dy: 8, fontSize: 11, baseline: 'top' },
          encoding: { x: { field: 'slo', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    },
  );
  if (baselines.length > 0)
    layer.push({
      data: { values: baselines },
      mark: { type: 'point', size: 80, filled: true, color: '#333333', opacity: 0.9 },
      encoding: {
        x,
        y,
        shape: { field: 'name', type: 'nominal', title: 'baselines', scale: { domain: [...new Set(baselines.map((b) => b.name))], range: BASELINE_SHAPES } },
        tooltip: [{ field: 'name' }, { field: 'batch', title: 'batch' }],
      },
    });
  if (rec.length > 0)
    layer.push({
      data: { values: rec },
      layer: [
        { mark: { type: 'point', shape: 'circle', size: 260, strokeWidth: 2.5, color: '#111111', filled: false }, encoding: { x, y } },
        { mark: { type: 'text', align: 'left', dx: 10, dy: 13, fontSize: 11, fontWeight: 'bold' }, encoding: { x, y, text: { field: 'name' } } },
      ],
    });

  return {
    title: {
      text: PARETO_TITLES.title,
      subtitle: [
        `${run.model} on ${run.device.name} · ${trials.length} measured configurations (hollow: missed the SLO)`,
        `Lines: Pareto frontier per batch size · ring: the recommendation${
          background.length > 0 ? ` · grey: the twin's whole grid (${background.length} configurations)` : ''
        }`,
      ],
    },
    width: 620,
    height: 380,
    config: chartConfig,
    layer,
  };
}

import type { TopLevelSpec } from 'vega-lite';
import type { Config } from '../../core/config.ts';
import type { HeatAxis, HeatCell } from '../heatmap-data.ts';
import { chartConfig, type Layers, mhz, mj } from './chart-style.ts';

export const AXIS_TITLES: Readonly<Record<HeatAxis, string>> = {
  gpuMaxHz: 'GPU maximum frequency (MHz)',
  gpuMinHz: 'GPU minimum frequency (MHz)',
  emcHz: 'Memory (EMC) frequency (MHz)',
};
export const ENERGY_LEGEND = 'energy/query (mJ)';

export interface HeatmapInput {
  readonly title: string;
  readonly subtitle: string | string[];
  readonly x: HeatAxis;
  readonly y: HeatAxis;
  readonly cells: readonly HeatCell[];
  /** Every value each axis can take (the device's table), so unmeasured cells show as gaps. */
  readonly xDomainHz: readonly number[];
  readonly yDomainHz: readonly number[];
  /** Configurations the run measured in this slice, marked with dots. */
  readonly measured: readonly Config[];
  /** The configuration to outline (the best in the slice or the recommendation). */
  readonly highlight: Config | null;
  readonly highlightLabel: string;
  readonly sloMs: number;
}

const STEP = 38;

/** Paper Figs. 3 and 5: energy per query over two clocks; faded cells cannot meet the SLO. */
export function heatmapSpec(h: HeatmapInput): TopLevelSpec {
  const cells = h.cells.map((c) => ({ x: mhz(c.xHz), y: mhz(c.yHz), energyMJ: mj(c.energyJ), feasible: c.feasible }));
  const xDomain = [...new Set(h.xDomainHz.map(mhz))].sort((a, b) => a - b);
  const yDomain = [...new Set(h.yDomainHz.map(mhz))].sort((a, b) => b - a);
  const x = { field: 'x', type: 'ordinal', title: AXIS_TITLES[h.x], scale: { domain: xDomain }, axis: { labelAngle: -45 } } as const;
  // A vertical title longer than the plot pushes the plot down; break it into two lines then.
  const yTitle = AXIS_TITLES[h.y];
  const breakAt = yTitle.lastIndexOf(' ', Math.ceil(yTitle.length / 2) + 2);
  const yTitleLines = yTitle.length * 7 > yDomain.length * STEP && breakAt > 0 ? [yTitle.slice(0, breakAt), yTitle.slice(breakAt + 1)] : yTitle;
  const y = { field: 'y', type: 'ordinal', title: yTitleLines, scale: { domain: yDomain } } as const;
  const energies = cells.map((c) => c.energyMJ);
  const labelled = cells.length > 0 && cells.length <= 64;
  const lo = Math.min(...energies);
  const hi = Math.max(...energies);
  const logColour = energies.length > 0 && hi / lo > 2;
  // Cells in the dark half of viridis get white labels; the half is geometric on a log colour scale.
  const mid = energies.length === 0 ? 0 : logColour ? Math.sqrt(lo * hi) : (lo + hi) / 2;
  // Five legend labels from the lowest to the highest cell, spaced as the colour scale is.
  const legendValues =
    energies.length === 0 || hi === lo
      ? [...new Set(energies)]
      : [0, 0.25, 0.5, 0.75, 1].map((f) => Number((logColour ? lo * (hi / lo) ** f : lo + (hi - lo) * f).toPrecision(3)));

  const layer: Layers = [
    {
      data: { values: cells },
      mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
      encoding: {
        x,
        y,
        color: {
          field: 'energyMJ',
          type: 'quantitative',
          title: ENERGY_LEGEND,
          // A log colour scale when one corner is far costlier, so the differences near the optimum stay visible.
          scale: { scheme: 'viridis', type: logColour ? 'log' : 'linear' },
          // no taller than the plot, or vega pushes the plot down to make room for it
          legend: { format: '.3~r', values: legendValues, gradientLength: Math.max(80, Math.min(200, yDomain.length * STEP)) },
        },
        opacity: { condition: { test: 'datum.feasible', value: 1 }, value: 0.35 },
        tooltip: [
          { field: 'x', title: AXIS_TITLES[h.x] },
          { field: 'y', title: AXIS_TITLES[h.y] },
          { field: 'energyMJ', title: ENERGY_LEGEND, format: '.2f' },
          { field: 'feasible', title: 'meets SLO' },
        ],
      },
    },
  ];
  if (labelled)
    layer.push({
      data: { values: cells },
      mark: { type: 'text', fontSize: 9, baseline: 'middle' },
      encoding: {
        x,
        y,
        text: { field: 'energyMJ', type: 'quantitative', format: '.3r' },
        color: { condition: { test: `datum.energyMJ < ${mid} && datum.feasible`, value: 'white' }, value: '#111111' },
      },
    });
  const measured = h.measured.filter((c) => c[h.x] !== undefined && c[h.y] !== undefined).map((c) => ({ x: mhz(c[h.x]!), y: mhz(c[h.y]!) }));
  if (measured.length > 0)
    layer.push({
      data: { values: measured },
      mark: {
        type: 'point',
        shape: 'circle',
        filled: true,
        size: 14,
        color: 'white',
        stroke: '#111111',
        strokeWidth: 0.8,
        xOffset: -STEP / 2 + 6,
        yOffset: -STEP / 2 + 6,
      },
      encoding: { x, y },
    });
  const hl = h.highlight;
  if (hl && hl[h.x] !== undefined && hl[h.y] !== undefined)
    layer.push({
      data: { values: [{ x: mhz(hl[h.x]!), y: mhz(hl[h.y]!), label: h.highlightLabel }] },
      mark: { type: 'rect', fill: null, stroke: '#e4002b', strokeWidth: 3 },
      encoding: { x, y },
    });

  return {
    title: { text: h.title, subtitle: h.subtitle },
    width: { step: STEP },
    height: { step: STEP },
    config: chartConfig,
    layer,
  };
}

import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT } from '../render.ts';

/** The layers of a layered vega-lite chart. */
export type Layers = NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']>;

/** Shared look: one font, readable sizes, no chart border, white background. */
export const chartConfig = {
  font: CHART_FONT,
  background: 'white',
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 15, fontWeight: 'bold', anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelLimit: 0 },
} as const;

/**
 * Batch-size colours: ordered cool → warm (small batch blue, large batch red) yet far enough apart
 * to tell neighbours from each other; more batch sizes than colours cycle.
 */
const BATCH_PALETTE = ['#253494', '#2c7fb8', '#17becf', '#2ca02c', '#ff7f0e', '#d62728', '#8c2d04', '#7b3294'];

export function batchColours(batches: readonly number[]): { domain: number[]; range: string[] } {
  const domain = [...new Set(batches)].sort((a, b) => a - b);
  return { domain, range: domain.map((_, i) => BATCH_PALETTE[i % BATCH_PALETTE.length]!) };
}

export const SLO_COLOUR = '#d62728';
export const FINETUNE_COLOUR = '#ff9f1c';

/**
 * A scale fitted to the values with a little room at both ends; log when the data spans more than a
 * decade, so both ends stay readable.
 */
export function scaleFor(values: readonly number[]): { type: 'log' | 'linear'; domain?: [number, number]; zero?: false; nice: false } {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  if (pos.length === 0) return { type: 'linear', zero: false, nice: false };
  const lo = Math.min(...pos);
  const hi = Math.max(...pos);
  if (hi / lo > 10) return { type: 'log', domain: [lo / 1.15, hi * 1.15], nice: false };
  const pad = (hi - lo) * 0.08 || lo * 0.1;
  return { type: 'linear', domain: [Math.max(0, lo - pad), hi + pad], zero: false, nice: false };
}

export const mhz = (hz: number): number => Math.round(hz / 1e6);
export const mj = (j: number): number => j * 1e3;

import type { TopLevelSpec } from 'vega-lite';
import { finetuneSpans, sloViolations, type TimelinePoint } from '../finetune-timeline.ts';
import { chartConfig, FINETUNE_COLOUR, type Layers, SLO_COLOUR } from './chart-style.ts';

export const TIMELINE_TITLES = {
  title: 'Fine-tuning beside inference',
  x: 'Time (s)',
  y: 'Latency (ms)',
} as const;

const LAT = 'inference latency';
const SLO = 'latency SLO';

/**
 * Paper Fig. 14: the SLO over time, the inference latency, and when fine-tuning ran. A sample without
 * requests (latency null) breaks the latency line: a gap, not a line drawn through it or a zero.
 */
export function timelineSpec(points: readonly TimelinePoint[], subtitle: string | string[]): TopLevelSpec {
  const spans = finetuneSpans(points);
  const lines = points.flatMap((p) => [
    { t: p.t, ms: p.latencyMs, series: LAT },
    { t: p.t, ms: p.sloMs, series: SLO },
  ]);
  const misses = sloViolations(points).map((p) => ({ t: p.t, ms: p.latencyMs }));
  const colour = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [LAT, SLO], range: ['#1f5fbf', SLO_COLOUR] },
    legend: { orient: 'top', symbolType: 'stroke', symbolStrokeWidth: 2.5 },
  } as const;
  const x = { field: 't', type: 'quantitative', title: TIMELINE_TITLES.x } as const;
  const y = { field: 'ms', type: 'quantitative', title: TIMELINE_TITLES.y } as const;

  const layer: Layers = [];
  if (spans.length > 0)
    layer.push({
      data: { values: spans },
      mark: { type: 'rect', opacity: 0.28, color: FINETUNE_COLOUR },
      encoding: { x: { field: 'start', type: 'quantitative', title: TIMELINE_TITLES.x }, x2: { field: 'end' } },
    });
  layer.push(
    {
      data: { values: lines.filter((l) => l.series === SLO) },
      mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 4], interpolate: 'step-after' },
      encoding: { x, y, color: colour },
    },
    {
      data: { values: lines.filter((l) => l.series === LAT) },
      // Break the line at null samples; the points keep a sample between two gaps visible.
      mark: { type: 'line', strokeWidth: 1.6, invalid: 'break-paths-filter-domains', point: { size: 14, filled: true } },
      encoding: { x, y, color: colour },
    },
  );
  if (misses.length > 0)
    layer.push({ data: { values: misses }, mark: { type: 'point', shape: 'cross', size: 60, filled: true, color: '#000000' }, encoding: { x, y } });
  return {
    title: {
      text: TIMELINE_TITLES.title,
      subtitle: [
        ...(Array.isArray(subtitle) ? subtitle : [subtitle]),
        ...(misses.length > 0 ? [`Crosses: ${misses.length} samples over the SLO in force.`] : []),
      ],
    },
    width: 620,
    height: 280,
    config: chartConfig,
    layer,
  };
}

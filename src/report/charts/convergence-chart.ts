import type { TopLevelSpec } from 'vega-lite';
import type { ConvergenceCurve, RandomSearchStep } from '../convergence.ts';
import { chartConfig, type Layers, mj, scaleFor } from './chart-style.ts';

export const CONVERGENCE_TITLES = {
  title: 'Convergence: best feasible energy against trials',
  x: 'Trial number',
  y: 'Best feasible energy per query so far (mJ)',
} as const;

export interface ConvergenceInput {
  readonly subtitle: string | string[];
  /** Measured curves: this run first, then any compared runs or benchmark medians. */
  readonly curves: readonly ConvergenceCurve[];
  /** Exact random-search quantiles over the landscape, when there is one. */
  readonly randomSearch?: readonly RandomSearchStep[];
  /** The exhaustive optimum of the landscape (J), when there is one. */
  readonly optimumJ?: number;
  /** Its label when it is not the exhaustive optimum of everything the run searched (default "exhaustive optimum … mJ"). */
  readonly optimumLabel?: string | undefined;
}

const RANDOM_LABEL = 'random search (median, 25–75 % band, exact over the grid)';

/** Paper Fig. 4: best feasible energy per query after each trial, CBO beside random search. */
export function convergenceSpec(c: ConvergenceInput): TopLevelSpec {
  const lines = c.curves.flatMap((curve) => curve.bestJ.flatMap((b, i) => (b === null ? [] : [{ trial: i + 1, bestMJ: mj(b), series: curve.label }])));
  const rs = (c.randomSearch ?? []).filter((s) => s.median !== null);
  const median = rs.map((s) => ({ trial: s.trials, bestMJ: mj(s.median!), series: RANDOM_LABEL }));
  const domain = [...c.curves.map((k) => k.label), ...(rs.length > 0 ? [RANDOM_LABEL] : [])];
  const palette = ['#1f5fbf', '#2ca02c', '#9467bd', '#8c564b', '#e377c2'];
  const range = domain.map((d, i) => (d === RANDOM_LABEL ? '#ff7f0e' : palette[i % palette.length]!));
  const colour = { field: 'series', type: 'nominal', title: null, scale: { domain, range }, legend: { orient: 'top', direction: 'vertical' } } as const;
  const x = { field: 'trial', type: 'quantitative', title: CONVERGENCE_TITLES.x, scale: { domainMin: 1 }, axis: { tickMinStep: 1 } } as const;
  // Fit the axis to the curves (and the optimum); the random-search band is clamped to it, since its
  // first quartiles can sit far above everything else.
  const yValues = [...median, ...lines].map((d) => d.bestMJ).concat(c.optimumJ === undefined ? [] : [mj(c.optimumJ)]);
  const yScale = scaleFor(yValues);
  const y = { field: 'bestMJ', type: 'quantitative', title: CONVERGENCE_TITLES.y, scale: yScale } as const;
  // Clamped here rather than clipped by vega: resvg drops marks inside vega's clip paths.
  const [yLo, yHi] = yScale.domain ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const clamp = (v: number) => Math.min(yHi, Math.max(yLo, v));
  const band = rs.filter((s) => s.p25 !== null && s.p75 !== null).map((s) => ({ trial: s.trials, lo: clamp(mj(s.p25!)), hi: clamp(mj(s.p75!)) }));

  const layer: Layers = [];
  if (band.length > 0)
    layer.push({
      data: { values: band },
      mark: { type: 'area', opacity: 0.18, color: '#ff7f0e', interpolate: 'step-after' },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
    });
  layer.push({
    data: { values: [...median, ...lines] },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.2, point: { size: 18 } },
    encoding: { x, y, color: colour },
  });
  if (c.optimumJ !== undefined)
    layer.push({
      data: { values: [{ bestMJ: mj(c.optimumJ), label: c.optimumLabel ?? `exhaustive optimum ${mj(c.optimumJ).toPrecision(3)} mJ` }] },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#333333' }, encoding: { y } },
        {
          mark: { type: 'text', align: 'right', baseline: 'top', dy: 4, fontSize: 10, color: '#333333' },
          encoding: { y, x: { value: 'width' }, text: { field: 'label' } },
        },
      ],
    });
  return {
    title: { text: CONVERGENCE_TITLES.title, subtitle: c.subtitle },
    width: 560,
    height: 320,
    config: chartConfig,
    layer,
  };
}

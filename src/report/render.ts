import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';

/** One chart rendered: the SVG (for the HTML page) and the PNG (for files and the README). */
export interface RenderedChart {
  readonly svg: string;
  readonly png: Buffer;
  /** What vega-lite and vega warned about while compiling and running the spec. */
  readonly warnings: readonly string[];
}

export interface RenderOptions {
  /** PNG pixels per SVG pixel (2 = crisp on high-density screens). */
  readonly scale?: number;
}

/** The font every chart uses; DejaVu Sans is on every Debian/Ubuntu image (fonts-dejavu-core). */
export const CHART_FONT = 'DejaVu Sans';

/** Render a vega-lite spec to SVG with vega's headless renderer, then rasterise it with resvg. */
export async function renderChart(spec: TopLevelSpec, opts: RenderOptions = {}): Promise<RenderedChart> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, _level, args) => {
    warnings.push(args.map(String).join(' '));
  });
  const vgSpec = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT },
    })
      .render()
      .asPng();
    return { svg, png, warnings };
  } finally {
    view.finalize();
  }
}

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolyThrottleError } from '../core/errors.ts';
import { reportHtml } from './html.ts';
import { renderChart } from './render.ts';
import { type ChartId, planReport, type ReportInputs, type ReportPlan } from './report-plan.ts';

export interface RenderedReport {
  readonly plan: ReportPlan;
  readonly html: string;
  /** PNG of each chart drawn. */
  readonly pngs: ReadonlyMap<ChartId, Buffer>;
  /** What vega warned about, per chart ("chart: message"). */
  readonly warnings: readonly string[];
}

export interface RenderReportOptions {
  /** Called before each chart renders (for progress output). */
  readonly onChart?: (id: ChartId, index: number, total: number) => void;
  /** PNG pixels per chart pixel. */
  readonly scale?: number;
  /** Timestamp printed in the footer (defaults to now). */
  readonly generatedAt?: string;
}

/** Plan the report and render every chart to SVG (for the page) and PNG. */
export async function renderReport(inputs: ReportInputs, opts: RenderReportOptions = {}): Promise<RenderedReport> {
  const plan = planReport(inputs);
  const charts = plan.sections.flatMap((s) => s.charts);
  const svgs = new Map<string, string>();
  const pngs = new Map<ChartId, Buffer>();
  const warnings: string[] = [];
  for (const [i, c] of charts.entries()) {
    opts.onChart?.(c.id, i, charts.length);
    try {
      const r = await renderChart(c.spec, { scale: opts.scale ?? 2 });
      svgs.set(c.id, r.svg);
      pngs.set(c.id, r.png);
      warnings.push(...r.warnings.map((w) => `${c.id}: ${w}`));
    } catch (e) {
      throw new PolyThrottleError('INTERNAL', `rendering the ${c.id} chart failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return { plan, html: reportHtml(plan, svgs, opts.generatedAt ?? new Date().toISOString()), pngs, warnings };
}

/** Write report.html and one PNG per chart into `outDir`; returns the paths written. */
export async function writeReport(report: RenderedReport, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const html = join(outDir, 'report.html');
  await writeFile(html, report.html);
  written.push(html);
  for (const [id, png] of report.pngs) {
    const p = join(outDir, `${id}.png`);
    await writeFile(p, png);
    written.push(p);
  }
  return written;
}

/** `polythrottle report <run>`: HTML page + PNG charts of what a tuning run found and why. */
import type { Command } from 'commander';
import pc from 'picocolors';
import { headline } from '../report/summary.ts';
import { loadReportInputs } from '../report/load-inputs.ts';
import { renderReport, writeReport } from '../report/write-report.ts';
import { collect, numberInRange } from './support/flag-parsers.ts';
import { action, verbose } from './support/run-action.ts';

interface ReportCliOptions {
  out?: string;
  db?: string;
  landscape?: string;
  compare?: string[];
  benchmark?: string;
  timeline?: string;
  twin: boolean;
  scale: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('report <run>')
    .description('write a self-contained HTML report and PNG charts of a tuning run: a `tune --json` file, - for stdin, or a stored run/profile id (or latest)')
    .option('--db <file>', 'tuning store to look run ids up in (default: $POLYTHROTTLE_DB or the user data directory)')
    .option('-o, --out <dir>', 'output folder (default: report-<run id>)')
    .option('--landscape <csv>', 'the twin’s exhaustive grid (`polythrottle landscape --out grid.csv`): heatmaps, exact random search, optimum')
    .option('--no-twin', 'do not compute the landscape with the device twin for a run made on it')
    .option('--compare <run.json>', 'another run of the same problem to draw in the convergence chart (repeatable)', collect)
    .option('--benchmark <json>', 'tuner benchmark results (bench/results/tuner.json) to draw in the convergence chart')
    .option('--timeline <json>', 'the server’s fine-tuning record: [{ t, sloMs, latencyMs, finetuneRunning }]')
    .option('--scale <n>', 'PNG pixels per chart pixel', numberInRange('--scale', 0.5, 4, { hiInclusive: true }), 2)
    .option('--json', 'print the files written and the summary as JSON')
    .action(
      action(async (runSource: string, o: ReportCliOptions) => {
        const quiet = o.json === true;
        const inputs = await loadReportInputs({
          run: runSource,
          ...(o.db ? { db: o.db } : {}),
          twin: o.twin,
          ...(quiet
            ? {}
            : {
                onTwinProgress: (done: number, total: number) => process.stderr.write(pc.dim(`\rtwin landscape ${done}/${total}${done === total ? '\n' : ''}`)),
              }),
          ...(o.landscape ? { landscape: o.landscape } : {}),
          ...(o.compare ? { compare: o.compare } : {}),
          ...(o.benchmark ? { benchmark: o.benchmark } : {}),
          ...(o.timeline ? { timeline: o.timeline } : {}),
        });
        const report = await renderReport(inputs, {
          scale: o.scale,
          onChart: quiet ? undefined : (id, i, n) => process.stderr.write(pc.dim(`rendering ${i + 1}/${n}: ${id}\n`)),
        });
        const outDir = o.out ?? `report-${inputs.run.id.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
        const files = await writeReport(report, outDir);
        if (verbose()) for (const w of report.warnings) process.stderr.write(pc.yellow(`warning: ${w}\n`));
        const missing = report.plan.sections.filter((s) => s.missing).map((s) => ({ section: s.id, why: s.missing! }));
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ outDir, files, summary: headline(inputs.run), missing }, null, 2)}\n`);
          return;
        }
        for (const line of headline(inputs.run)) process.stdout.write(`${line}\n`);
        process.stdout.write(`\n${pc.bold('wrote')} ${files.join('\n      ')}\n`);
        for (const m of missing) process.stdout.write(pc.dim(`not drawn (${m.section}): ${m.why}\n`));
      }),
    );
}

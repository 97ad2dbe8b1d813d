/**
 * The report's example: tunes efficientnet-b0 on the simulated AGX Orin with constrained BO and with
 * random search (same budget and seed), then writes the full report — the twin's exact landscape, both
 * runs in the convergence chart and the fine-tuning benchmark's timeline when it exists — and copies
 * one chart into docs/img for the README.
 * Run: npx tsx bench/report-example.ts [outDir]   (default: report-example/)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimTrialRunner } from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';
import { readTimelineFile } from '../src/report/finetune-timeline.ts';
import { twinInputs } from '../src/report/twin-landscape.ts';
import { renderReport, writeReport } from '../src/report/write-report.ts';
import { tune } from '../src/tune/index.ts';

const outDir = process.argv[2] ?? 'report-example';
const model = 'efficientnet-b0';
const slo = { latencyMs: 30, quantile: 0.99 };
const profile = zooProfile(model);

const t0 = performance.now();
const run = await tune({ runner: createSimTrialRunner({ board: 'orin-agx', profile, seed: 1 }), model, slo, budget: 30, seed: 2 });
const random = await tune({ runner: createSimTrialRunner({ board: 'orin-agx', profile, seed: 1 }), model, slo, budget: 30, seed: 2, optimizer: 'random' });
const tTune = performance.now();
// The twin's grid over every CPU clock (the convergence reference) and its slice at the run's CPU clock (the charts).
const land = twinInputs(run);
if (!land.landscape) throw new Error(land.why);
const timelineFile = 'docs/finetune-timeline.json';
const timeline = existsSync(timelineFile) ? await readTimelineFile(timelineFile) : undefined;
const report = await renderReport({
  run,
  landscape: land.landscape,
  landscapeSource: land.landscapeSource,
  grid: land.grid,
  gridSource: land.gridSource,
  compareRuns: [random],
  ...(timeline ? { timeline } : {}),
});
const tRender = performance.now();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(join(outDir, 'random-run.json'), `${JSON.stringify(random, null, 2)}\n`);
const files = await writeReport(report, outDir);
// The README shows the Pareto chart at 1.5× so the image stays small.
const small = await renderReport({ run, landscape: land.landscape, landscapeSource: land.landscapeSource }, { scale: 1.5 });
mkdirSync('docs/img', { recursive: true });
writeFileSync('docs/img/report-pareto.png', small.pngs.get('pareto')!);
console.log(files.join('\n'));
console.log(`tuning (twin, 2 runs): ${((tTune - t0) / 1000).toFixed(1)} s · report: ${((tRender - tTune) / 1000).toFixed(1)} s`);
console.log(report.plan.sections.find((s) => s.id === 'recommendation')!.paragraphs.join('\n'));

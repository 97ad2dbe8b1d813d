/** `polythrottle recommend`: answer a new SLO from a tuned profile, without measuring again. */
import type { Command } from 'commander';
import pc from 'picocolors';
import { formatConfig } from '../core/config.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { readRunSource } from '../store/run-source.ts';
import { defaultDbPath } from '../store/paths.ts';
import { recommendForSlo, type SloAnswer } from '../tune/recommend-for-slo.ts';
import { latencyMs, numberInRange, quantile } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';

interface RecommendCliOptions {
  profile: string;
  /** ms */
  slo: number;
  quantile?: number;
  margin?: number;
  db?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('recommend')
    .description('the best configuration for a new latency SLO, from a tuned profile’s measurements and surrogates (no new measurements)')
    .requiredOption('--profile <id|file>', 'profile or run id (or its first characters) in the store, or a `tune --json` file')
    .requiredOption('--slo <latency>', 'the new SLO, e.g. 80ms', latencyMs('--slo'))
    .option('--quantile <q>', 'quantile of the SLO (must be the one the profile measured; default: the profile’s)', quantile('--quantile'))
    .option('--margin <fraction>', 'latency margin the answer keeps (default: the profile’s)', numberInRange('--margin', 0, 0.5))
    .option('--db <file>', `SQLite store (default: ${defaultDbPath()})`)
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExample:\n  polythrottle recommend --profile 3f2a9c1e --slo 80ms\n  polythrottle recommend --profile run.json --slo 0.03s --json')
    .action(action(async (o: RecommendCliOptions) => runRecommend(o)));
}

async function runRecommend(o: RecommendCliOptions): Promise<void> {
  const run = await readRunSource(o.profile, o.db ?? defaultDbPath());
  const slo = { latencyMs: o.slo, quantile: o.quantile ?? run.slo.quantile };
  const answer = recommendForSlo(run, slo, o.margin === undefined ? {} : { margin: o.margin });
  if (o.json) process.stdout.write(`${JSON.stringify({ run: run.id, profile: run.profileId ?? null, ...answer }, null, 2)}\n`);
  else process.stdout.write(formatAnswer(run, answer));
  if (!answer.measured) process.exitCode = 5;
}

function formatAnswer(run: TuningRun, a: SloAnswer): string {
  const q = `p${+(a.slo.quantile * 100).toFixed(3)}`;
  const out: string[] = [`${run.device.name} · ${run.model} · new SLO ${q} ≤ ${a.slo.latencyMs} ms (tuned for ${run.slo.latencyMs} ms)`];
  if (a.measured) {
    out.push(`${pc.green('measured best')}  ${formatConfig(a.measured.config)}`);
    out.push(
      `               ${a.measured.energyPerQueryJ.toPrecision(4)} J/query · ${q} ${a.measured.latencyTailMs.toFixed(1)} ms (worst of ${a.measured.measurements} measurement${a.measured.measurements > 1 ? 's' : ''})`,
    );
  } else out.push(pc.red(a.infeasibleReason ?? 'infeasible'));
  if (a.predicted && (!a.measured || a.predicted.energyPerQueryJ < a.measured.energyPerQueryJ * 0.99) && !a.predicted.measuredAlready) {
    out.push(`${pc.yellow('predicted')}      ${formatConfig(a.predicted.config)} (not measured)`);
    out.push(
      `               ~${a.predicted.energyPerQueryJ.toPrecision(3)} J/query · ~${a.predicted.latencyTailMs.toFixed(1)} ms · P(meets SLO) ${(a.predicted.probabilityFeasible * 100).toFixed(0)} % — verify with a short tune run`,
    );
  }
  return `${out.join('\n')}\n`;
}

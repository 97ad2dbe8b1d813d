/** `polythrottle recommend`: answer a new SLO from a tuned profile, without measuring again. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import pc from 'picocolors';
import { formatConfig } from '../core/config.ts';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { defaultDbPath } from '../store/paths.ts';
import { readTuningRunFile } from '../store/tuning-run-file.ts';
import { TuningStore } from '../store/tuning-store.ts';
import { recommendForSlo, type SloAnswer } from '../tune/recommend-for-slo.ts';
import { parseLatencyMs, parseQuantile } from '../core/slo.ts';
import { action } from './support/run-action.ts';

interface RecommendCliOptions {
  profile: string;
  slo: string;
  quantile?: string;
  margin?: string;
  db?: string;
  json?: boolean;
}

/** A run from a `tune --json` file, or a profile/run id (prefix) in the store. */
export async function loadRun(ref: string, dbPath: string): Promise<TuningRun> {
  if (ref.endsWith('.json') || existsSync(ref)) return readTuningRunFile(ref);
  if (!existsSync(dbPath)) throw new PolyThrottleError('NOT_FOUND', `no profile "${ref}": the store ${dbPath} does not exist`, { hint: 'run `polythrottle tune` first, or give a `tune --json` file' });
  const store = new TuningStore(dbPath);
  try {
    const run = store.getRun(ref);
    if (!run) {
      const known = store.listProfiles().slice(0, 5).map((p) => `${p.id.slice(0, 8)} (${p.model}, ${p.sloMs} ms)`);
      throw new PolyThrottleError('NOT_FOUND', `no profile or run "${ref}" in ${dbPath}`, {
        hint: known.length ? `recent profiles: ${known.join(', ')}` : 'run `polythrottle tune` first',
      });
    }
    return run;
  } finally {
    store.close();
  }
}

export function register(program: Command): void {
  program
    .command('recommend')
    .description('the best configuration for a new latency SLO, from a tuned profile’s measurements and surrogates (no new measurements)')
    .requiredOption('--profile <id|file>', 'profile or run id (or its first characters) in the store, or a `tune --json` file')
    .requiredOption('--slo <latency>', 'the new SLO, e.g. 80ms')
    .option('--quantile <q>', 'quantile of the SLO (must be the one the profile measured; default: the profile’s)')
    .option('--margin <fraction>', 'latency margin the answer keeps (default: the profile’s)')
    .option('--db <file>', `SQLite store (default: ${defaultDbPath()})`)
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExample:\n  polythrottle recommend --profile 3f2a9c1e --slo 80ms\n  polythrottle recommend --profile run.json --slo 0.03s --json')
    .action(action(async (o: RecommendCliOptions) => runRecommend(o)));
}

async function runRecommend(o: RecommendCliOptions): Promise<void> {
  const run = await loadRun(o.profile, o.db ?? defaultDbPath());
  const slo = { latencyMs: parseLatencyMs(o.slo), quantile: o.quantile === undefined ? run.slo.quantile : parseQuantile(o.quantile) };
  let margin: number | undefined;
  if (o.margin !== undefined) {
    margin = Number(o.margin);
    if (!(margin >= 0 && margin < 0.5)) throw badInput(`--margin must be in [0, 0.5), got ${o.margin}`);
  }
  const answer = recommendForSlo(run, slo, margin === undefined ? {} : { margin });
  if (o.json) process.stdout.write(`${JSON.stringify({ run: run.id, profile: run.profileId ?? null, ...answer }, null, 2)}\n`);
  else process.stdout.write(formatAnswer(run, answer));
  if (!answer.measured) process.exitCode = 5;
}

function formatAnswer(run: TuningRun, a: SloAnswer): string {
  const q = `p${+(a.slo.quantile * 100).toFixed(3)}`;
  const out: string[] = [`${run.device.name} · ${run.model} · new SLO ${q} ≤ ${a.slo.latencyMs} ms (tuned for ${run.slo.latencyMs} ms)`];
  if (a.measured) {
    out.push(`${pc.green('measured best')}  ${formatConfig(a.measured.config)}`);
    out.push(`               ${a.measured.energyPerQueryJ.toPrecision(4)} J/query · ${q} ${a.measured.latencyTailMs.toFixed(1)} ms (worst of ${a.measured.measurements} measurement${a.measured.measurements > 1 ? 's' : ''})`);
  } else out.push(pc.red(a.infeasibleReason ?? 'infeasible'));
  if (a.predicted && (!a.measured || a.predicted.energyPerQueryJ < a.measured.energyPerQueryJ * 0.99) && !a.predicted.measuredAlready) {
    out.push(`${pc.yellow('predicted')}      ${formatConfig(a.predicted.config)} (not measured)`);
    out.push(
      `               ~${a.predicted.energyPerQueryJ.toPrecision(3)} J/query · ~${a.predicted.latencyTailMs.toFixed(1)} ms · P(meets SLO) ${(a.predicted.probabilityFeasible * 100).toFixed(0)} % — verify with a short tune run`,
    );
  }
  return `${out.join('\n')}\n`;
}

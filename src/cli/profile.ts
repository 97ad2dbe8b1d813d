/** `polythrottle profile push|pull|list`: the profile registry, one tuning per board type, L4T, model, precision, runtime and SLO. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import pc from 'picocolors';
import { formatConfig } from '../core/config.ts';
import { pullProfile, pushProfile } from '../fleet/profile-registry.ts';
import { defaultDbPath } from '../store/paths.ts';
import { openStore } from '../store/open-store.ts';
import { readRunSource } from '../store/run-source.ts';
import { action } from './support/run-action.ts';

interface DbOptions {
  db?: string;
}

const dbHelp = `the registry's store: a postgres:// URL shared by the fleet, or a SQLite file (default: ${defaultDbPath()})`;

export function register(program: Command): void {
  const cmd = program.command('profile').description('the profile registry: tuned profiles keyed by board type, L4T, model hash, precision, runtime and SLO');
  cmd
    .command('push <run>')
    .description('add a finished run (an id in the store, `latest`, or a `tune --json` file) to the registry')
    .option('--db <file|url>', dbHelp)
    .option('--from-db <file|url>', 'the store the run is in, when not the registry’s (e.g. the local SQLite file)')
    .option('--l4t <version>', 'L4T version of the boards (default: the run’s device release)')
    .option('--runtime <name>', 'inference runtime (default: twin for simulated boards, else onnxruntime)')
    .action(
      action(async (source: string, o: DbOptions & { fromDb?: string; l4t?: string; runtime?: string }) => {
        const run = await readRunSource(source, o.fromDb ?? o.db ?? defaultDbPath());
        const store = await openStore(o.db ?? defaultDbPath());
        try {
          const r = await pushProfile(store, run, {
            ...(o.l4t === undefined ? {} : { l4t: o.l4t }),
            ...(o.runtime === undefined ? {} : { runtime: o.runtime }),
          });
          process.stdout.write(`${r.key}\n`);
          process.stderr.write(
            pc.dim(`pushed run ${run.id.slice(0, 8)} as version ${r.version}, measured by ${r.boards.length} board(s): ${r.boards.join(', ')}\n`),
          );
        } finally {
          await store.close();
        }
      }),
    );
  cmd
    .command('pull <key>')
    .description('print (or write) the tuning run behind a registry key, as `tune --json` prints it')
    .option('--db <file|url>', dbHelp)
    .option('-o, --out <file>', 'write it to this file')
    .action(
      action(async (key: string, o: DbOptions & { out?: string }) => {
        const store = await openStore(o.db ?? defaultDbPath());
        try {
          const text = `${JSON.stringify(await pullProfile(store, key), null, 2)}\n`;
          if (o.out) writeFileSync(o.out, text);
          else process.stdout.write(text);
        } finally {
          await store.close();
        }
      }),
    );
  cmd
    .command('list')
    .description('the registry’s profiles')
    .option('--db <file|url>', dbHelp)
    .option('--json', 'as JSON')
    .action(
      action(async (o: DbOptions & { json?: boolean }) => {
        const store = await openStore(o.db ?? defaultDbPath());
        try {
          const list = await store.listRegistry();
          if (o.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          if (list.length === 0) return void process.stdout.write(`no profiles in ${store.path}\n`);
          for (const p of list) {
            const rec = (await store.pullProfile(p.key))?.run.recommendation;
            process.stdout.write(
              `${p.key}  ${p.model} · v${p.version} · ${p.boards.length} board(s) · ${p.pushedAt.slice(0, 16)}${rec ? ` · ${formatConfig(rec.config)}` : ''}\n`,
            );
          }
        } finally {
          await store.close();
        }
      }),
    );
  cmd.addHelpText(
    'after',
    `
Examples:
  polythrottle profile push latest --from-db ~/.local/share/polythrottle/polythrottle.db --db postgres://tuner@db.lan/fleet
  polythrottle profile list --db postgres://tuner@db.lan/fleet
  polythrottle serve --profile orin-agx:36.4:3f9c0a1b2c3d:fp16:onnxruntime:p99-50ms --db postgres://tuner@db.lan/fleet`,
  );
}

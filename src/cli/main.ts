#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { reportError } from './support/run-action.ts';

/** Exit code of a command line commander refuses (unknown option, missing argument), like a bad flag value. */
export const USAGE_EXIT_CODE = 2;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('polythrottle')
    .description('Energy-optimal neural-network inference on edge devices under a latency SLO')
    .version('0.1.0')
    .option('-v, --verbose', 'print stack traces and details on errors')
    // Commander's own errors are one line (its "Did you mean …?" joined onto it) and no help dump;
    // exitOverride (inherited by every command registered below) lets runProgram set the exit code.
    .configureOutput({ outputError: (str, write) => write(`${str.trimEnd().replace(/\n+/g, ' ')}\n`) })
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/**
 * Parse the command line and run the command. An error that escapes the command's action — a flag
 * value its parser refused (BAD_INPUT, exit 2) — is reported like the action's own errors.
 * Commander's own errors (unknown option, missing argument) have already printed their one line:
 * they exit with 2; --help and --version exit 0.
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) process.exitCode = commanderExitCode(e);
    else process.exitCode = reportError(e);
  }
}

function commanderExitCode(e: CommanderError): number {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
  // A command with subcommands but none given prints its help on stderr and exits 1.
  if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return e.exitCode;
  return USAGE_EXIT_CODE;
}

/**
 * The CLI's entry: `bin/polythrottle.js` calls it with process.argv however the bin was reached
 * (npx, a global install, npm link, any symlink); `tsx src/cli/main.ts …` runs it directly.
 */
export function main(argv: readonly string[] = process.argv): Promise<void> {
  return runProgram(buildProgram(), argv);
}

/** True when this file is the script node was started with (`tsx src/cli/main.ts`, `npm start`). */
function startedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (startedDirectly()) void main();

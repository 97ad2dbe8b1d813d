#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { commands } from './commands.ts';
import { reportError } from './support/run-action.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('polythrottle')
    .description('Energy-optimal neural-network inference on edge devices under a latency SLO')
    .version('0.1.0')
    .option('-v, --verbose', 'print stack traces and details on errors')
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}

/**
 * Parse the command line and run the command. An error that escapes the command's action — a flag
 * value its parser refused (BAD_INPUT, exit 2) — is reported like the action's own errors.
 * Commander's own errors (unknown option, missing argument) are commander's to report.
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) throw e;
    process.exitCode = reportError(e);
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('polythrottle.js');
if (isMain) void runProgram(buildProgram(), process.argv);

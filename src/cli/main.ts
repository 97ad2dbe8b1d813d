#!/usr/bin/env node
import { Command } from 'commander';
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

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('polythrottle.js');
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      process.exitCode = reportError(e);
    });
}

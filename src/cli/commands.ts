import type { Command } from 'commander';

/** Each CLI command lives in its own file and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

/** The command list. Add one import + one entry per command file. */
export const commands: RegisterCommand[] = [];

import type { Command } from 'commander';
import { register as calibrate } from './calibrate.ts';
import { register as agent } from './agent.ts';
import { register as devices } from './devices.ts';
import { register as finetune } from './finetune.ts';
import { register as landscape } from './landscape.ts';
import { register as models } from './models.ts';
import { register as profile } from './profile.ts';
import { register as restore } from './restore.ts';
import { register as serve } from './serve.ts';
import { register as recommend } from './recommend.ts';
import { register as report } from './report.ts';
import { register as tune } from './tune.ts';
import { register as workload } from './workload.ts';

/** Each CLI command lives in its own file and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

/** The command list. Add one import + one entry per command file. */
export const commands: RegisterCommand[] = [devices, models, restore, serve, report, landscape, finetune, tune, recommend, workload, calibrate, agent, profile];

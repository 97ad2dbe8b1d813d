import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PolyThrottleError } from '../../core/errors.ts';
import { commandsSchema } from '../scheduling/command-runner.ts';

/**
 * The fine-tuning part of the server's configuration file (JSON):
 *
 *   { "db": "finetune.db",
 *     "commands": { "nightly-lora": { "argv": ["python3", "train.py", "--lora"], "cwd": "/srv/ft",
 *                                     "model": "efficientnet-b0", "microBatch": 8 } } }
 *
 * Only the commands listed here can run as `command` jobs; HTTP requests name them.
 */
export const finetuneConfigSchema = z
  .object({
    db: z.string().min(1).optional(),
    commands: commandsSchema.default({}),
  })
  .strict();
export type FinetuneConfig = z.infer<typeof finetuneConfigSchema>;

/** Names an object inherits (`constructor`, `toString`, `__proto__`, …): never a command's name. */
const INHERITED_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * The configuration, its `commands` an object without a prototype: a job naming `constructor` or
 * `__proto__` finds no command there (a plain object would hand it an inherited property).
 */
export function parseFinetuneConfig(data: unknown, origin = 'fine-tuning configuration'): FinetuneConfig {
  const cmds = (data as { commands?: unknown } | null)?.commands;
  if (cmds && typeof cmds === 'object')
    for (const name of Object.keys(cmds)) {
      if (!/^[A-Za-z0-9._-]+$/.test(name))
        throw new PolyThrottleError('BAD_INPUT', `${origin}: command name '${name}' may hold only letters, digits, '.', '_' and '-'`);
      if (INHERITED_NAMES.has(name)) throw new PolyThrottleError('BAD_INPUT', `${origin}: '${name}' is a reserved name; give the command another`);
    }
  const r = finetuneConfigSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new PolyThrottleError('BAD_INPUT', `${origin}: ${i.path.length ? i.path.join('.') : 'top level'}: ${i.message}`);
  }
  const commands: FinetuneConfig['commands'] = Object.create(null);
  for (const [name, spec] of Object.entries(r.data.commands)) if (Object.hasOwn(r.data.commands, name)) commands[name] = spec;
  return { ...r.data, commands };
}

export function loadFinetuneConfig(file: string): FinetuneConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolyThrottleError('NOT_FOUND', `cannot read the fine-tuning configuration ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PolyThrottleError('BAD_INPUT', `${file} is not JSON: ${(e as Error).message}`);
  }
  return parseFinetuneConfig(data, file);
}

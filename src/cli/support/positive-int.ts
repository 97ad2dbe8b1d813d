import { badInput } from '../../core/errors.ts';

/** A flag's value as a positive integer, or a BAD_INPUT error that names the flag and the text. */
export function parsePositiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw badInput(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

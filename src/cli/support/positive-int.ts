import { positiveInt } from './flag-parsers.ts';

/** A flag's value as a positive integer (see flag-parsers.ts, where new code should take it from). */
export function parsePositiveInt(text: string, flag: string): number {
  return positiveInt(flag)(text);
}

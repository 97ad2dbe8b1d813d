import { readFile } from 'node:fs/promises';
import { badInput } from '../core/errors.ts';

/** Read and parse a JSON file, turning a missing file or bad JSON into one clear error. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw badInput(`cannot read ${what} file ${path}${code === 'ENOENT' ? ': no such file' : `: ${(e as Error).message}`}`, undefined, e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badInput(`${what} file ${path} is not valid JSON: ${(e as Error).message}`, undefined, e);
  }
}

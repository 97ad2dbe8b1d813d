/**
 * The architecture as a test (DESIGN.md §3): each top-level folder of src/ is a floor, and an import
 * may only point to a lower floor. A few folders have stricter rules of their own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Floor of each folder: imports go to strictly lower floors (or within the folder). */
const FLOOR: Record<string, number> = {
  numerics: 0,
  optimize: 1,
  core: 2,
  model: 3,
  device: 3,
  store: 3,
  workload: 4,
  measure: 5,
  tune: 6,
  serve: 6,
  finetune: 7,
  fleet: 7,
  report: 7,
  cli: 8,
};

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
  readonly line: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs)$/.test(name) ? [p] : [];
  });
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3]!;
    const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : `npm:${spec}`;
    out.push({ from: relative(SRC, file), to, typeOnly: m[2] !== undefined, line: m[0].trim() });
  }
  return out;
}

const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : '');
const all = sourceFiles(SRC).flatMap(importsOf);

describe('layering', () => {
  it('every folder of src/ has a floor', () => {
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
    expect(folders.filter((f) => FLOOR[f] === undefined)).toEqual([]);
  });

  it('imports point to lower floors only', () => {
    const upward = all.filter((i) => {
      const a = folderOf(i.from);
      const b = folderOf(i.to);
      if (!a || !b || a === b || i.to.startsWith('npm:') || i.to.startsWith('..')) return false;
      return !(FLOOR[b]! < FLOOR[a]!);
    });
    expect(upward.map((i) => `${i.from}: ${i.line}`)).toEqual([]);
  });

  it('numerics imports nothing of the project; optimize only numerics', () => {
    const bad = all.filter(
      (i) =>
        !i.to.startsWith('npm:') &&
        ((folderOf(i.from) === 'numerics' && folderOf(i.to) !== 'numerics') ||
          (folderOf(i.from) === 'optimize' && !['optimize', 'numerics'].includes(folderOf(i.to)))),
    );
    expect(bad.map((i) => `${i.from}: ${i.line}`)).toEqual([]);
  });

  it('only the CLI knows commander and the terminal', () => {
    const bad = all.filter((i) => folderOf(i.from) !== 'cli' && ['npm:commander', 'npm:cli-progress'].includes(i.to));
    expect(bad.map((i) => `${i.from}: ${i.line}`)).toEqual([]);
  });

  it('no command file imports another (shared things live in cli/support)', () => {
    const commandFiles = new Set(all.filter((i) => /^cli\/[^/]+\.ts$/.test(i.from)).map((i) => i.from));
    const allowed = new Set(['cli/commands.ts', 'cli/main.ts']);
    const bad = all.filter((i) => commandFiles.has(i.from) && !allowed.has(i.from) && /^cli\/[^/]+\.ts$/.test(i.to));
    expect(bad.map((i) => `${i.from}: ${i.line}`)).toEqual([]);
  });

  it('fine-tuning takes serve and tune as inputs: it imports only their types and the admin plugin it extends', () => {
    const pluginApi = ['serve/plugins/admin.ts', 'serve/http-error.ts'];
    const bad = all.filter((i) => folderOf(i.from) === 'finetune' && ['serve', 'tune'].includes(folderOf(i.to)) && !i.typeOnly && !pluginApi.includes(i.to));
    expect(bad.map((i) => `${i.from}: ${i.line}`)).toEqual([]);
  });
});

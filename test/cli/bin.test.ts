/**
 * The package's bin works however it is reached: installed from the packed tarball (the symlink
 * `<prefix>/bin/polythrottle` npm makes, as `npm i -g` and `npx` do), and through a symlink of any
 * name (`ln -s bin/polythrottle.js …`, what `npm link` makes too).
 *
 * How the install is built, and why: `npm pack` packs the package exactly as it would be published
 * (package.json `files`, the bin entry). Installing that tarball as it is would fetch ~560 MB of
 * dependencies from the registry and compile better-sqlite3 (minutes, and no offline run). So the
 * test re-packs the tarball's contents with the `dependencies` field removed — nothing else changes
 * — and installs that offline (`--offline --ignore-scripts`, its own npm cache): npm still unpacks
 * the package into `<prefix>/lib/node_modules/polythrottle` and links `<prefix>/bin/polythrottle` to
 * its bin, which is what this test is about. The installed package's `node_modules` is then a
 * symlink to this repository's, which Node resolves from the installed files' real paths. The
 * shared node_modules is only read.
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'pt-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a command; its output and exit code, whatever the code. */
async function sh(file: string, args: string[], cwd = dir, env: NodeJS.ProcessEnv = process.env) {
  try {
    const r = await run(file, args, { cwd, env, maxBuffer: 16 << 20 });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? '', err: x.stderr ?? '', code: typeof x.code === 'number' ? x.code : -1 };
  }
}

const npm = (args: string[], cwd = dir) => sh('npm', [...args, '--cache', join(dir, 'npm-cache'), '--no-audit', '--no-fund', '--ignore-scripts'], cwd);

describe('the installed bin', () => {
  const prefix = join(dir, 'prefix');
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    let t = performance.now();
    const packed = await npm(['pack', repo, '--pack-destination', dir, '--json']);
    expect(packed.code, packed.err).toBe(0);
    const tarball = join(dir, (JSON.parse(packed.out) as { filename: string }[])[0]!.filename);
    timings.pack = performance.now() - t;

    t = performance.now();
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    expect((await sh('tar', ['-xzf', tarball, '-C', unpacked])).code).toBe(0);
    const pkgJson = join(unpacked, 'package', 'package.json');
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as Record<string, unknown>;
    delete pkg.dependencies;
    writeFileSync(pkgJson, JSON.stringify(pkg, null, 2));
    const repacked = await npm(['pack', join(unpacked, 'package'), '--pack-destination', join(dir, 'unpacked'), '--json']);
    expect(repacked.code, repacked.err).toBe(0);
    const stripped = join(unpacked, (JSON.parse(repacked.out) as { filename: string }[])[0]!.filename);
    const installed = await npm(['install', '--global', '--prefix', prefix, '--offline', stripped]);
    expect(installed.code, installed.err).toBe(0);
    symlinkSync(join(repo, 'node_modules'), join(prefix, 'lib', 'node_modules', 'polythrottle', 'node_modules'), 'dir');
    timings.install = performance.now() - t;
  });

  afterAll(() => process.stderr.write(`bin test: npm pack ${timings.pack?.toFixed(0)} ms, re-pack + install ${timings.install?.toFixed(0)} ms\n`));

  it('npm links <prefix>/bin/polythrottle to the packed bin, which runs --help and models list', async () => {
    const link = join(prefix, 'bin', 'polythrottle');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toMatch(/polythrottle[/\\]bin[/\\]polythrottle\.js$/);
    // Run by name through PATH, like a shell after `npm i -g`, from a directory outside the repo.
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    const help = await sh('polythrottle', ['--help'], dir, env);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/^Usage: polythrottle/);
    expect(help.out).toContain('tune');
    const list = await sh('polythrottle', ['models', 'list'], dir, env);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toContain('efficientnet-b0');
  });

  it('the packed files are the package, not the repository (no tests, benchmarks or docs)', async () => {
    const root = join(prefix, 'lib', 'node_modules', 'polythrottle');
    expect(lstatSync(join(root, 'src', 'cli', 'main.ts')).isFile()).toBe(true);
    expect(lstatSync(join(root, 'data', 'boards')).isDirectory()).toBe(true);
    expect(() => lstatSync(join(root, 'test'))).toThrow();
  });

  it('a symlink of any name to bin/polythrottle.js runs the CLI; a bad flag is one line and exit 2', async () => {
    const link = join(dir, 'pt');
    symlinkSync(join(repo, 'bin', 'polythrottle.js'), link);
    const help = await sh(link, ['--help']);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/^Usage: polythrottle/);
    const bad = await sh(link, ['tune', '--sol', '5ms']);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err.trimEnd().split('\n')).toEqual(["error: unknown option '--sol' (Did you mean --slo?)"]);
  });
});

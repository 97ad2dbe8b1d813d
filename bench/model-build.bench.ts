/**
 * Writing a zoo model: the streaming writer (one tensor in memory at a time) against the baseline
 * of encoding the whole model in memory and then writing it. Each variant runs in its own child
 * process so that its peak resident memory (maxRSS) is its own.
 *
 *   npx tsx bench/model-build.bench.ts [model=bert-base] [repeats=2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [model = 'bert-base', repeatsArg = '2'] = process.argv.slice(2);
const repeats = Number(repeatsArg);

if (process.env.PT_BENCH_CHILD) {
  const { buildZooModel } = await import('../src/model/zoo/index.ts');
  const { encodeOnnx, writeOnnxFile } = await import('../src/model/onnx/encode.ts');
  const out = process.env.PT_BENCH_OUT as string;
  const m = buildZooModel(model);
  const t0 = performance.now();
  if (process.env.PT_BENCH_CHILD === 'in-memory') writeFileSync(out, encodeOnnx(m, { seed: 1 }));
  else writeOnnxFile(m, out, { seed: 1 });
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'pt-bench-'));
function run(variant: 'in-memory' | 'streaming'): { ms: number; maxRssMB: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, model, repeatsArg], {
    env: { ...process.env, PT_BENCH_CHILD: variant, PT_BENCH_OUT: join(dir, `${variant}.onnx`) },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${variant} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ms: number; maxRssMB: number };
}

try {
  const rows: string[] = [];
  for (let i = 0; i < repeats; i++) {
    const base = run('in-memory');
    const stream = run('streaming');
    rows.push(
      `| ${model} | ${i + 1} | ${base.ms.toFixed(0)} | ${stream.ms.toFixed(0)} | ${(stream.ms / base.ms).toFixed(2)} | ${base.maxRssMB.toFixed(0)} | ${stream.maxRssMB.toFixed(0)} | ${(stream.maxRssMB / base.maxRssMB).toFixed(2)} |`,
    );
  }
  console.log('| model | run | in-memory ms | streaming ms | time ratio | in-memory maxRSS MB | streaming maxRSS MB | memory ratio |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

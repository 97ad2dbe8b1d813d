/** `polythrottle models list|build|inspect`: the model zoo and the ONNX analyser. */
import { statSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import type { DType } from '../core/workload-profile.ts';
import { ZOO_MODELS, buildModelFile, formatAnalysis, formatZooList, inspectModel } from '../model/index.ts';
import { bytes, si } from '../model/format.ts';
import { integer, positiveInt } from './support/flag-parsers.ts';
import { action } from './support/run-action.ts';
import { dimOption } from './support/workload-flags.ts';

const dtypeOption = () => new Option('--dtype <dtype>', 'weight precision').choices(['fp32', 'fp16']);

export function register(program: Command): void {
  const models = program.command('models').description('the model zoo and the ONNX analyser (FLOPs and bytes per operator)');

  models
    .command('list')
    .description('the zoo with parameters, MACs per sample and native input')
    .option('--json', 'print JSON')
    .action(
      action((o: { json?: boolean }) => {
        if (o.json) {
          const rows = ZOO_MODELS.map((m) => ({
            name: m.name,
            family: m.family,
            params: m.params,
            macs: m.macs,
            nativeInput: m.nativeInput,
            inputShape: m.inputShape,
            description: m.description,
          }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${formatZooList(ZOO_MODELS)}\n`);
      }),
    );

  models
    .command('build <name>')
    .description('write a zoo model as .onnx with deterministic random weights (into the cache unless --out)')
    .option('--batch <n>', 'fixed batch size (default: a symbolic batch dimension)', positiveInt('--batch'))
    .addOption(dtypeOption().default('fp32'))
    .option('--seq <L>', 'sequence length (BERT models; default 128)', positiveInt('--seq'))
    .option('--out <file>', 'output file')
    .option('--seed <n>', 'seed of the random weights', integer('--seed'), 0)
    .option('--external-data', 'store the weights in <file>.data beside the model')
    .action(
      action((name: string, o: { batch?: number; dtype: DType; seq?: number; out?: string; seed: number; externalData?: boolean }) => {
        const t0 = performance.now();
        const bar = new SingleBar({ format: 'writing weights [{bar}] {percentage}% {value}/{total} MB', hideCursor: true, noTTYOutput: false }, undefined);
        let started = false;
        const w = buildModelFile(name, {
          ...o,
          onProgress: (done, total) => {
            if (total < 64e6 || !process.stderr.isTTY) return;
            if (!started) {
              bar.start(Math.round(total / 1e6), 0);
              started = true;
            }
            bar.update(Math.round(done / 1e6));
          },
        });
        if (started) bar.stop();
        const dataSize = w.dataPath ? statSync(w.dataPath).size : 0;
        process.stdout.write(`${w.path}\n`);
        process.stderr.write(
          `${name}: ${si(w.params)} parameters, ${o.dtype}, ${bytes(w.bytes)}${w.dataPath ? ` + ${bytes(dataSize)} external data (${w.dataPath})` : ''}, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      }),
    );

  models
    .command('inspect <model>')
    .description('FLOPs, bytes and arithmetic intensity per operator of an .onnx file or a zoo model')
    .option('--batch <n>', 'batch size the numbers are given at', positiveInt('--batch'), 1)
    .option('--seq <L>', 'sequence length (zoo BERT models)', positiveInt('--seq'))
    .addOption(dtypeOption())
    .addOption(dimOption())
    .option('--top <k>', 'how many operators to list', positiveInt('--top'), 10)
    .option('--json', 'print the whole analysis (every node, the workload profile) as JSON')
    .action(
      action((target: string, o: { batch: number; seq?: number; dtype?: DType; dim?: Record<string, number>; top: number; json?: boolean }) => {
        const a = inspectModel(target, { batch: o.batch, seq: o.seq, dtype: o.dtype, dims: o.dim });
        process.stdout.write(o.json ? `${JSON.stringify(a, null, 2)}\n` : `${formatAnalysis(a, o.top)}\n`);
      }),
    );
}

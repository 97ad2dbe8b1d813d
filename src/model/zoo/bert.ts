/**
 * BERT encoders (Devlin et al. 2019) the way transformer exporters write them at opset 17:
 * embeddings (word + position + token type, LayerNormalization), per layer Q/K/V MatMul+Add,
 * multi-head attention via Reshape/Transpose/MatMul/Softmax with the additive mask, output
 * projection, residual + LayerNorm, erf-GELU feed-forward; then the tanh pooler.
 */
import zoo from '../../../data/models/zoo.json' with { type: 'json' };
import { badInput } from '../../core/errors.ts';
import { ElemType } from '../onnx/dtype.ts';
import type { OnnxModel } from '../onnx/graph.ts';
import { GraphBuilder, float, int, ints } from './builder.ts';
import { type BuildOptions, batchDim, floatOutput } from './common.ts';

const cfg = zoo.bert;
export type BertName = keyof typeof cfg.variants;
export const BERT_NAMES = Object.keys(cfg.variants) as BertName[];
export const BERT_DEFAULT_SEQ = cfg.defaultSeq;
export const BERT_MAX_SEQ = cfg.maxPositions;

export function checkSeq(seq: number): number {
  if (!Number.isInteger(seq) || seq < 1 || seq > cfg.maxPositions) {
    throw badInput(`sequence length must be an integer from 1 to ${cfg.maxPositions}, got ${seq}`);
  }
  return seq;
}

export function buildBert(name: BertName, o: BuildOptions = {}): OnnxModel {
  const v = cfg.variants[name];
  const L = checkSeq(o.seq ?? cfg.defaultSeq);
  const H = v.hidden;
  const heads = v.heads;
  const dh = H / heads;
  const b = new GraphBuilder(name, o.dtype ?? 'fp32');
  const N = batchDim(o);
  const ids = b.input('input_ids', ElemType.INT64, [N, L]);
  const mask = b.input('attention_mask', ElemType.INT64, [N, L]);
  const types = b.input('token_type_ids', ElemType.INT64, [N, L]);
  const eps = { axis: int(-1), epsilon: float(1e-12) };
  const layerNorm = (x: string, name: string) => {
    const g = b.weight(`${name}.weight`, [H], { kind: 'constant', value: 1 });
    const beta = b.weight(`${name}.bias`, [H], { kind: 'constant', value: 0 });
    return b.node('LayerNormalization', [x, g, beta], eps, name);
  };

  // Embeddings.
  const wordEmb = b.weight('embeddings.word_embeddings.weight', [cfg.vocab, H], { kind: 'random', std: 0.02 });
  const posEmb = b.weight('embeddings.position_embeddings.weight', [cfg.maxPositions, H], { kind: 'random', std: 0.02 });
  const typeEmb = b.weight('embeddings.token_type_embeddings.weight', [cfg.typeVocab, H], { kind: 'random', std: 0.02 });
  const positions = b.int64Filled('embeddings.position_ids', [1, L], { kind: 'range' });
  let x = b.node(
    'Add',
    [b.node('Gather', [wordEmb, ids], {}, 'embeddings.word'), b.node('Gather', [posEmb, positions], {}, 'embeddings.position')],
    {},
    'embeddings.sum',
  );
  x = b.node('Add', [x, b.node('Gather', [typeEmb, types], {}, 'embeddings.token_type')], {}, 'embeddings.sum');
  x = layerNorm(x, 'embeddings.LayerNorm');

  // Additive attention mask: (1 − mask) · −10000, shaped [N, 1, 1, L].
  const maskF = b.node('Cast', [mask], { to: int(b.floatType) }, 'mask.float');
  const inverted = b.node('Sub', [b.scalar('one', 1), maskF], {}, 'mask.inverted');
  const additive = b.node('Mul', [inverted, b.scalar('mask.min', -10000)], {}, 'mask.additive');
  const maskBias = b.node('Unsqueeze', [additive, b.int64('mask.axes', [1, 2])], {}, 'mask.bias');

  const headsShape = b.int64('shape.heads', [0, 0, heads, dh]);
  const mergedShape = b.int64('shape.merged', [0, 0, H]);
  const scale = b.scalar('attention.scale', 1 / Math.sqrt(dh));
  const half = b.scalar('gelu.half', 0.5);
  const one = b.scalar('gelu.one', 1);
  const sqrt2 = b.scalar('gelu.sqrt2', Math.SQRT2);
  for (let l = 0; l < v.layers; l++) {
    const p = `encoder.layer.${l}`;
    const split = (t: string, perm: number[], name: string) =>
      b.node('Transpose', [b.node('Reshape', [t, headsShape], {}, `${name}.reshape`)], { perm: ints(perm) }, `${name}.heads`);
    const q = split(b.linear(x, H, H, `${p}.attention.query`), [0, 2, 1, 3], `${p}.attention.query`);
    const k = split(b.linear(x, H, H, `${p}.attention.key`), [0, 2, 3, 1], `${p}.attention.key`);
    const val = split(b.linear(x, H, H, `${p}.attention.value`), [0, 2, 1, 3], `${p}.attention.value`);
    let s = b.node('MatMul', [q, k], {}, `${p}.attention.scores`);
    s = b.node('Mul', [s, scale], {}, `${p}.attention.scaled`);
    s = b.node('Add', [s, maskBias], {}, `${p}.attention.masked`);
    const probs = b.node('Softmax', [s], { axis: int(-1) }, `${p}.attention.probs`);
    let ctx = b.node('MatMul', [probs, val], {}, `${p}.attention.context`);
    ctx = b.node('Transpose', [ctx], { perm: ints([0, 2, 1, 3]) }, `${p}.attention.context.t`);
    ctx = b.node('Reshape', [ctx, mergedShape], {}, `${p}.attention.context.merged`);
    const attnOut = b.linear(ctx, H, H, `${p}.attention.output.dense`);
    x = layerNorm(b.node('Add', [attnOut, x], {}, `${p}.attention.residual`), `${p}.attention.output.LayerNorm`);
    // Feed-forward with GELU(x) = 0.5·x·(1 + erf(x/√2)).
    const hIn = b.linear(x, H, v.intermediate, `${p}.intermediate.dense`);
    const erf = b.node('Erf', [b.node('Div', [hIn, sqrt2], {}, `${p}.gelu.div`)], {}, `${p}.gelu.erf`);
    const gelu = b.node('Mul', [b.node('Mul', [hIn, half], {}, `${p}.gelu.half`), b.node('Add', [erf, one], {}, `${p}.gelu.add`)], {}, `${p}.gelu`);
    const ffOut = b.linear(gelu, v.intermediate, H, `${p}.output.dense`);
    x = layerNorm(b.node('Add', [ffOut, x], {}, `${p}.output.residual`), `${p}.output.LayerNorm`);
  }
  floatOutput(b, x, 'last_hidden_state', [N, L, H]);
  const first = b.node('Gather', [x, b.int64('pooler.first', [0], [])], { axis: int(1) }, 'pooler.first_token');
  const pooled = b.node('Tanh', [b.linear(first, H, H, 'pooler.dense')], {}, 'pooler.tanh');
  floatOutput(b, pooled, 'pooler_output', [N, H]);
  return b.build();
}

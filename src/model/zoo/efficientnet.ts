/** EfficientNet-B0…B7 (Tan & Le 2019): MBConv blocks with squeeze-excitation and SiLU, BN folded. */
import zoo from '../../../data/models/zoo.json' with { type: 'json' };
import type { OnnxModel } from '../onnx/graph.ts';
import { GraphBuilder } from './builder.ts';
import { type BuildOptions, batchDim, floatInput, floatOutput } from './common.ts';

const cfg = zoo.efficientnet;
export type EfficientNetName = keyof typeof cfg.variants;
export const EFFICIENTNET_NAMES = Object.keys(cfg.variants) as EfficientNetName[];

/** The reference implementation's channel rounding: nearest multiple of 8, never 10 % below. */
export function roundFilters(filters: number, width: number): number {
  const f = filters * width;
  let n = Math.max(8, Math.floor((f + 4) / 8) * 8);
  if (n < 0.9 * f) n += 8;
  return n;
}

export const efficientNetResolution = (name: EfficientNetName): number => cfg.variants[name].resolution;

const swish = (b: GraphBuilder, x: string, name: string): string => b.node('Mul', [x, b.node('Sigmoid', [x], {}, `${name}.sigmoid`)], {}, `${name}.silu`);

export function buildEfficientNet(name: EfficientNetName, o: BuildOptions = {}): OnnxModel {
  const v = cfg.variants[name];
  const b = new GraphBuilder(name, o.dtype ?? 'fp32');
  const r = v.resolution;
  const N = batchDim(o);
  let x = floatInput(b, 'input', [N, 3, r, r]);
  let c = roundFilters(cfg.stem, v.width);
  x = swish(b, b.conv(x, 3, c, 3, { stride: 2, name: 'stem' }), 'stem');
  let block = 0;
  for (const s of cfg.stages) {
    const out = roundFilters(s.out, v.width);
    const repeats = Math.ceil(s.repeats * v.depth);
    for (let i = 0; i < repeats; i++) {
      const p = `blocks.${block++}`;
      const stride = i === 0 ? s.stride : 1;
      const inp = x;
      const exp = c * s.expand;
      let h = x;
      if (s.expand !== 1) h = swish(b, b.conv(h, c, exp, 1, { name: `${p}.expand` }), `${p}.expand`);
      h = swish(b, b.conv(h, exp, exp, s.kernel, { stride, groups: exp, name: `${p}.depthwise` }), `${p}.depthwise`);
      const sq = Math.max(1, Math.floor(c * cfg.seRatio));
      let se = b.node('GlobalAveragePool', [h], {}, `${p}.se.pool`);
      se = swish(b, b.conv(se, exp, sq, 1, { name: `${p}.se.reduce` }), `${p}.se.reduce`);
      se = b.node('Sigmoid', [b.conv(se, sq, exp, 1, { name: `${p}.se.expand` })], {}, `${p}.se.gate`);
      h = b.node('Mul', [h, se], {}, `${p}.se.scale`);
      h = b.conv(h, exp, out, 1, { name: `${p}.project` });
      if (stride === 1 && c === out) h = b.node('Add', [h, inp], {}, `${p}.residual`);
      x = h;
      c = out;
    }
  }
  const head = roundFilters(cfg.head, v.width);
  x = swish(b, b.conv(x, c, head, 1, { name: 'head' }), 'head');
  x = b.node('Flatten', [b.node('GlobalAveragePool', [x], {}, 'pool')], {}, 'flatten');
  x = b.gemm(x, head, cfg.classes, 'classifier');
  floatOutput(b, x, 'logits', [N, cfg.classes]);
  return b.build();
}

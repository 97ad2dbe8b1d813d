/** MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks, ReLU6, BN folded. */
import zoo from '../../../data/models/zoo.json' with { type: 'json' };
import type { OnnxModel } from '../onnx/graph.ts';
import { GraphBuilder } from './builder.ts';
import { type BuildOptions, batchDim, floatInput, floatOutput } from './common.ts';

const cfg = zoo['mobilenet-v2'];
export const MOBILENET_V2_RESOLUTION = cfg.resolution;

export function buildMobileNetV2(o: BuildOptions = {}): OnnxModel {
  const b = new GraphBuilder('mobilenet-v2', o.dtype ?? 'fp32');
  const r = cfg.resolution;
  const N = batchDim(o);
  const zero = b.scalar('relu6.min', 0);
  const six = b.scalar('relu6.max', 6);
  const relu6 = (x: string, name: string) => b.node('Clip', [x, zero, six], {}, `${name}.relu6`);
  let x = floatInput(b, 'input', [N, 3, r, r]);
  let c = cfg.stem;
  x = relu6(b.conv(x, 3, c, 3, { stride: 2, name: 'stem' }), 'stem');
  let block = 0;
  for (const s of cfg.stages) {
    for (let i = 0; i < s.repeats; i++) {
      const p = `blocks.${block++}`;
      const stride = i === 0 ? s.stride : 1;
      const exp = c * s.expand;
      let h = x;
      if (s.expand !== 1) h = relu6(b.conv(h, c, exp, 1, { name: `${p}.expand` }), `${p}.expand`);
      h = relu6(b.conv(h, exp, exp, 3, { stride, groups: exp, name: `${p}.depthwise` }), `${p}.depthwise`);
      h = b.conv(h, exp, s.out, 1, { name: `${p}.project` });
      if (stride === 1 && c === s.out) h = b.node('Add', [h, x], {}, `${p}.residual`);
      x = h;
      c = s.out;
    }
  }
  x = relu6(b.conv(x, c, cfg.head, 1, { name: 'head' }), 'head');
  x = b.node('Flatten', [b.node('GlobalAveragePool', [x], {}, 'pool')], {}, 'flatten');
  x = b.gemm(x, cfg.head, cfg.classes, 'classifier');
  floatOutput(b, x, 'logits', [N, cfg.classes]);
  return b.build();
}

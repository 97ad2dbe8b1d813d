/** ResNet-50 v1.5 (He et al. 2016; stride on the 3×3 conv), BN folded into the convolutions. */
import zoo from '../../../data/models/zoo.json' with { type: 'json' };
import type { OnnxModel } from '../onnx/graph.ts';
import { GraphBuilder, ints } from './builder.ts';
import { type BuildOptions, batchDim, floatInput, floatOutput } from './common.ts';

const cfg = zoo['resnet-50'];
export const RESNET50_RESOLUTION = cfg.resolution;

export function buildResNet50(o: BuildOptions = {}): OnnxModel {
  const b = new GraphBuilder('resnet-50', o.dtype ?? 'fp32');
  const r = cfg.resolution;
  const N = batchDim(o);
  const relu = (x: string, name: string) => b.node('Relu', [x], {}, `${name}.relu`);
  let x = floatInput(b, 'input', [N, 3, r, r]);
  x = relu(b.conv(x, 3, cfg.stem, 7, { stride: 2, name: 'stem' }), 'stem');
  x = b.node('MaxPool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, 'stem.maxpool');
  let c = cfg.stem;
  cfg.stages.forEach((s, si) => {
    const out = s.width * cfg.expansion;
    for (let i = 0; i < s.blocks; i++) {
      const p = `layer${si + 1}.${i}`;
      const stride = i === 0 ? s.stride : 1;
      let h = relu(b.conv(x, c, s.width, 1, { name: `${p}.conv1` }), `${p}.conv1`);
      h = relu(b.conv(h, s.width, s.width, 3, { stride, name: `${p}.conv2` }), `${p}.conv2`);
      h = b.conv(h, s.width, out, 1, { name: `${p}.conv3` });
      const shortcut = i === 0 ? b.conv(x, c, out, 1, { stride, name: `${p}.downsample` }) : x;
      x = relu(b.node('Add', [h, shortcut], {}, `${p}.add`), p);
      c = out;
    }
  });
  x = b.node('Flatten', [b.node('GlobalAveragePool', [x], {}, 'pool')], {}, 'flatten');
  x = b.gemm(x, c, cfg.classes, 'fc');
  floatOutput(b, x, 'logits', [N, cfg.classes]);
  return b.build();
}

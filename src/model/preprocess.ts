/** CPU pre-processing cycles per sample, from the model's inputs (constants: data/models/preprocess.json). */
import table from '../../data/models/preprocess.json' with { type: 'json' };
import { isFloatType } from './onnx/dtype.ts';

export interface SampleInput {
  readonly elemType: number;
  /** Per-sample dims (batch dimension removed). */
  readonly dims: readonly number[];
}

/** Which kind of pre-processing an input needs. */
export function inputKind(i: SampleInput): 'image' | 'tokens' | 'none' {
  const d = i.dims;
  const isChannels = (c: number | undefined) => c === 1 || c === 3 || c === 4;
  if (isFloatType(i.elemType) && d.length === 3 && (isChannels(d[0]) || isChannels(d[2]))) return 'image';
  if (!isFloatType(i.elemType) && d.length === 1) return 'tokens';
  return 'none';
}

function imageCycles(dims: readonly number[]): number {
  const chw = dims[0] === 1 || dims[0] === 3 || dims[0] === 4;
  const [c, h, w] = (chw ? dims : [dims[2], dims[0], dims[1]]) as [number, number, number];
  const t = table.image;
  const source = h * t.sourcePerCropSide * (w * t.sourcePerCropSide) * t.sourceAspect;
  return t.decodeCyclesPerSourcePixel * source + t.transformCyclesPerOutputValue * c * h * w;
}

/**
 * Pre-processing cycles for one sample: image decode + resize + normalise for each image input, or
 * tokenisation of the longest token-id input (the other id inputs come from the same pass); 0 when
 * nothing needs preparing.
 */
export function preprocessCyclesPerSample(inputs: readonly SampleInput[]): number {
  let images = 0;
  let tokens = 0;
  for (const i of inputs) {
    const k = inputKind(i);
    if (k === 'image') images += imageCycles(i.dims);
    else if (k === 'tokens') tokens = Math.max(tokens, i.dims[0] ?? 0);
  }
  return Math.round(images + tokens * table.tokens.cyclesPerToken);
}

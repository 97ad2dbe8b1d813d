import { describe, expect, it } from 'vitest';
import { analyzeModel } from '../../src/model/analyze.ts';
import { decodeOnnx } from '../../src/model/onnx/decode.ts';
import { ElemType } from '../../src/model/onnx/dtype.ts';
import { encodeOnnx } from '../../src/model/onnx/encode.ts';
import type { Attribute, GraphNode, OnnxModel, Tensor } from '../../src/model/onnx/graph.ts';

/**
 * A graph written the way PyTorch's exporter writes a transformer's front end: weights and
 * shape constants in Constant nodes, the sequence length taken from Shape at run time, position
 * ids sliced from a buffer, an Expand target computed with ConstantOfShape/Equal/Where, and the
 * extended attention mask built from Unsqueeze/Cast/Sub/Mul.
 */
function exportedGraph(): OnnxModel {
  const i64 = (name: string, vals: number[], dims = [vals.length]): Tensor => {
    const data = new Uint8Array(vals.length * 8);
    const dv = new DataView(data.buffer);
    vals.forEach((v, k) => {
      dv.setBigInt64(k * 8, BigInt(v), true);
    });
    return { name, dims, dataType: ElemType.INT64, data };
  };
  const f32 = (name: string, vals: number[], dims: number[]): Tensor => ({
    name,
    dims,
    dataType: ElemType.FLOAT,
    data: new Uint8Array(Float32Array.from(vals).buffer),
  });
  const constant = (out: string, t: Tensor): GraphNode => ({
    name: `/${out}/Constant`,
    opType: 'Constant',
    domain: '',
    inputs: [],
    outputs: [out],
    attributes: { value: { type: 'TENSOR', value: t } },
  });
  const n = (opType: string, inputs: string[], out: string, attributes: Record<string, Attribute> = {}): GraphNode => ({
    name: `/${out}/${opType}`,
    opType,
    domain: '',
    inputs,
    outputs: [out],
    attributes,
  });
  const H = 8;
  const table = Array.from({ length: 50 * H }, (_, k) => (k % 7) / 10);
  const nodes: GraphNode[] = [
    constant('emb', f32('emb', table, [50, H])),
    constant(
      'pos_buf',
      i64(
        'pos_buf',
        Array.from({ length: 32 }, (_, k) => k),
        [1, 32],
      ),
    ),
    constant('one_i', i64('one_i', [1], [])),
    constant('zero_v', i64('zero_v', [0])),
    constant('one_v', i64('one_v', [1])),
    constant('ax0', i64('ax0', [0])),
    n('Shape', ['input_ids'], 'shape'),
    n('Gather', ['shape', 'one_i'], 'seq', { axis: { type: 'INT', value: 0 } }),
    n('Unsqueeze', ['seq', 'ax0'], 'seq_v'),
    n('Slice', ['pos_buf', 'zero_v', 'seq_v', 'one_v'], 'pos_ids'),
    n('Gather', ['emb', 'input_ids'], 'tok'),
    n('Gather', ['emb', 'pos_ids'], 'pos'),
    n('Add', ['tok', 'pos'], 'x'),
    // Expand the position ids to the batch: target = Where(Equal(shape, -1), 1, shape).
    constant('minus1', i64('minus1', [-1])),
    n('ConstantOfShape', ['two'], 'ones', { value: { type: 'TENSOR', value: i64('v', [1], [1]) } }),
    n('Equal', ['shape', 'minus1'], 'isneg'),
    n('Where', ['isneg', 'ones', 'shape'], 'target'),
    n('Expand', ['pos_ids', 'target'], 'pos_b'),
    // Extended mask [N, 1, 1, L] with the large negative float.
    constant('ax1', i64('ax1', [1])),
    constant('ax2', i64('ax2', [2])),
    n('Unsqueeze', ['attention_mask', 'ax1'], 'm1'),
    n('Unsqueeze', ['m1', 'ax2'], 'm2'),
    n('Cast', ['m2'], 'mf', { to: { type: 'INT', value: ElemType.FLOAT } }),
    constant('onef', f32('onef', [1], [])),
    n('Sub', ['onef', 'mf'], 'inv'),
    constant('big', f32('big', [-3.4e38], [])),
    n('Mul', ['inv', 'big'], 'ext_mask'),
    constant('w', f32('w', new Array(H * H).fill(0.01), [H, H])),
    n('MatMul', ['x', 'w'], 'y'),
  ];
  const withTwo: GraphNode[] = [constant('two', i64('two', [2])), ...nodes];
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'pytorch',
    docString: '',
    graph: {
      name: 'torch_jit',
      nodes: withTwo,
      initializers: [],
      inputs: [
        { name: 'input_ids', elemType: ElemType.INT64, dims: ['batch_size', 'sequence_length'] },
        { name: 'attention_mask', elemType: ElemType.INT64, dims: ['batch_size', 'sequence_length'] },
      ],
      outputs: [
        { name: 'y', elemType: ElemType.FLOAT, dims: ['batch_size', 'sequence_length', H] },
        { name: 'ext_mask', elemType: ElemType.FLOAT, dims: ['batch_size', 1, 1, 'sequence_length'] },
        { name: 'pos_b', elemType: ElemType.INT64, dims: ['batch_size', 'sequence_length'] },
      ],
      valueInfo: [],
    },
  };
}

describe('graphs as exporters write them', () => {
  it('folds run-time shape arithmetic and keeps the batch symbolic', () => {
    const bytes = encodeOnnx(exportedGraph());
    const a = analyzeModel(decodeOnnx(bytes, 'exported.onnx'), { batch: 4, dims: { sequence_length: 12 } });
    expect(a.shapeFailures).toEqual([]);
    expect(a.unmodelled).toEqual([]);
    expect(a.outputs.map((o) => o.shape)).toEqual(['N×12×8', 'N×1×1×12', 'N×12']);
    const shapes = Object.fromEntries(a.nodes.map((x) => [x.name, x.outputShape]));
    expect(shapes['/pos_ids/Slice']).toBe('1×12');
    expect(shapes['/pos/Gather']).toBe('1×12×8');
    expect(shapes['/x/Add']).toBe('N×12×8');
    // Weights kept in Constant nodes are parameters and are read by the MatMul.
    expect(a.params).toBe(50 * 8 + 64 + 2);
    const mm = a.nodes.find((x) => x.opType === 'MatMul');
    expect(mm?.macs).toBe(4 * 12 * 8 * 8);
    expect(mm?.weightBytes).toBe(64 * 4);
    // The position path does not scale with the batch: nothing per sample.
    const pos = a.profile.ops.find((o) => o.name === '/pos/Gather');
    expect(pos).toBeUndefined();
    const tok = a.profile.ops.find((o) => o.name === '/tok/Gather');
    expect(tok?.activationBytesWrittenPerSample).toBe(12 * 8 * 4);
    expect(a.profile.preprocessCyclesPerSample).toBeGreaterThan(0);
  });
});

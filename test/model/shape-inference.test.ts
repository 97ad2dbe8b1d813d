import { describe, expect, it } from 'vitest';
import { analyzeModel } from '../../src/model/analyze.ts';
import { ElemType } from '../../src/model/onnx/dtype.ts';
import type { Attribute } from '../../src/model/onnx/graph.ts';
import { GraphBuilder, float, int, ints } from '../../src/model/zoo/builder.ts';

/** A one-node graph on a [batch, ...dims] float input with the given weights. */
function single(op: string, inDims: number[], weights: { dims: number[] }[], attrs: Record<string, Attribute> = {}) {
  const b = new GraphBuilder('t', 'fp32');
  const x = b.input('x', ElemType.FLOAT, ['batch', ...inDims]);
  const ws = weights.map((w, i) => b.weight(`w${i}`, w.dims, { kind: 'random', std: 0.1 }));
  const y = b.node(op, [x, ...ws], attrs, 'y');
  b.output(y, ElemType.FLOAT, undefined as never);
  return b.build();
}

const node = (m: ReturnType<typeof single>, batch = 1) => {
  const a = analyzeModel(m, { batch });
  return a.nodes[a.nodes.length - 1] as (typeof a.nodes)[0];
};

describe('shape inference and costs per operator', () => {
  it('Conv: strides, pads, dilation and groups', () => {
    const m = single('Conv', [8, 32, 32], [{ dims: [16, 2, 3, 3] }], {
      strides: ints([2, 2]),
      pads: ints([2, 2, 2, 2]),
      dilations: ints([2, 2]),
      group: int(4),
    });
    const n = node(m, 3);
    // (32 + 4 − (2·2+1)) / 2 + 1 = 16
    expect(n.outputShape).toBe('N×16×16×16');
    expect(n.macs).toBe(3 * 16 * 16 * 16 * 2 * 3 * 3);
    expect(n.flops).toBe(2 * n.macs);
    expect(n.weightBytes).toBe(16 * 2 * 9 * 4);
    expect(n.activationBytesRead).toBe(3 * 8 * 32 * 32 * 4);
    expect(n.activationBytesWritten).toBe(3 * 16 * 16 * 16 * 4);
    expect(n.arithmeticIntensity).toBeCloseTo(n.flops / (n.weightBytes + n.activationBytesRead + n.activationBytesWritten));
  });

  it('Conv with SAME_UPPER auto padding and ConvTranspose', () => {
    expect(
      node(single('Conv', [3, 15, 15], [{ dims: [4, 3, 3, 3] }], { auto_pad: { type: 'STRING', value: 'SAME_UPPER' }, strides: ints([2, 2]) })).outputShape,
    ).toBe('N×4×8×8');
    const t = node(single('ConvTranspose', [8, 10, 10], [{ dims: [8, 4, 4, 4] }], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }));
    // 2·(10−1) + 4 − 2 = 20
    expect(t.outputShape).toBe('N×4×20×20');
    expect(t.macs).toBe(8 * 10 * 10 * 4 * 16);
  });

  it('MatMul broadcasts batch dimensions; Gemm honours transB', () => {
    const mm = node(single('MatMul', [4, 10, 32], [{ dims: [32, 7] }]), 2);
    expect(mm.outputShape).toBe('N×4×10×7');
    expect(mm.macs).toBe(2 * 4 * 10 * 7 * 32);
    const g = node(single('Gemm', [64], [{ dims: [10, 64] }, { dims: [10] }], { transB: int(1) }));
    expect(g.outputShape).toBe('N×10');
    expect(g.macs).toBe(640);
    expect(g.flops).toBe(2 * 640 + 10);
  });

  it('pooling, reductions, normalisation and elementwise ops', () => {
    expect(node(single('MaxPool', [4, 9, 9], [], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) })).outputShape).toBe('N×4×4×4');
    expect(node(single('AveragePool', [4, 8, 8], [], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) })).flops).toBe(4 * 4 * 4 * 4);
    expect(node(single('GlobalAveragePool', [4, 8, 8], [])).outputShape).toBe('N×4×1×1');
    const rm = node(single('ReduceMean', [6, 5], [], { axes: ints([-1]), keepdims: int(0) }));
    expect(rm.outputShape).toBe('N×6');
    expect(rm.flops).toBe(30);
    const ln = node(single('LayerNormalization', [6, 5], [{ dims: [5] }, { dims: [5] }], { axis: int(-1), epsilon: float(1e-5) }));
    expect(ln.outputShape).toBe('N×6×5');
    expect(ln.weightBytes).toBe(40);
    expect(node(single('Softmax', [6, 5], [], { axis: int(-1) })).flops).toBe(5 * 30);
    const add = node(single('Add', [6, 5], [{ dims: [5] }]), 4);
    expect(add.outputShape).toBe('N×6×5');
    expect(add.flops).toBe(4 * 30);
    expect(node(single('Erf', [6, 5], [])).flops).toBeGreaterThan(30);
  });

  it('follows Shape → Gather → Concat → Reshape and keeps the batch symbolic', () => {
    const b = new GraphBuilder('dyn', 'fp32');
    const x = b.input('x', ElemType.FLOAT, ['n', 12, 8]);
    const shape = b.node('Shape', [x], {}, 'shape');
    const n = b.node('Gather', [shape, b.int64('zero', [0], [])], { axis: int(0) }, 'n');
    const nn = b.node('Unsqueeze', [n, b.int64('ax', [0])], {}, 'nn');
    const target = b.node('Concat', [nn, b.int64('rest', [-1, 4])], { axis: int(0) }, 'target');
    const y = b.node('Reshape', [x, target], {}, 'y');
    const t = b.node('Transpose', [y], { perm: ints([0, 2, 1]) }, 't');
    const parts = ['p0', 'p1'];
    const s = b.build();
    const split = {
      ...s,
      graph: {
        ...s.graph,
        nodes: [...s.graph.nodes, { name: 'split', opType: 'Split', domain: '', inputs: [t], outputs: parts, attributes: { axis: int(2) } }],
      },
    };
    const a = analyzeModel(split, { batch: 5 });
    const byName = new Map(a.nodes.map((x) => [x.name, x]));
    expect(byName.get('Reshape:y')?.outputShape).toBe('N×24×4');
    expect(byName.get('Transpose:t')?.outputShape).toBe('N×4×24');
    expect(byName.get('split')?.outputShape).toBe('N×4×12');
    expect(a.shapeFailures).toEqual([]);
    // The transpose moves its input and output once per sample.
    expect(byName.get('Transpose:t')?.activationBytesRead).toBe(5 * 96 * 4);
  });

  it('Slice, Pad, Resize, Unsqueeze/Squeeze and Flatten', () => {
    const b = new GraphBuilder('misc', 'fp32');
    const x = b.input('x', ElemType.FLOAT, ['batch', 3, 16, 16]);
    const sl = b.node('Slice', [x, b.int64('st', [1, -10]), b.int64('en', [3, 1000]), b.int64('axes', [1, 3]), b.int64('steps', [1, 2])], {}, 'sl');
    const pad = b.node('Pad', [sl, b.int64('pads', [0, 0, 1, 2, 0, 0, 1, 2])], {}, 'pad');
    const rs = b.node('Resize', [pad, '', b.weight('scales', [4], { kind: 'constant', value: 2 })], { mode: { type: 'STRING', value: 'linear' } }, 'rs');
    const un = b.node('Unsqueeze', [rs, b.int64('uax', [1])], {}, 'un');
    const sq = b.node('Squeeze', [un, b.int64('sax', [1])], {}, 'sq');
    b.node('Flatten', [sq], { axis: int(1) }, 'fl');
    const a = analyzeModel(b.build(), { batch: 2 });
    const shapes = Object.fromEntries(a.nodes.map((n) => [n.name.split(':')[1], n.outputShape]));
    // Slice: channels 1..3 → 2; width −10..end step 2 → 5.
    expect(shapes).toMatchObject({ sl: 'N×2×16×5', pad: 'N×2×18×9' });
    // Resize with scales of 2 on every axis doubles the batch axis too: 2N.
    expect(shapes).toMatchObject({ rs: '2N×4×36×18', un: '2N×1×4×36×18', sq: '2N×4×36×18', fl: '2N×2592' });
    const flatten = a.nodes.find((n) => n.opType === 'Flatten');
    expect(flatten?.activationBytesRead).toBe(0); // a view: no bytes move
  });
});

describe('unmodelled operators', () => {
  it('lists an op without a cost model and still counts the bytes it moves', () => {
    const b = new GraphBuilder('custom', 'fp32');
    const x = b.input('x', ElemType.FLOAT, ['batch', 64]);
    const y = b.node('Relu', [x], {}, 'r');
    const m = b.build();
    const custom = {
      ...m,
      graph: {
        ...m.graph,
        nodes: [...m.graph.nodes, { name: 'mystery', opType: 'FancyAttention', domain: 'com.example', inputs: [y], outputs: ['z'], attributes: {} }],
        valueInfo: [{ name: 'z', elemType: ElemType.FLOAT, dims: ['batch', 32] }],
      },
    };
    const a = analyzeModel(custom, { batch: 2 });
    expect(a.unmodelled).toHaveLength(1);
    expect(a.unmodelled[0]).toMatchObject({ opType: 'FancyAttention', count: 1, nodes: ['mystery'] });
    const n = a.nodes.find((x) => x.name === 'mystery');
    expect(n?.modelled).toBe(false);
    expect(n?.activationBytesRead).toBe(2 * 64 * 4);
    // value_info gave its output shape, so the bytes written are known too.
    expect(n?.activationBytesWritten).toBe(2 * 32 * 4);
    expect(n?.outputShape).toBe('N×32');
    const op = a.profile.ops.find((o) => o.name === 'mystery');
    expect(op?.modelled).toBe(false);
    expect(op?.activationBytesReadPerSample).toBe(64 * 4);
  });

  it('asks for the value of a symbolic non-batch input dimension', () => {
    const b = new GraphBuilder('seq', 'fp32');
    const x = b.input('x', ElemType.FLOAT, ['batch', 'sequence', 16]);
    b.node('Relu', [x], {}, 'r');
    expect(() => analyzeModel(b.build())).toThrow(/symbolic dimension 'sequence'/);
    const a = analyzeModel(b.build(), { dims: { sequence: 10 }, batch: 3 });
    expect(a.nodes[0]?.outputShape).toBe('N×10×16');
    expect(a.totals.flops).toBe(3 * 10 * 16);
  });

  it('analyses a fixed-batch model at another batch when no node depends on the batch', () => {
    const b = new GraphBuilder('fixed', 'fp32');
    const x = b.input('x', ElemType.FLOAT, [4, 10]);
    b.node('Relu', [x], {}, 'r');
    const a = analyzeModel(b.build(), { batch: 8 });
    expect(a.symbolicBatch).toBe(false);
    expect(a.batchOverridden).toBe(true);
    expect(a.batch).toBe(8);
    expect(a.totals.flops).toBe(80);
    expect(a.nodes[0]?.outputShape).toBe('N×10');
    expect(a.notes.join(' ')).toMatch(/fixes its batch at 4; analysed with its leading input dimension set to 8/);
    expect(a.profile.ops[0]?.flopsPerSample).toBe(10);
  });

  it('keeps the fixed batch when a node hard-codes it', () => {
    const b = new GraphBuilder('fixed', 'fp32');
    const x = b.input('x', ElemType.FLOAT, [4, 10]);
    b.node('Relu', [b.node('Reshape', [x, b.int64('shape', [4, 5, 2])], {}, 'r0')], {}, 'r');
    const a = analyzeModel(b.build(), { batch: 8 });
    expect(a.batchOverridden).toBe(false);
    expect(a.batch).toBe(4);
    expect(a.totals.flops).toBe(40);
    expect(a.notes.join(' ')).toMatch(/fixed batch of 4 that a node depends on; --batch 8 is ignored/);
    expect(a.profile.ops.find((o) => o.opType === 'Relu')?.flopsPerSample).toBe(10);
  });
});

describe('quantised and contrib operators', () => {
  it('costs QLinearConv like a Conv on its int8 weights and counts its scales as bytes', () => {
    const b = new GraphBuilder('q', 'fp32');
    const x = b.input('x', ElemType.UINT8, ['batch', 8, 16, 16]);
    const s = b.scalar('s', 0.1);
    const zp = b.int64('zp', [0], []);
    const m = b.build();
    const w = { name: 'w', dims: [16, 8, 3, 3], dataType: ElemType.INT8, fill: { kind: 'random' as const, std: 1 } };
    const node = {
      name: 'qconv',
      opType: 'QLinearConv',
      domain: '',
      inputs: [x, s, zp, 'w', s, zp, s, zp],
      outputs: ['y'],
      attributes: { pads: ints([1, 1, 1, 1]) },
    };
    const q = { ...m, graph: { ...m.graph, initializers: [...m.graph.initializers, w], nodes: [node] } };
    const a = analyzeModel(q, { batch: 2 });
    const n = a.nodes[0];
    expect(n?.outputShape).toBe('N×16×16×16');
    expect(n?.modelled).toBe(true);
    expect(n?.macs).toBe(2 * 16 * 16 * 16 * 8 * 9);
    // int8 weights (1 byte each) plus three fp32 scales and three int64 zero points.
    expect(n?.weightBytes).toBe(16 * 8 * 9 + 3 * 4 + 3 * 8);
    expect(a.unmodelled).toEqual([]);
  });
});

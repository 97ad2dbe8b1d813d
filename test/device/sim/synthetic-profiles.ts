import type { DType, OpCost, WorkloadProfile } from '../../../src/core/workload-profile.ts';

/**
 * Small synthetic workload profiles with the shape of real networks, for testing the twin's physics
 * without the ONNX analyser: a dense ResNet-like CNN (compute-bound) and a depthwise-separable
 * MobileNet-like CNN (memory-bound).
 */

function conv(name: string, cin: number, cout: number, k: number, hw: number, groups: number, bytes: number): OpCost {
  const macs = (hw * hw * cout * (cin / groups) * k * k) as number;
  return {
    name,
    opType: 'Conv',
    macsPerSample: macs,
    flopsPerSample: 2 * macs,
    weightBytes: (cout * (cin / groups) * k * k + cout) * bytes,
    activationBytesReadPerSample: cin * hw * hw * bytes,
    activationBytesWrittenPerSample: cout * hw * hw * bytes,
    modelled: true,
  };
}

function pointwise(name: string, opType: string, elems: number, bytes: number): OpCost {
  return {
    name,
    opType,
    macsPerSample: 0,
    flopsPerSample: elems,
    weightBytes: 0,
    activationBytesReadPerSample: elems * bytes,
    activationBytesWrittenPerSample: elems * bytes,
    modelled: true,
  };
}

/** ResNet-50-like: ~4 GMAC, ~25 M parameters, 224×224 input. */
export function denseCnn(dtype: DType = 'fp16'): WorkloadProfile {
  const b = dtype === 'fp16' ? 2 : 4;
  const ops: OpCost[] = [conv('stem', 3, 64, 7, 112, 1, b)];
  const stages: [number, number, number, number][] = [
    [64, 256, 56, 3],
    [128, 512, 28, 4],
    [256, 1024, 14, 6],
    [512, 2048, 7, 3],
  ];
  let cin = 64;
  stages.forEach(([mid, out, hw, blocks], s) => {
    for (let i = 0; i < blocks; i++) {
      ops.push(conv(`s${s}b${i}a`, cin, mid, 1, hw, 1, b));
      ops.push(pointwise(`s${s}b${i}ra`, 'Relu', mid * hw * hw, b));
      ops.push(conv(`s${s}b${i}b`, mid, mid, 3, hw, 1, b));
      ops.push(pointwise(`s${s}b${i}rb`, 'Relu', mid * hw * hw, b));
      ops.push(conv(`s${s}b${i}c`, mid, out, 1, hw, 1, b));
      if (i === 0) ops.push(conv(`s${s}b${i}proj`, cin, out, 1, hw, 1, b));
      ops.push(pointwise(`s${s}b${i}add`, 'Add', out * hw * hw, b));
      ops.push(pointwise(`s${s}b${i}rc`, 'Relu', out * hw * hw, b));
      cin = out;
    }
  });
  ops.push({ ...conv('fc', 2048, 1000, 1, 1, 1, b), opType: 'Gemm' });
  return finish('dense-cnn', dtype, ops, 3 * 224 * 224 * b, 3.0e7);
}

/** MobileNet/EfficientNet-like: depthwise-separable blocks, ~0.4 GMAC, low arithmetic intensity. */
export function depthwiseCnn(dtype: DType = 'fp16'): WorkloadProfile {
  const b = dtype === 'fp16' ? 2 : 4;
  const ops: OpCost[] = [conv('stem', 3, 32, 3, 112, 1, b)];
  const stages: [number, number, number][] = [
    [32, 112, 2],
    [96, 56, 3],
    [144, 28, 3],
    [240, 14, 4],
    [480, 14, 4],
    [672, 7, 4],
    [1152, 7, 2],
  ];
  let cin = 32;
  stages.forEach(([c, hw, blocks], s) => {
    for (let i = 0; i < blocks; i++) {
      const e = Math.min(c * 6, 1152);
      ops.push(conv(`s${s}b${i}exp`, cin, e, 1, hw, 1, b));
      ops.push(pointwise(`s${s}b${i}sig1`, 'Sigmoid', e * hw * hw, b));
      ops.push(pointwise(`s${s}b${i}mul1`, 'Mul', e * hw * hw, b));
      ops.push(conv(`s${s}b${i}dw`, e, e, 3, hw, e, b));
      ops.push(pointwise(`s${s}b${i}sig2`, 'Sigmoid', e * hw * hw, b));
      ops.push(pointwise(`s${s}b${i}mul2`, 'Mul', e * hw * hw, b));
      ops.push({ ...pointwise(`s${s}b${i}gap`, 'GlobalAveragePool', e * hw * hw, b), activationBytesWrittenPerSample: e * b });
      ops.push(conv(`s${s}b${i}proj`, e, c, 1, hw, 1, b));
      if (cin === c) ops.push(pointwise(`s${s}b${i}add`, 'Add', c * hw * hw, b));
      cin = c;
    }
  });
  ops.push(conv('head', cin, 1280, 1, 7, 1, b));
  ops.push({ ...conv('fc', 1280, 1000, 1, 1, 1, b), opType: 'Gemm' });
  return finish('depthwise-cnn', dtype, ops, 3 * 224 * 224 * b, 3.0e7);
}

function finish(model: string, dtype: DType, ops: OpCost[], inputBytes: number, pre: number): WorkloadProfile {
  const params = ops.reduce((s, o) => s + o.weightBytes, 0) / (dtype === 'fp16' ? 2 : 4);
  return { model, dtype, ops, inputBytesPerSample: inputBytes, params, preprocessCyclesPerSample: pre };
}

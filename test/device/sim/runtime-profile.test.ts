import { describe, expect, it } from 'vitest';
import { BOARDS, RUNTIMES, applyRuntime, boardRuntime, evaluateConfig, loadBoard, loadRuntime, runtimePrecision } from '../../../src/device/sim/index.ts';
import { prepareProfile } from '../../../src/device/sim/service-table.ts';
import { zooProfile } from '../../../src/model/zoo/index.ts';

const top = (a: readonly number[]) => a[a.length - 1]!;
const pinMax = (board: ReturnType<typeof loadBoard>, batch: number) => {
  const g = top(board.gpu.freqsHz);
  return { cpuHz: top(board.cpu.freqsHz), gpuMinHz: g, gpuMaxHz: g, emcHz: top(board.emc.freqsHz), batch };
};

describe('runtime profiles are data with their sources', () => {
  for (const name of RUNTIMES)
    it(`${name}: loads, and every constant names its source`, () => {
      const r = loadRuntime(name);
      expect(r.name).toBe(name);
      const keys = Object.keys(r.sources).join(' ');
      expect(keys).toContain('defaultPrecision');
      for (const field of ['dispatch', 'fusion', 'kernels']) expect(keys).toContain(field);
      for (const text of Object.values(r.sources)) expect(text.length).toBeGreaterThan(20);
    });

  it('an unknown runtime is a BAD_INPUT naming the known ones', () => {
    expect(() => loadRuntime('tflite')).toThrow(/unknown runtime 'tflite'.*/);
    try {
      loadRuntime('tflite');
    } catch (e) {
      expect((e as { code: string; hint: string }).code).toBe('BAD_INPUT');
      expect((e as { hint: string }).hint).toContain('pytorch');
    }
  });

  it('default precisions: the fused engine fp16, ONNX Runtime and eager PyTorch fp32', () => {
    expect(runtimePrecision('tensorrt')).toBe('fp16');
    expect(runtimePrecision('onnxruntime')).toBe('fp32');
    expect(runtimePrecision('pytorch')).toBe('fp32');
  });
});

describe('applying a runtime to a board', () => {
  it('the fused engine is the board as loaded: the same object, so every result and digest stays the same', () => {
    for (const b of BOARDS) {
      const board = loadBoard(b);
      expect(applyRuntime(board, 'tensorrt')).toBe(board);
      expect(boardRuntime(board)).toBe('tensorrt');
    }
  });

  it('other runtimes give a new spec that names them, cached per board', () => {
    const board = loadBoard('orin-agx');
    const eager = applyRuntime(board, 'pytorch');
    expect(eager).not.toBe(board);
    expect(applyRuntime(board, 'pytorch')).toBe(eager);
    expect(boardRuntime(eager)).toBe('pytorch');
    expect(eager.displayName).toContain('PyTorch');
    expect(eager.runtime.launchCycles).toBeGreaterThan(board.runtime.launchCycles * 10);
  });

  it('eager PyTorch runs BatchNorm, activations and adds as kernels of their own', () => {
    const board = loadBoard('orin-agx');
    const r50 = zooProfile('resnet-50', { dtype: 'fp16' });
    const fused = prepareProfile(r50, board);
    const eager = prepareProfile(r50, applyRuntime(board, 'pytorch'));
    const convs = r50.ops.filter((o) => o.opType === 'Conv').length;
    // Exported graphs have BatchNorm folded away: eager gets one back per convolution.
    expect(eager.n).toBe(fused.n + convs);
    // Every op is a kernel of its own; the engine fuses most elementwise ones.
    expect(eager.kernels).toBe(eager.n);
    expect(fused.kernels).toBeLessThan(fused.n - 40);
  });
});

describe('runtimes against published measurements', () => {
  it('eager PyTorch at batch 1 is several times the fused engine for CNNs: within 2× of torch2trt on AGX Xavier (5.3× ResNet-50, 9.2× MobileNetV2)', () => {
    const board = loadBoard('xavier-nx');
    for (const [model, measured] of [
      ['resnet-50', 17.9 / 3.37],
      ['mobilenet-v2', 15.4 / 1.67],
    ] as const) {
      const lo = measured / 2;
      const hi = measured * 2;
      const p = zooProfile(model, { dtype: 'fp16' });
      const trt = evaluateConfig(board, p, pinMax(board, 1), { onlineCpus: board.cpu.cores });
      const torch = evaluateConfig(applyRuntime(board, 'pytorch'), p, pinMax(board, 1), { onlineCpus: board.cpu.cores });
      const ratio = torch.serviceMs / trt.serviceMs;
      expect(ratio).toBeGreaterThan(lo);
      expect(ratio).toBeLessThan(hi);
    }
  });

  it('ONNX Runtime sits between the fused engine and eager PyTorch at batch 1', () => {
    const board = loadBoard('orin-agx');
    const p = zooProfile('resnet-50', { dtype: 'fp16' });
    const at = (rt: string) => evaluateConfig(applyRuntime(board, rt), p, pinMax(board, 1)).serviceMs;
    expect(at('onnxruntime')).toBeGreaterThan(at('tensorrt'));
    expect(at('onnxruntime')).toBeLessThan(at('pytorch'));
  });

  it('on an eager stack energy per sample falls much more steeply with batch than on the fused engine (ResNet-50, AGX Orin)', () => {
    const board = loadBoard('orin-agx');
    const p = zooProfile('resnet-50', { dtype: 'fp16' });
    const drop = (rt: string) => {
      const b = applyRuntime(board, rt);
      return evaluateConfig(b, p, { batch: 64 }).energyPerQueryJ / evaluateConfig(b, p, { batch: 1 }).energyPerQueryJ;
    };
    expect(drop('pytorch')).toBeLessThan(0.5);
    expect(drop('pytorch')).toBeLessThan(drop('tensorrt') * 0.6);
  });

  it('eager fp32 on Ampere runs convolutions in TF32 on tensor cores: ResNet-50 energy per sample more than halves from batch 1 to 64', () => {
    const board = loadBoard('orin-agx');
    const p = zooProfile('resnet-50', { dtype: 'fp32' });
    const eager = applyRuntime(board, 'pytorch');
    expect(evaluateConfig(eager, p, { batch: 64 }).energyPerQueryJ / evaluateConfig(eager, p, { batch: 1 }).energyPerQueryJ).toBeLessThan(0.5);
    // TF32 needs Ampere: the Volta Xavier NX runs the same fp32 convolutions on CUDA cores.
    const nx = loadBoard('xavier-nx');
    const nxEager = applyRuntime(nx, 'pytorch');
    const at = (b: ReturnType<typeof loadBoard>) => evaluateConfig(b, p, pinMax(nx, 64)).serviceMs;
    expect(at(nxEager)).toBeGreaterThan(at(nx));
    const orinAt = (b: ReturnType<typeof loadBoard>) => evaluateConfig(b, p, pinMax(board, 64)).serviceMs;
    expect(orinAt(eager)).toBeLessThan(orinAt(board));
  });
});

describe('power at full load inside the published envelope', () => {
  // calibration.md §3.2: AGX Orin 64GB maximum module power up to 60 W (data sheet, quoted by NVIDIA);
  // GPU stress in MAXN read 40.4 W on VDD_GPU_SOC. Heavy inference at MAXN must land between them.
  it('AGX Orin: heavy fp32 inference at MAXN clocks reads 45–60 W on the module rails, VDD_GPU_SOC near the GPU-stress reading', () => {
    const board = loadBoard('orin-agx');
    for (const model of ['resnet-50', 'bert-large']) {
      const e = evaluateConfig(board, zooProfile(model, { dtype: 'fp32' }), pinMax(board, 16));
      expect(e.powerW).toBeGreaterThan(45);
      expect(e.powerW).toBeLessThanOrEqual(60);
      expect(Math.abs(e.railsW.VDD_GPU_SOC! / 40.4 - 1)).toBeLessThan(0.1);
    }
  });

  it('no board, runtime or zoo model exceeds its envelope at MAXN clocks', () => {
    for (const b of BOARDS) {
      const board = loadBoard(b);
      for (const rt of RUNTIMES)
        for (const model of ['resnet-50', 'bert-base', 'efficientnet-b4'])
          for (const dtype of ['fp16', 'fp32'] as const) {
            const e = evaluateConfig(applyRuntime(board, rt), zooProfile(model, { dtype }), pinMax(board, 16), { onlineCpus: board.cpu.cores });
            expect(e.powerW).toBeLessThanOrEqual(board.envelopeW);
          }
    }
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import type { WorkloadProfile } from '../../../src/core/workload-profile.ts';
import { BOARDS, computeLandscape, createSimDevice, evaluateConfig, loadBoard, presetsOf } from '../../../src/device/sim/index.ts';
import { zooProfile } from '../../../src/model/zoo/index.ts';

/**
 * Calibration of the twin against published facts (reference: calibration.md, paper-notes.md).
 * Profiles are the zoo's, in fp16 (the paper ran TensorRT-style fp16 engines; MLPerf numbers are INT8,
 * so fp16 latencies must sit at or above them).
 */
const MODELS = ['efficientnet-b0', 'efficientnet-b4', 'efficientnet-b7', 'resnet-50', 'bert-base', 'bert-large', 'mobilenet-v2'];
const P: Record<string, WorkloadProfile> = {};
beforeAll(() => {
  for (const m of MODELS) P[m] = zooProfile(m, { dtype: 'fp16' });
});
const top = (a: readonly number[]) => a[a.length - 1]!;
const pinMax = (board: string) => {
  const g = loadBoard(board).gpu.freqsHz;
  return { gpuMinHz: top(g), gpuMaxHz: top(g) };
};

describe('calibration: the default is not the energy optimum', () => {
  // Paper (arXiv 2310.19991): up to 36 % saving; the target band: 15–50 % at a loose SLO against all
  // clocks at maximum (jetson_clocks) at the optimum's batch size.
  for (const board of ['orin-agx', 'tx2'])
    for (const model of ['efficientnet-b0', 'efficientnet-b4', 'efficientnet-b7', 'bert-base'])
      it(`${model} on ${board}: the loose-SLO optimum saves 15–50 %`, () => {
        const l = computeLandscape({ board, profile: P[model]! });
        const best = l.rows.reduce((a, r) => (r.energy_per_query_j < a.energy_per_query_j ? r : a));
        const dflt = evaluateConfig(board, P[model]!, { ...pinMax(board), batch: best.batch });
        const saving = 1 - best.energy_per_query_j / dflt.energyPerQueryJ;
        expect(saving).toBeGreaterThanOrEqual(0.15);
        expect(saving).toBeLessThanOrEqual(0.5);
        expect(best.gpu_max_hz).toBeLessThan(top(loadBoard(board).gpu.freqsHz));
      });
});

describe('calibration: EMC frequency matters more for memory-bound models', () => {
  for (const board of BOARDS)
    it(`on ${board}, energy sensitivity to EMC falls as the compute-bound share rises`, () => {
      const b = loadBoard(board);
      const emcTop = top(b.emc.freqsHz);
      const emcMid = b.emc.freqsHz.find((x) => x >= emcTop / 2)!;
      const share: number[] = [];
      const sens: number[] = [];
      for (const m of MODELS) {
        const at = (emcHz: number) => evaluateConfig(b, P[m]!, { ...pinMax(board), emcHz, batch: 16 });
        const hi = at(emcTop);
        share.push(hi.computeBoundShare);
        sens.push(at(emcMid).energyPerQueryJ / hi.energyPerQueryJ);
      }
      // Rank models by the twin's own compute-bound share: the three most memory-bound must all react
      // more to the EMC clock than the three most compute-bound.
      const order = MODELS.map((_, i) => i).sort((i, j) => share[i]! - share[j]!);
      const memoryBound = order.slice(0, 3).map((i) => sens[i]!);
      const computeBound = order.slice(-3).map((i) => sens[i]!);
      expect(Math.min(...memoryBound)).toBeGreaterThan(Math.max(...computeBound));
      // The depthwise EfficientNet-B4 reacts more than the dense ResNet-50.
      expect(sens[MODELS.indexOf('efficientnet-b4')]!).toBeGreaterThan(sens[MODELS.indexOf('resnet-50')]!);
    });
});

describe('calibration: a higher GPU minimum lowers energy at batch 1 for a small model', () => {
  // Paper Fig. 3 (right): "As we increase the minimum GPU frequency, energy cost decreases."
  for (const board of ['orin-agx', 'tx2', 'xavier-nx', 'orin-nano'])
    for (const model of ['efficientnet-b0', 'mobilenet-v2'])
      it(`${model} on ${board}`, () => {
        const g = loadBoard(board).gpu.freqsHz;
        const mid = g[Math.floor(g.length / 2)]!;
        const floor = evaluateConfig(board, P[model]!, { gpuMinHz: g[0]!, gpuMaxHz: top(g), batch: 1 });
        const raised = evaluateConfig(board, P[model]!, { gpuMinHz: mid, gpuMaxHz: top(g), batch: 1 });
        expect(raised.energyPerQueryJ).toBeLessThan(floor.energyPerQueryJ * 0.97);
        expect(raised.serviceMs).toBeLessThan(floor.serviceMs);
      });
});

describe('calibration: board power stays inside the real envelopes', () => {
  // calibration.md §1/§3.2 and paper A.1: TX2 kit 15 W; Xavier NX 20 W modes; AGX Orin 64GB 60 W
  // module; Orin Nano 15 W / 25 W (Super). Every preset, every model, fp16 and fp32, batch 1 and 16.
  const envelope: Record<string, number> = { tx2: 15, 'xavier-nx': 20, 'orin-agx': 60, 'orin-nano': 25 };
  for (const board of BOARDS)
    it(`${board} ≤ ${envelope[board]} W and above a plausible idle floor`, () => {
      const b = loadBoard(board);
      let max = 0;
      for (const pr of presetsOf(b))
        for (const m of MODELS)
          for (const prof of [P[m]!, zooProfile(m)])
            for (const batch of [1, 16]) {
              const c = { ...pr.clocks, gpuMinHz: pr.clocks.gpuMaxHz, batch };
              const e = evaluateConfig(b, prof, c, { onlineCpus: pr.onlineCpus });
              max = Math.max(max, e.powerW);
              if (pr.budgetW) expect(e.powerW).toBeLessThanOrEqual(pr.budgetW * 1.1);
            }
      expect(max).toBeLessThanOrEqual(envelope[board]!);
      expect(max).toBeGreaterThan(envelope[board]! * 0.4);
      // A nearly idle board (one request every 2 s) draws a few watts, not zero, not the envelope.
      const idle = evaluateConfig(b, P['resnet-50']!, { batch: 1 }, { rateRps: 0.5 });
      expect(idle.powerW).toBeGreaterThan(2);
      expect(idle.powerW).toBeLessThan(envelope[board]! * 0.4);
    });

  it('an idle TX2 reads like its tegrastats line, rail by rail', async () => {
    // hardware.md §5.3 (jtop's fixture of a real R32 TX2): CPU at 345.6 MHz with the Denver pair off,
    // GPU at its floor, EMC 665.6 MHz: VDD_IN 1383, CPU 153, GPU 76, SOC 384, WIFI 364, DDR 192 mW.
    const d = createSimDevice('tx2', { mode: 'MAXP_CORE_ARM' });
    await d.apply({ cpuHz: 345600000, gpuMinHz: 114750000, gpuMaxHz: 114750000, emcHz: 665600000 });
    const mW: Record<string, number> = {};
    for (const s of await d.powerSources()) mW[s.name] = (await s.read()) * 1000;
    const real: Record<string, number> = { VDD_IN: 1383, VDD_SYS_CPU: 153, VDD_SYS_GPU: 76, VDD_SYS_SOC: 384, VDD_4V0_WIFI: 364, VDD_SYS_DDR: 192 };
    expect(Math.abs(mW.VDD_IN! - real.VDD_IN!) / real.VDD_IN!).toBeLessThan(0.1);
    for (const [rail, v] of Object.entries(real)) expect(Math.abs(mW[rail]! - v)).toBeLessThan(60);
  });

  it('an idle AGX Orin reads like its tegrastats line, rail by rail', async () => {
    // hardware.md §5.3 (JP5): EMC 204 MHz, GPU idle: VDD_GPU_SOC 2390, VDD_CPU_CV 796, VIN_SYS_5V0 3522,
    // VDDQ_VDD2_1V8AO 301 mW. CPU clocks are not in the line: taken at nvpmodel's Orin minimum, 729.6 MHz.
    const d = createSimDevice('orin-agx');
    await d.apply({ cpuHz: 729600000, gpuMinHz: 114750000, gpuMaxHz: 1300500000, emcHz: 204000000 });
    const mW: Record<string, number> = {};
    for (const s of await d.powerSources()) mW[s.name] = (await s.read()) * 1000;
    const real: Record<string, number> = { VDD_GPU_SOC: 2390, VDD_CPU_CV: 796, VIN_SYS_5V0: 3522, VDDQ_VDD2_1V8AO: 301 };
    for (const [rail, v] of Object.entries(real)) expect(Math.abs(mW[rail]! - v) / v).toBeLessThan(0.15);
  });

  it('an Orin Nano at its lowest clocks stays above the measured floor of a stripped-down board', async () => {
    // calibration.md §3.2: VDD_IN 2180 mW with 2 cores, engines disabled in the device tree, PCIe off —
    // a floor; the twin keeps all 6 cores and every engine, so it must sit above it, but not far.
    const b = loadBoard('orin-nano');
    const d = createSimDevice(b, { mode: '15W' });
    await d.apply({ cpuHz: b.cpu.freqsHz[0]!, gpuMinHz: b.gpu.freqsHz[0]!, gpuMaxHz: b.gpu.freqsHz[0]!, emcHz: b.emc.freqsHz[0]! });
    const vin = (await d.powerSources()).find((s) => s.name === 'VDD_IN')!;
    const w = await vin.read();
    expect(w).toBeGreaterThan(2.18);
    expect(w).toBeLessThan(2 * 2.18);
  });

  it('AGX Orin at NVIDIA’s MLPerf MaxQ SingleStream clocks draws about what the wall meter showed', () => {
    // calibration.md §2.5 (GPU 612 MHz → table 624.75, EMC 2133 MHz, CPU 652.8 MHz, 4 cores) and §3.1:
    // ≈14.9 W at the AC wall incl. adapter and carrier; the module rails must be below that, above idle.
    const e = evaluateConfig(
      'orin-agx',
      P['resnet-50']!,
      { cpuHz: 652800000, gpuMinHz: 624750000, gpuMaxHz: 624750000, emcHz: 2133000000, batch: 1 },
      { onlineCpus: 4 },
    );
    expect(e.powerW).toBeGreaterThan(7);
    expect(e.powerW).toBeLessThan(14.9);
    // MLPerf MaxQ SingleStream (INT8) mean 1.479 ms at these clocks: fp16 is not faster.
    expect(e.serviceMs).toBeGreaterThan(1.2);
    expect(e.serviceMs).toBeLessThan(5);
  });
});

describe('calibration: latency at maximum clocks is plausible', () => {
  // [board, model, lo ms, hi ms, source of the range]
  const cases: [string, string, number, number, string][] = [
    ['orin-agx', 'resnet-50', 0.6, 3, 'MLPerf v3.0 AGX Orin MaxP SingleStream INT8 mean 0.630 ms; fp16 ≤ ~4× slower'],
    ['orin-agx', 'efficientnet-b0', 0.4, 4, 'torch2trt AGX Xavier fp16 mobilenet_v2 1.67 ms; Orin ~2× Xavier; B0 ≈ 1.3× MobileNetV2 MACs'],
    ['orin-agx', 'bert-base', 1.07, 8, 'weights 220 MB fp16 / 204.8 GB/s = 1.07 ms floor; MLPerf BERT-large INT8 SingleStream p50 4.07 ms'],
    ['orin-agx', 'bert-large', 3.3, 20, 'weights 670 MB fp16 / 204.8 GB/s floor; MLPerf BERT-99 INT8 p50 4.07 ms (half the bytes)'],
    ['tx2', 'resnet-50', 8, 30, 'NVIDIA tf_to_trt_image_classification TX2 TensorRT fp16 resnet_v1_50 15.7 ms'],
    ['tx2', 'mobilenet-v2', 1, 15, 'same repository: mobilenet_v1_1p0_224 fp16 12.9 ms (older TensorRT, with copies)'],
    ['xavier-nx', 'resnet-50', 2.4, 10, 'MLPerf v1.1 Xavier NX MaxP SingleStream INT8 mean 2.426 ms'],
    ['orin-nano', 'resnet-50', 1.0, 6, 'MLPerf v3.0 Orin NX (same GPU, 918 MHz) SingleStream INT8 mean 1.085 ms'],
  ];
  for (const [board, model, lo, hi, source] of cases)
    it(`${model} on ${board} batch 1 in [${lo}, ${hi}] ms (${source})`, () => {
      const e = evaluateConfig(board, P[model]!, { ...pinMax(board), batch: 1 });
      expect(e.serviceMs).toBeGreaterThanOrEqual(lo);
      expect(e.serviceMs).toBeLessThanOrEqual(hi);
    });

  it('AGX Orin ResNet-50 fp16 batch-16 throughput is below the INT8 GPU-only figure', () => {
    // calibration.md §4.1: NVIDIA's planning figure for AGX Orin GPU-only INT8 Offline ≈ 4500 QPS.
    const e = evaluateConfig('orin-agx', P['resnet-50']!, { ...pinMax('orin-agx'), batch: 16 });
    expect(e.throughputQps).toBeLessThan(4500);
    expect(e.throughputQps).toBeGreaterThan(800);
  });
});

describe('calibration: monotone where physics says so', () => {
  for (const board of ['orin-agx', 'tx2'])
    it(`on ${board}: more GPU clock never slows a model down (fixed EMC); below the voltage knee it also saves energy`, () => {
      const b = loadBoard(board);
      const vFloor = b.power.gpu.vf[0]![1];
      for (const m of ['resnet-50', 'efficientnet-b4', 'bert-base']) {
        let prevS = Number.POSITIVE_INFINITY;
        let prevE = Number.POSITIVE_INFINITY;
        for (const f of b.gpu.freqsHz) {
          const e = evaluateConfig(b, P[m]!, { gpuMinHz: f, gpuMaxHz: f, batch: 4 });
          expect(e.serviceMs).toBeLessThanOrEqual(prevS * (1 + 1e-12));
          const flatVoltage = b.power.gpu.vf.filter(([hz, v]) => v === vFloor && hz >= f).length > 0;
          if (flatVoltage) expect(e.energyPerQueryJ).toBeLessThanOrEqual(prevE * (1 + 1e-12));
          prevS = e.serviceMs;
          prevE = e.energyPerQueryJ;
        }
      }
    });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.ts';
import type { DeviceDescription } from '../../src/core/device.ts';
import { applyTwinProfile, calibrateTwin, writeTwinProfile } from '../../src/device/sim/calibrate/index.ts';
import { SHIFTED_BOARDS, applyRuntime, describeBoard, evaluateConfig, loadBoard, perturbBoard } from '../../src/device/sim/index.ts';
import { zooProfile } from '../../src/model/zoo/index.ts';
import { boardFromText, priorForDevice } from '../../src/tune/device-prior.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-calibrated-prior-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const board = loadBoard('orin-agx');
const g = board.gpu.freqsHz;
const emc = board.emc.freqsHz;
const cpu = board.cpu.freqsHz.at(-1)!;
const design: Config[] = [
  { cpuHz: cpu, gpuMinHz: g[12]!, gpuMaxHz: g[12]!, emcHz: emc[3]!, batch: 1 },
  { cpuHz: cpu, gpuMinHz: g[12]!, gpuMaxHz: g[12]!, emcHz: emc[3]!, batch: 16 },
  { cpuHz: cpu, gpuMinHz: g[3]!, gpuMaxHz: g[3]!, emcHz: emc[3]!, batch: 8 },
  { cpuHz: cpu, gpuMinHz: g[8]!, gpuMaxHz: g[8]!, emcHz: emc[1]!, batch: 4 },
  { cpuHz: cpu, gpuMinHz: g[0]!, gpuMaxHz: g[12]!, emcHz: emc[2]!, batch: 2 },
];
const profile = zooProfile('resnet-50', { dtype: 'fp16' });

/** A real AGX Orin as the tuner sees it: described by the board, not simulated. */
const realOrin: DeviceDescription = { ...describeBoard(board), id: 'jetson', kind: 'jetson', name: 'NVIDIA Jetson AGX Orin Developer Kit' };

function calibratedFile(): { file: string; truth: ReturnType<typeof perturbBoard> } {
  const truth = perturbBoard(board, SHIFTED_BOARDS[1]!);
  const points = design.map((config) => {
    const e = evaluateConfig(truth, profile, config);
    return { config, latencyMs: e.latencyP50Ms, powerW: e.powerW };
  });
  const r = calibrateTwin({ board, profile, points, leaveOneOut: false });
  const file = join(dir, 'orin-resnet.json');
  writeTwinProfile(file, r.profile);
  return { file, truth };
}

describe('the calibrated twin as the prior on a real board', () => {
  const { file, truth } = calibratedFile();
  const probe: Config = { cpuHz: cpu, gpuMinHz: g[5]!, gpuMaxHz: g[5]!, emcHz: emc[3]!, batch: 8 };

  it('--prior-board takes a twin profile file as the calibrated board', () => {
    const b = boardFromText(file);
    expect(b.name).toBe('orin-agx');
    const nominal = evaluateConfig(board, profile, probe).latencyP50Ms;
    const calibrated = evaluateConfig(b, profile, probe).latencyP50Ms;
    const real = evaluateConfig(truth, profile, probe).latencyP50Ms;
    // The shifted board is 30 % less efficient: the calibrated twin is nearer to it than the nominal one.
    expect(Math.abs(calibrated - real)).toBeLessThan(Math.abs(nominal - real));
  });

  it('--twin-profile on a detected Jetson makes its calibrated twin the prior; --runtime shapes the matched board', async () => {
    const spec = { kind: 'jetson' } as const;
    const calibrated = await priorForDevice({ spec, description: realOrin, model: 'resnet-50', modelOptions: { dtype: 'fp16' }, twinProfile: file });
    const nominal = await priorForDevice({ spec, description: realOrin, model: 'resnet-50', modelOptions: { dtype: 'fp16' } });
    expect(calibrated).not.toBeNull();
    expect(nominal).not.toBeNull();
    const tp = applyTwinProfile(loadBoard('orin-agx'), (await import('../../src/device/sim/calibrate/index.ts')).loadTwinProfile(file));
    expect(calibrated!.board).toBe(tp.displayName);
    expect(calibrated!.predictor(probe)).not.toEqual(nominal!.predictor(probe));
    const eager = await priorForDevice({ spec, description: realOrin, model: 'resnet-50', modelOptions: { dtype: 'fp16' }, runtime: 'pytorch' });
    expect(eager!.board).toBe(applyRuntime(board, 'pytorch').displayName);
  });
});

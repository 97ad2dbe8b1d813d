import { describe, expect, it } from 'vitest';
import { DEVICE_SPEC_CHOICES, formatDeviceSpec, parseDeviceSpec, readDeviceSpec, simBoardName } from '../../src/device/device-spec.ts';

describe('device spec', () => {
  it('parses every kind', () => {
    expect(parseDeviceSpec('auto')).toEqual({ kind: 'auto' });
    expect(parseDeviceSpec('jetson')).toEqual({ kind: 'jetson' });
    expect(parseDeviceSpec('nvidia')).toEqual({ kind: 'nvidia' });
    expect(parseDeviceSpec('linux-cpu')).toEqual({ kind: 'linux-cpu' });
    for (const board of ['orin-agx', 'tx2', 'xavier-nx', 'orin-nano']) expect(parseDeviceSpec(`sim:${board}`)).toEqual({ kind: 'sim', board });
  });

  it('formats back to the same text', () => {
    for (const t of ['auto', 'jetson', 'nvidia', 'linux-cpu', 'sim:tx2']) expect(formatDeviceSpec(parseDeviceSpec(t))).toBe(t);
  });

  it('refuses anything else as BAD_INPUT, listing the valid values', () => {
    expect(() => parseDeviceSpec('tpu')).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', message: 'unknown device "tpu"', hint: `use ${DEVICE_SPEC_CHOICES}` }),
    );
    expect(DEVICE_SPEC_CHOICES).toBe('auto, jetson, nvidia, linux-cpu or sim:<board> (sim:orin-agx, sim:tx2, sim:xavier-nx, sim:orin-nano)');
    expect(() => parseDeviceSpec('sim:')).toThrow(/sim: needs a board/);
    expect(() => parseDeviceSpec('sim:jetson-nano')).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', message: "unknown simulated board 'sim:jetson-nano'" }),
    );
    expect(() => parseDeviceSpec('jetson:tegra194')).toThrow(/unknown device/);
    expect(() => parseDeviceSpec('')).toThrow(/unknown device ""/);
    expect(readDeviceSpec('tpu')).toBeUndefined();
    expect(readDeviceSpec('sim:tx2')).toEqual({ kind: 'sim', board: 'tx2' });
  });

  it('reads a simulated board by name or by spec', () => {
    expect(simBoardName('tx2')).toBe('tx2');
    expect(simBoardName('sim:tx2')).toBe('tx2');
    expect(() => simBoardName('jetson')).toThrow(/unknown simulated board 'jetson'/);
    expect(() => simBoardName('nvidia:0')).toThrow(/unknown device/);
  });
});

import type { Config, KnobDomains } from './config.ts';

/** Every backend implements this; the tuner and the server cannot tell a twin from a real board. */
export type DeviceKind = 'sim' | 'jetson' | 'nvidia' | 'linux-cpu';

/** The clock part of a configuration (batch size is not a device setting). */
export type FrequencyConfig = Omit<Config, 'batch'>;

/** A named power mode (nvpmodel preset, MLPerf MaxQ setting, …) expressed as clocks. */
export interface Preset {
  readonly name: string;
  /** nvpmodel mode id where the preset is an nvpmodel mode. */
  readonly id?: number;
  /** Power budget in watts the vendor gives the mode, if any. */
  readonly budgetW?: number;
  readonly clocks: FrequencyConfig;
  /** Online CPU cores in this mode, when the mode changes them. */
  readonly onlineCpus?: number;
}

export interface RailInfo {
  readonly name: string;
  /** 'total' is the board's input power (the objective); 'rail' a sub-rail. */
  readonly role: 'total' | 'rail';
  /** Human description of what the rail feeds, e.g. "GPU + SOC (shared rail)". */
  readonly covers?: string;
  readonly shared?: boolean;
}

/**
 * One power sensor. 'power' sources return watts now; 'energy-counter' sources return joules from
 * a monotonic counter that wraps at `wrapJ` (RAPL, NVML total energy).
 */
export interface PowerSource extends RailInfo {
  readonly kind: 'power' | 'energy-counter';
  readonly wrapJ?: number;
  read(): Promise<number>;
}

export interface Adjustment {
  readonly knob: keyof FrequencyConfig;
  readonly requested: number;
  readonly got: number | undefined;
  /** 'snapped' to a table value, 'clamped' by a cap, 'refused' by the kernel/driver. */
  readonly kind: 'snapped' | 'clamped' | 'refused';
  readonly detail: string;
}

export interface ApplyResult {
  readonly requested: FrequencyConfig;
  /** What the device reads back after the writes. */
  readonly applied: FrequencyConfig;
  readonly adjustments: readonly Adjustment[];
}

export interface DeviceDescription {
  readonly id: string;
  readonly kind: DeviceKind;
  /** Marketing name, e.g. "NVIDIA Jetson AGX Orin 64GB (simulated)". */
  readonly name: string;
  readonly soc?: string;
  readonly release?: string;
  readonly knobs: Omit<KnobDomains, 'batch'>;
  readonly presets: readonly Preset[];
  /** The active power mode, when the platform has one. */
  readonly currentMode?: string;
  readonly rails: readonly RailInfo[];
  /** What could not be found or used, and why (not root, no debugfs, no sensor…). */
  readonly missing: readonly { readonly what: string; readonly why: string }[];
  readonly warnings: readonly string[];
}

/** Opaque-to-callers record of every knob value, persisted before the first write. */
export interface DeviceSnapshot {
  readonly deviceId: string;
  readonly takenAt: string;
  /** file path (relative to the device's root) or knob name → the value as read */
  readonly values: Readonly<Record<string, string>>;
}

export interface Device {
  readonly id: string;
  readonly kind: DeviceKind;
  describe(): Promise<DeviceDescription>;
  domains(): Promise<Omit<KnobDomains, 'batch'>>;
  /** Apply clocks in a safe order, read back, report every adjustment. */
  apply(clocks: FrequencyConfig): Promise<ApplyResult>;
  /** Read the clocks as they are now. */
  readClocks(): Promise<FrequencyConfig>;
  powerSources(): Promise<readonly PowerSource[]>;
  snapshot(): Promise<DeviceSnapshot>;
  restore(snapshot: DeviceSnapshot): Promise<void>;
  close(): Promise<void>;
}

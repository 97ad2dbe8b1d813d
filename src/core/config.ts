/**
 * A configuration: the knobs PolyThrottle tunes. Frequencies are in Hz and must be values of the
 * device's own frequency tables (see KnobDomains). A knob the device lacks is `undefined` and is
 * left as the device has it.
 */
export interface Config {
  readonly cpuHz?: number | undefined;
  readonly gpuMinHz?: number | undefined;
  readonly gpuMaxHz?: number | undefined;
  readonly emcHz?: number | undefined;
  /** Inference batch size (≥ 1). */
  readonly batch: number;
}

/** The values each knob can take on one device, ascending. An absent knob cannot be set there. */
export interface KnobDomains {
  readonly cpuHz?: readonly number[];
  readonly gpuHz?: readonly number[];
  readonly emcHz?: readonly number[];
  readonly batch: readonly number[];
}

export type KnobName = 'cpuHz' | 'gpuMinHz' | 'gpuMaxHz' | 'emcHz' | 'batch';

export const DEFAULT_BATCH_SIZES: readonly number[] = [1, 2, 4, 8, 16];

/** Why a configuration is not valid on a domain, or null when it is. */
export function configProblem(c: Config, d: KnobDomains): string | null {
  if (!Number.isInteger(c.batch) || c.batch < 1) return `batch must be a positive integer, got ${c.batch}`;
  const check = (name: string, v: number | undefined, table: readonly number[] | undefined): string | null => {
    if (v === undefined) return null;
    if (!table) return `${name} is not a knob of this device`;
    if (!table.includes(v)) return `${name}=${v} is not in the device's table (${table.join(', ')})`;
    return null;
  };
  const p =
    check('cpuHz', c.cpuHz, d.cpuHz) ?? check('gpuMinHz', c.gpuMinHz, d.gpuHz) ?? check('gpuMaxHz', c.gpuMaxHz, d.gpuHz) ?? check('emcHz', c.emcHz, d.emcHz);
  if (p) return p;
  if (c.gpuMinHz !== undefined && c.gpuMaxHz !== undefined && c.gpuMinHz > c.gpuMaxHz)
    return `gpuMinHz (${c.gpuMinHz}) must not exceed gpuMaxHz (${c.gpuMaxHz})`;
  return null;
}

/** The default configuration of a board: every clock at its maximum (what `jetson_clocks` sets). */
export function maxClocksConfig(d: KnobDomains, batch: number): Config {
  const top = (t: readonly number[] | undefined) => (t && t.length > 0 ? t[t.length - 1] : undefined);
  const g = top(d.gpuHz);
  return { cpuHz: top(d.cpuHz), gpuMinHz: g, gpuMaxHz: g, emcHz: top(d.emcHz), batch };
}

/** Stable text key of a configuration (for maps, caches and resume). */
export function configKey(c: Config): string {
  return `${c.cpuHz ?? '-'}|${c.gpuMinHz ?? '-'}|${c.gpuMaxHz ?? '-'}|${c.emcHz ?? '-'}|${c.batch}`;
}

/** Human-readable configuration, e.g. "cpu 2.20 GHz · gpu 0.31–1.30 GHz · emc 3.20 GHz · batch 4". */
export function formatConfig(c: Config): string {
  const ghz = (hz: number) => `${(hz / 1e9).toFixed(2)}`;
  const parts: string[] = [];
  if (c.cpuHz !== undefined) parts.push(`cpu ${ghz(c.cpuHz)} GHz`);
  if (c.gpuMinHz !== undefined || c.gpuMaxHz !== undefined)
    parts.push(`gpu ${c.gpuMinHz === undefined ? '?' : ghz(c.gpuMinHz)}–${c.gpuMaxHz === undefined ? '?' : ghz(c.gpuMaxHz)} GHz`);
  if (c.emcHz !== undefined) parts.push(`emc ${ghz(c.emcHz)} GHz`);
  parts.push(`batch ${c.batch}`);
  return parts.join(' · ');
}

import { type SysfsIo, tryReadText } from '../sysfs.ts';
import { SOCS } from './facts.ts';

export interface L4tRelease {
  readonly major: number;
  /** "36.4.7" */
  readonly version: string;
}

export interface JetsonIdentity {
  /** "tegra234" */
  readonly soc: string;
  /** "Jetson Orin" */
  readonly family: string;
  /** Device-tree model string, e.g. "NVIDIA Jetson AGX Orin Developer Kit". */
  readonly model?: string;
  readonly compatible: readonly string[];
  readonly l4t?: L4tRelease;
}

/** `# R36 (release), REVISION: 4.7, GCID: …` → { major: 36, version: "36.4.7" }. */
export function parseNvTegraRelease(text: string): L4tRelease | undefined {
  const m = text.match(/#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)/);
  if (!m) return undefined;
  const major = Number(m[1]);
  return { major, version: `${major}.${m[2]!.replace(/\.$/, '')}` };
}

/** The Jetson this root belongs to, or undefined when it is not a Jetson. */
export async function detectJetson(io: SysfsIo): Promise<JetsonIdentity | undefined> {
  const raw =
    (await io.read('proc/device-tree/compatible').catch(() => undefined)) ?? (await io.read('sys/firmware/devicetree/base/compatible').catch(() => undefined));
  if (raw === undefined) return undefined;
  const compatible = raw
    .split('\0')
    .map((s) => s.trim())
    .filter(Boolean);
  const soc = Object.keys(SOCS).find((s) => compatible.some((c) => c.includes(s)));
  if (!soc) return undefined;
  const model = (await tryReadText(io, 'proc/device-tree/model')) ?? (await tryReadText(io, 'sys/firmware/devicetree/base/model'));
  const rel = await tryReadText(io, 'etc/nv_tegra_release');
  const l4t = rel ? parseNvTegraRelease(rel) : undefined;
  return { soc, family: SOCS[soc]!.family, compatible, ...(model ? { model } : {}), ...(l4t ? { l4t } : {}) };
}

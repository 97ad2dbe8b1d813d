import { type SysfsIo, parseNumberList, tryReadText } from '../sysfs.ts';
import { GPU_NODE_NAMES } from './facts.ts';

export interface GpuDevfreq {
  /** devfreq directory (symlinks resolved), relative to the root. */
  readonly dir: string;
  /** The entry name under sys/class/devfreq, e.g. "17000000.gpu". */
  readonly node: string;
  /** Ascending, Hz. */
  readonly table: readonly number[];
  readonly minFile: string;
  readonly maxFile: string;
  readonly curFile: string;
}

const CLASS = 'sys/class/devfreq';

async function looksLikeGpu(io: SysfsIo, entry: string): Promise<boolean> {
  const name = await tryReadText(io, `${CLASS}/${entry}/device/of_node/name`);
  if (name && (GPU_NODE_NAMES.includes(name) || name.includes('gpu'))) return true;
  const compat = await tryReadText(io, `${CLASS}/${entry}/device/of_node/compatible`);
  if (compat && /nvidia,g[a-z]?\d+b\b/.test(compat)) return true;
  // Thor (JP7) has no of_node name: its GPC clock is the devfreq node "gpu-gpc-0".
  return /^gpu-gpc-\d+$/.test(entry);
}

/**
 * Find the GPU's devfreq node by scanning sys/class/devfreq (paths differ across JetPack 4–7:
 * 17000000.gp10b, 17000000.ga10b, 17000000.gpu under platform/bus@0, gpu-gpc-0 …).
 */
export async function findGpuDevfreq(io: SysfsIo): Promise<GpuDevfreq | undefined> {
  for (const node of await io.list(CLASS)) {
    if (!(await looksLikeGpu(io, node))) continue;
    const dir = await io.resolve(`${CLASS}/${node}`);
    const avail = await tryReadText(io, `${dir}/available_frequencies`);
    const table = avail ? parseNumberList(avail) : [];
    if (table.length === 0) continue;
    return { dir, node, table, minFile: `${dir}/min_freq`, maxFile: `${dir}/max_freq`, curFile: `${dir}/cur_freq` };
  }
  return undefined;
}

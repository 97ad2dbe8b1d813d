import { type SysfsIo, errnoCode, nearest, parseNumberList, readNumber, readText, tryReadNumber, tryReadText, writeKnob } from '../sysfs.ts';

const BPMP_CLK = 'sys/kernel/debug/bpmp/debug/clk/emc';
const BPMP_EMC = 'sys/kernel/debug/bpmp/debug/emc';
const BWMGR_HALT = 'sys/kernel/debug/bpmp/debug/bwmgr/bwmgr_halt';
const OVERRIDE = 'sys/kernel/debug/clk/override.emc';
const BWMGR_T210 = 'sys/kernel/debug/tegra_bwmgr';
const CAP_FILES = ['sys/kernel/nvpmodel_clk_cap/emc', 'sys/kernel/nvpmodel_emc_cap/emc_iso_cap'];

/**
 * Memory-clock control. 'bpmp' (TX2, Xavier, Orin): lock with mrq_rate_locked, then write rate.
 * 'override' (Nano/TX1): write clk_update_rate, then clk_state = 1.
 */
export interface EmcControl {
  readonly kind: 'bpmp' | 'override';
  /** Ascending, Hz, limited to the nvpmodel cap. */
  readonly table: readonly number[];
  /** The cap the current power mode puts on EMC (Hz), if any. */
  readonly capHz?: number;
  /** Files read for the current rate (Hz). */
  readonly rateFile: string;
  /** Every file a change writes, in write order (restore writes them back in reverse lock order). */
  readonly knobFiles: readonly string[];
}

export type EmcProbe = { readonly ok: true; readonly emc: EmcControl } | { readonly ok: false; readonly why: string };

async function rateTable(io: SysfsIo): Promise<number[]> {
  const possible = await tryReadText(io, `${BPMP_EMC}/possible_rates`);
  if (possible) return parseNumberList(possible).map((k) => k * 1000); // kHz
  const regular = (await io.list(`${BPMP_EMC}/tables/regular`)).map(Number).filter((n) => Number.isFinite(n) && n > 0);
  if (regular.length > 0) return [...new Set(regular)].sort((a, b) => a - b).map((k) => k * 1000);
  return [];
}

async function capHz(io: SysfsIo): Promise<number | undefined> {
  for (const f of CAP_FILES) {
    const v = await tryReadNumber(io, f);
    if (v !== undefined && v > 0) return v;
  }
  return undefined;
}

async function whyUnreadable(io: SysfsIo, file: string): Promise<string | undefined> {
  try {
    await io.read(file);
    return undefined;
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EACCES' || code === 'EPERM') return `${file} is not readable: debugfs is root-only (mode 0700); run as root`;
    return `${file} cannot be read (${code ?? String(e)})`;
  }
}

/** Find how this Jetson's EMC clock can be controlled, or say why it cannot. */
export async function probeEmc(io: SysfsIo): Promise<EmcProbe> {
  if (await io.exists(`${BPMP_CLK}/rate`)) {
    const why = await whyUnreadable(io, `${BPMP_CLK}/rate`);
    if (why) return { ok: false, why };
    const lo = (await tryReadNumber(io, `${BPMP_CLK}/min_rate`)) ?? 0;
    const hi = (await tryReadNumber(io, `${BPMP_CLK}/max_rate`)) ?? Number.POSITIVE_INFINITY;
    const cap = await capHz(io);
    const limit = Math.min(hi, cap ?? Number.POSITIVE_INFINITY);
    const table = (await rateTable(io)).filter((r) => r >= lo && r <= limit);
    if (table.length === 0) return { ok: false, why: `no EMC rate table (${BPMP_EMC}/possible_rates or tables/regular)` };
    const knobFiles = [`${BPMP_CLK}/state`, BWMGR_HALT, `${BPMP_CLK}/mrq_rate_locked`, `${BPMP_CLK}/rate`];
    const present: string[] = [];
    for (const f of knobFiles) if (await io.exists(f)) present.push(f);
    return { ok: true, emc: { kind: 'bpmp', table, ...(cap ? { capHz: cap } : {}), rateFile: `${BPMP_CLK}/rate`, knobFiles: present } };
  }
  if (await io.exists(`${OVERRIDE}/clk_rate`)) {
    const why = await whyUnreadable(io, `${OVERRIDE}/clk_rate`);
    if (why) return { ok: false, why };
    const lo = await tryReadNumber(io, `${BWMGR_T210}/emc_min_rate`);
    const hi = await tryReadNumber(io, `${BWMGR_T210}/emc_max_rate`);
    const listed = parseNumberList((await tryReadText(io, 'sys/kernel/debug/clk/emc/possible_rates')) ?? '').map((k) => k * 1000);
    const cap = await capHz(io);
    const limit = Math.min(hi ?? Number.POSITIVE_INFINITY, cap ?? Number.POSITIVE_INFINITY);
    const table = (listed.length > 0 ? listed : [lo, hi].filter((x): x is number => x !== undefined)).filter((r) => r >= (lo ?? 0) && r <= limit);
    if (table.length === 0) return { ok: false, why: `no EMC rate range (${BWMGR_T210}/emc_min_rate, emc_max_rate)` };
    return {
      ok: true,
      emc: {
        kind: 'override',
        table: [...new Set(table)].sort((a, b) => a - b),
        ...(cap ? { capHz: cap } : {}),
        rateFile: `${OVERRIDE}/clk_rate`,
        knobFiles: [`${OVERRIDE}/clk_update_rate`, `${OVERRIDE}/clk_state`],
      },
    };
  }
  if (await io.exists('sys/kernel/debug/bpmp')) {
    if ((await io.list('sys/kernel/debug/bpmp')).length === 0 && (await whyUnreadable(io, 'sys/kernel/debug/bpmp/debug/clk/emc/rate'))?.includes('root'))
      return { ok: false, why: 'sys/kernel/debug is root-only (debugfs mode 0700); run as root' };
    return { ok: false, why: 'sys/kernel/debug/bpmp has no debug/clk/emc (debugfs restricted, e.g. secure boot)' };
  }
  if ((await io.list('sys/kernel/debug')).length === 0)
    return { ok: false, why: 'debugfs is not mounted or not readable at sys/kernel/debug (needs root: mount -t debugfs none /sys/kernel/debug)' };
  return { ok: false, why: 'no EMC clock in debugfs (neither bpmp/debug/clk/emc nor clk/override.emc)' };
}

/** Set the EMC rate (snapped to the table) and return the rate read back, Hz. */
export async function setEmc(io: SysfsIo, emc: EmcControl, hz: number): Promise<{ target: number; got: number }> {
  const target = nearest(emc.table, hz) ?? hz;
  if (emc.kind === 'bpmp') {
    const base = BPMP_CLK;
    if (emc.knobFiles.includes(`${base}/state`)) await writeKnob(io, `${base}/state`, 1);
    if (emc.knobFiles.includes(BWMGR_HALT)) await writeKnob(io, BWMGR_HALT, 1);
    await writeKnob(io, `${base}/mrq_rate_locked`, 1);
    await writeKnob(io, `${base}/rate`, target);
  } else {
    await writeKnob(io, `${OVERRIDE}/clk_update_rate`, target);
    await writeKnob(io, `${OVERRIDE}/clk_state`, 1);
  }
  return { target, got: await readNumber(io, emc.rateFile) };
}

export async function readEmcHz(io: SysfsIo, emc: EmcControl): Promise<number | undefined> {
  return tryReadNumber(io, emc.rateFile);
}

export async function snapshotEmc(io: SysfsIo, emc: EmcControl): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of emc.knobFiles) out[f] = await readText(io, f);
  return out;
}

/**
 * Put EMC back: the saved rate is written while the clock is still locked, then the lock flag and
 * the other switches go back to what they were (a rate written unlocked would be ignored).
 */
export async function restoreEmc(io: SysfsIo, emc: EmcControl, values: Readonly<Record<string, string>>): Promise<void> {
  const has = (f: string) => values[f] !== undefined && emc.knobFiles.includes(f);
  if (emc.kind === 'bpmp') {
    const lock = `${BPMP_CLK}/mrq_rate_locked`;
    const rate = `${BPMP_CLK}/rate`;
    if (has(rate)) {
      if ((await tryReadText(io, lock)) !== '1') await writeKnob(io, lock, 1);
      await writeKnob(io, rate, values[rate]!);
    }
    for (const f of [lock, BWMGR_HALT, `${BPMP_CLK}/state`]) if (has(f)) await writeKnob(io, f, values[f]!);
  } else {
    for (const f of [`${OVERRIDE}/clk_update_rate`, `${OVERRIDE}/clk_state`]) if (has(f)) await writeKnob(io, f, values[f]!);
  }
}

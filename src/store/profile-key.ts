/**
 * The text form of a registry key: six colon-separated parts, board type, L4T version, model
 * content hash, precision, runtime and SLO, e.g. `orin-agx:35.4:3f9c0a1b2c3d:fp16:onnxruntime:p99-50ms`.
 * No slash, so a key is never taken for a file path.
 */
import { badInput } from '../core/errors.ts';
import type { ProfileKeyFields } from './store.ts';

const slug = (s: string) =>
  s
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'unknown';

/** `p99-50ms`, `p99.9-12.5ms` */
const sloPart = (sloMs: number, quantile: number) => `p${Number((quantile * 100).toFixed(3))}-${Number(sloMs.toPrecision(6))}ms`;

export function formatProfileKey(f: ProfileKeyFields): string {
  return [slug(f.boardType), slug(f.l4t), slug(f.modelHash), slug(f.precision), slug(f.runtime), sloPart(f.sloMs, f.quantile)].join(':');
}

const KEY = /^([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):([A-Za-z0-9._-]+):p([0-9.]+)-([0-9.]+)ms$/;

/** True when the text has the shape of a registry key. */
export const isProfileKey = (text: string): boolean => KEY.test(text);

export function parseProfileKey(text: string): ProfileKeyFields {
  const m = KEY.exec(text);
  if (!m) throw badInput(`"${text}" is not a profile key`, 'a key is board:l4t:model-hash:precision:runtime:p<q>-<slo>ms (see `polythrottle profile list`)');
  return { boardType: m[1]!, l4t: m[2]!, modelHash: m[3]!, precision: m[4]!, runtime: m[5]!, quantile: Number(m[6]) / 100, sloMs: Number(m[7]) };
}

/** IEEE 754 half precision ↔ number, for FP16 tensors that travel as numbers (KServe JSON). */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    if ((mant >>> (shift - 1)) & 1) h += 1; // round half up
    return sign | h;
  }
  const h = sign | (e << 10) | (mant >>> 13);
  return mant & 0x1000 ? h + 1 : h; // round half up; a carry into the exponent is still correct
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

export function toHalfArray(xs: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = toHalfBits(xs[i]!);
  return out;
}

export function fromHalfArray(hs: ArrayLike<number>): Float32Array {
  const out = new Float32Array(hs.length);
  for (let i = 0; i < hs.length; i++) out[i] = fromHalfBits(hs[i]!);
  return out;
}

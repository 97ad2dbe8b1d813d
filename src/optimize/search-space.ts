/**
 * Discrete search spaces: each dimension is an ascending list of values, encoded to [0, 1] either
 * by ordinal position (frequencies: position in the device's table) or on a log scale (batch size).
 * A point is a vector of value indices. The whole valid grid is enumerated when it is small enough
 * to score exactly.
 */
export type DimensionScale = 'ordinal' | 'log';

export interface Dimension {
  readonly name: string;
  /** Ascending, distinct. */
  readonly values: readonly number[];
  readonly scale: DimensionScale;
}

export interface SearchSpace {
  readonly dims: readonly Dimension[];
  /** Cross-dimension validity (e.g. GPU min ≤ GPU max); absent = every combination is valid. */
  readonly isValid?: (idx: readonly number[]) => boolean;
}

/** The enumerated valid grid: N points, their indices and their [0,1] encodings (both N×d row-major). */
export interface Grid {
  readonly size: number;
  readonly d: number;
  readonly indices: Int32Array;
  readonly x: Float64Array;
}

export function dimensionCoordinates(dim: Dimension): Float64Array {
  const n = dim.values.length;
  if (n === 1) return new Float64Array([0]);
  if (dim.scale === 'log') {
    const lo = Math.log(dim.values[0]!);
    const span = Math.log(dim.values[n - 1]!) - lo;
    return Float64Array.from(dim.values, (v) => (Math.log(v) - lo) / span);
  }
  return Float64Array.from(dim.values, (_, i) => i / (n - 1));
}

/** Throws on an empty, unsorted or (for log scale) non-positive dimension. */
export function checkSpace(space: SearchSpace): void {
  if (space.dims.length === 0) throw new Error('search space has no dimensions');
  for (const dim of space.dims) {
    if (dim.values.length === 0) throw new Error(`dimension ${dim.name} has no values`);
    for (let i = 1; i < dim.values.length; i++) if (!(dim.values[i]! > dim.values[i - 1]!)) throw new Error(`dimension ${dim.name} is not strictly ascending`);
    if (dim.scale === 'log' && !(dim.values[0]! > 0)) throw new Error(`dimension ${dim.name} needs positive values for a log scale`);
  }
}

/** Encoder from index vectors to [0,1]^d. */
export function createEncoder(space: SearchSpace): (idx: readonly number[], out?: Float64Array, offset?: number) => Float64Array {
  const coords = space.dims.map(dimensionCoordinates);
  const d = coords.length;
  return (idx, out = new Float64Array(d), offset = 0) => {
    for (let k = 0; k < d; k++) out[offset + k] = coords[k]![idx[k]!]!;
    return out;
  };
}

/** Number of combinations before the validity rule (the Cartesian product). */
export function productSize(space: SearchSpace): number {
  return space.dims.reduce((p, dim) => p * dim.values.length, 1);
}

/** Stable text key of a point (works on arrays and typed-array views). */
export const pointKey = (idx: { join(separator: string): string }): string => idx.join(',');

/** Every valid point, or null when the Cartesian product exceeds `limit`. */
export function enumerateGrid(space: SearchSpace, limit: number): Grid | null {
  const total = productSize(space);
  if (total > limit) return null;
  const d = space.dims.length;
  const enc = createEncoder(space);
  const idxs: number[][] = [];
  const cur = new Array<number>(d).fill(0);
  for (let c = 0; c < total; c++) {
    let r = c;
    for (let k = d - 1; k >= 0; k--) {
      const n = space.dims[k]!.values.length;
      cur[k] = r % n;
      r = Math.floor(r / n);
    }
    if (!space.isValid || space.isValid(cur)) idxs.push(cur.slice());
  }
  const indices = new Int32Array(idxs.length * d);
  const x = new Float64Array(idxs.length * d);
  idxs.forEach((p, i) => {
    indices.set(p, i * d);
    enc(p, x, i * d);
  });
  return { size: idxs.length, d, indices, x };
}

export function gridPoint(g: Grid, i: number): number[] {
  return Array.from(g.indices.subarray(i * g.d, (i + 1) * g.d));
}

/** Map a point of [0,1]^d to the nearest index on each dimension. */
export function snapToIndices(space: SearchSpace, u: ArrayLike<number>): number[] {
  return space.dims.map((dim, k) => {
    const coords = dimensionCoordinates(dim);
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let i = 0; i < coords.length; i++) {
      const dist = Math.abs(coords[i]! - u[k]!);
      if (dist < bestD) {
        bestD = dist;
        best = i;
      }
    }
    return best;
  });
}

/**
 * How finely a fine-tuning job's optimizer step is cut so that one uninterruptible piece of it fits
 * the inference slack. A step of the requested micro-batch R runs as `accumulation` micro-batches of
 * `microBatch` samples (R = microBatch × accumulation; gradients accumulate, the optimizer updates
 * after the last one), and each micro-batch as `chunks` parts, the forward + backward work of
 * contiguous layer groups, yielding to inference between parts. The device runs one part per grant.
 */
export interface StepGranularity {
  readonly microBatch: number;
  readonly accumulation: number;
  readonly chunks: number;
}

/** One grant's worth of work: which part of the optimizer step it is. */
export interface StepPartIndex {
  /** Micro-batch within the step, 0-based. */
  readonly micro: number;
  /** Layer-group chunk within the micro-batch, 0-based. */
  readonly chunk: number;
  /** This part carries (its share of) the optimizer update. */
  readonly optimizer: boolean;
  /** The last part of the optimizer step. */
  readonly last: boolean;
}

/** Largest number of layer-group chunks a micro-batch is split into. */
export const MAX_CHUNKS = 16;

export function partsPerStep(g: StepGranularity): number {
  return g.accumulation * g.chunks;
}

/** Part `i` (0-based) of an optimizer step at a granularity. */
export function partAt(g: StepGranularity, i: number): StepPartIndex {
  const n = partsPerStep(g);
  const k = ((i % n) + n) % n;
  const micro = Math.floor(k / g.chunks);
  return { micro, chunk: k % g.chunks, optimizer: micro === g.accumulation - 1, last: k === n - 1 };
}

/**
 * Granularities to try, coarsest first: the requested micro-batch; then smaller micro-batches that
 * divide it, with gradient accumulation; then micro-batch 1 split into 2, 4, … `MAX_CHUNKS` chunks.
 * `shrink: false` tries the requested step only (admit or wait).
 */
export function granularities(requested: number, shrink: boolean): StepGranularity[] {
  const out: StepGranularity[] = [{ microBatch: requested, accumulation: 1, chunks: 1 }];
  if (!shrink) return out;
  for (let m = requested - 1; m >= 1; m--) if (requested % m === 0) out.push({ microBatch: m, accumulation: requested / m, chunks: 1 });
  for (let c = 2; c <= MAX_CHUNKS; c *= 2) out.push({ microBatch: 1, accumulation: requested, chunks: c });
  return out;
}

/** What the scheduler did to the step, in words, for the decision record. */
export function describeGranularity(g: StepGranularity): string {
  if (g.accumulation === 1 && g.chunks === 1) return `whole steps of micro-batch ${g.microBatch}`;
  const acc = g.accumulation > 1 ? `micro-batch ${g.microBatch} with gradient accumulation over ${g.accumulation}` : `micro-batch ${g.microBatch}`;
  return g.chunks > 1 ? `${acc}, each split into ${g.chunks} chunks that yield between inference batches` : acc;
}

/** The decision in one word: as requested, smaller micro-batch, or chunks. */
export function granularityAction(g: StepGranularity): 'whole' | 'accumulate' | 'chunk' {
  return g.chunks > 1 ? 'chunk' : g.accumulation > 1 ? 'accumulate' : 'whole';
}

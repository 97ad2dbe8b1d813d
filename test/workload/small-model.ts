/** A small zoo model for the workload tests: BERT-tiny at sequence length 16, written by the zoo's builder. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModelFile } from '../../src/model/index.ts';

export const SMALL_MODEL = 'bert-tiny';
export const SMALL_SEQ = 16;

/** Writes BERT-tiny (seq 16, seeded weights) into a fresh temp dir and returns its path. */
export function writeSmallModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pt-onnx-'));
  return buildModelFile(SMALL_MODEL, { seq: SMALL_SEQ, out: join(dir, `${SMALL_MODEL}.onnx`) }).path;
}

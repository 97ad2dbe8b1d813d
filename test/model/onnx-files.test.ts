import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeModel } from '../../src/model/analyze.ts';
import { analyzeOnnxFile, profileFromOnnxFile } from '../../src/model/load.ts';
import { decodeOnnx } from '../../src/model/onnx/decode.ts';
import { encodeOnnx, writeOnnxFile } from '../../src/model/onnx/encode.ts';
import { readOnnxFile } from '../../src/model/onnx/read.ts';
import { tensorNumbers } from '../../src/model/onnx/tensor-values.ts';
import { ElemType } from '../../src/model/onnx/dtype.ts';
import { GraphBuilder } from '../../src/model/zoo/builder.ts';
import { buildZooModel } from '../../src/model/zoo/index.ts';
import { expectBadInput } from '../fixtures/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'pt-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = buildZooModel('bert-tiny', { seq: 8 });

describe('reading and writing .onnx', () => {
  it('round-trips a zoo graph: the file analyses exactly like the in-memory graph', () => {
    const path = join(dir, 'tiny.onnx');
    const w = writeOnnxFile(tiny, path, { seed: 3 });
    expect(w.dataPath).toBeUndefined();
    expect(statSync(path).size).toBe(w.bytes);
    const a = analyzeModel(tiny, { batch: 4 });
    const b = analyzeOnnxFile(path, { batch: 4 });
    expect(b.params).toBe(a.params);
    expect(b.totals).toEqual(a.totals);
    expect(b.nodes.map((n) => n.outputShape)).toEqual(a.nodes.map((n) => n.outputShape));
    expect(b.model).toBe('tiny');
  });

  it('writes deterministic weights from the seed, different for another seed', () => {
    const a = encodeOnnx(tiny, { seed: 7 });
    const b = encodeOnnx(tiny, { seed: 7 });
    const c = encodeOnnx(tiny, { seed: 8 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.length).toBe(c.length);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    const m = decodeOnnx(a, 'x');
    const pos = m.graph.initializers.find((t) => t.name === 'embeddings.position_ids');
    expect(pos && tensorNumbers(pos)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const ln = m.graph.initializers.find((t) => t.name === 'embeddings.LayerNorm.weight');
    expect(ln && tensorNumbers(ln)?.every((v) => v === 1)).toBe(true);
    const w = m.graph.initializers.find((t) => t.name === 'encoder.layer.0.attention.query.weight');
    const vals = w?.data ? Array.from(new Float32Array(w.data.slice().buffer)) : [];
    const std = Math.sqrt(vals.reduce((s, v) => s + v * v, 0) / vals.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
  });

  it('writes and reads weights in an external data file', async () => {
    const path = join(dir, 'ext.onnx');
    const w = writeOnnxFile(tiny, path, { externalData: true });
    expect(w.dataPath).toBe(`${path}.data`);
    expect(statSync(`${path}.data`).size).toBe(w.externalBytes);
    expect(w.externalBytes / w.weightBytes).toBeGreaterThan(0.99); // all but the small constants
    expect(w.bytes).toBeLessThan(100_000);
    const m = readOnnxFile(path);
    expect(m.graph.initializers.filter((t) => t.external).length).toBeGreaterThan(10);
    const p = await profileFromOnnxFile(path);
    expect(p.params).toBe(analyzeModel(tiny).params);

    rmSync(`${path}.data`);
    expectBadInput(() => readOnnxFile(path), /external data file 'ext.onnx.data'.*missing/, 'NOT_FOUND');
    writeFileSync(`${path}.data`, Buffer.alloc(100));
    expectBadInput(() => readOnnxFile(path), /external data file 'ext.onnx.data' is truncated/);
  });

  it('says what is wrong with bad files, each with exit code 2', () => {
    expectBadInput(() => readOnnxFile(join(dir, 'nope.onnx')), /no such file: .*nope\.onnx/, 'NOT_FOUND');
    expectBadInput(() => readOnnxFile(dir), /is a directory/);
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'this is not a model\n'.repeat(20));
    expectBadInput(() => readOnnxFile(text), /notes\.onnx: not an ONNX model/);
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    expectBadInput(() => readOnnxFile(empty), /empty file/);
    const zip = join(dir, 'model.pt');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64)]));
    expectBadInput(() => readOnnxFile(zip), /zip archive/);
    const good = readFileSync(join(dir, 'tiny.onnx'));
    const cut = join(dir, 'cut.onnx');
    writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
    expectBadInput(
      () => readOnnxFile(cut),
      /truncated ONNX file \(\d+ bytes of well-formed ONNX that end inside field graph, which needs \d+ bytes, \d+ are left\)/,
    );
  });

  it('calls a file truncated only when it is a valid prefix of a model', () => {
    const expectNot = (name: string, content: string | Buffer, message: RegExp) => {
      const f = join(dir, name);
      writeFileSync(f, content);
      try {
        readOnnxFile(f);
      } catch (e) {
        expect((e as Error).message).toMatch(message);
        expect((e as Error).message).not.toMatch(/truncated/);
        return;
      }
      throw new Error(`${name} was read as a model`);
    };
    // the user's 26-byte text file: protobufjs reads it as a message cut short; it is text, not ONNX
    expectNot(
      'short.onnx',
      'this is not an onnx model\n',
      /short\.onnx: not an ONNX model: a text file \("this is not an onnx model"\); an \.onnx file is binary protobuf/,
    );
    expectNot(
      'lfs.onnx',
      'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1234\n',
      /a Git LFS pointer, not the model \(fetch the model itself with `git lfs pull`\)/,
    );
    expectNot(
      'page.onnx',
      '<!DOCTYPE html><html><body>Not Found</body></html>\n',
      /a text file \("<!DOCTYPE html>.*"\), likely a web page saved instead of the model/,
    );
    // text whose first bytes happen to read as a length-delimited ModelProto field ('"' = field 4, domain)
    expectNot('quoted.onnx', '"a quoted line that goes on and on and on"\n', /a text file/);
    // binary, but no ModelProto has field 15 at its top level
    expectNot('binary.onnx', Buffer.from([0x7a, 0x02, 0x01, 0x02, 0xff, 0x00]), /not a protobuf ModelProto \(byte 0: field number 15 is not part of one\)/);
  });

  it('rejects IR versions it does not know', () => {
    const small = new GraphBuilder('small', 'fp32');
    small.node('Relu', [small.input('x', ElemType.FLOAT, ['batch', 4])], {}, 'y');
    const m = small.build();
    const future = join(dir, 'future.onnx');
    writeFileSync(future, encodeOnnx({ ...m, irVersion: 99 }));
    expectBadInput(() => readOnnxFile(future), /unsupported ONNX IR version 99 \(supported: 3–11\)/, 'UNSUPPORTED');
    const old = join(dir, 'old.onnx');
    writeFileSync(old, encodeOnnx({ ...m, irVersion: 2 }));
    expectBadInput(() => readOnnxFile(old), /unsupported ONNX IR version 2/, 'UNSUPPORTED');
  });
});

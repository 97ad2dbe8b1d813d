/**
 * A tiny ONNX model for the workload tests (Conv → Relu → GlobalAveragePool → Flatten → MatMul →
 * Add; input [N, 3, 8, 8] FP32, output [N, 4]), encoded with protobufjs and an inline ONNX schema.
 * Deterministic weights. To be replaced by the model zoo's builder once it exists.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const SCHEMA = `syntax = "proto2"; package onnx;
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto { optional int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8; optional string producer_name = 2; optional GraphProto graph = 7; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4; repeated AttributeProto attribute = 5; optional string domain = 7; }
message AttributeProto { enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1; optional AttributeType type = 20; optional float f = 2; optional int64 i = 3; optional bytes s = 4; optional TensorProto t = 5; repeated float floats = 7; repeated int64 ints = 8; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; optional string name = 8; optional bytes raw_data = 9; }
message TensorShapeProto { message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } oneof value { Tensor tensor_type = 1; } }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }`;

const weights = (n: number, seed: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed + i * 0.7) * 0.5;
  return new Uint8Array(a.buffer);
};

const shape = (dims: (number | string)[]) => ({
  dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
});

/** Bytes of the tiny model. `channels` widens the conv so runs take measurably longer. */
export function tinyOnnxModel(channels = 8): Uint8Array {
  const Model = protobuf.parse(SCHEMA).root.lookupType('onnx.ModelProto');
  const graph = {
    name: 'tiny',
    input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: shape(['N', 3, 8, 8]) } } }],
    output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: shape(['N', 4]) } } }],
    initializer: [
      { name: 'w', dims: [channels, 3, 3, 3], dataType: 1, rawData: weights(channels * 27, 1) },
      { name: 'b', dims: [channels], dataType: 1, rawData: weights(channels, 2) },
      { name: 'fc', dims: [channels, 4], dataType: 1, rawData: weights(channels * 4, 3) },
      { name: 'fcb', dims: [4], dataType: 1, rawData: weights(4, 4) },
    ],
    node: [
      {
        name: 'conv',
        opType: 'Conv',
        input: ['input', 'w', 'b'],
        output: ['c'],
        attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }],
      },
      { name: 'relu', opType: 'Relu', input: ['c'], output: ['r'] },
      { name: 'gap', opType: 'GlobalAveragePool', input: ['r'], output: ['g'] },
      { name: 'flat', opType: 'Flatten', input: ['g'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
      { name: 'fc', opType: 'MatMul', input: ['f', 'fc'], output: ['m'] },
      { name: 'add', opType: 'Add', input: ['m', 'fcb'], output: ['logits'] },
    ],
  };
  return Model.encode(Model.fromObject({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'test', graph })).finish();
}

/** Writes the tiny model into a fresh temp dir and returns its path. */
export function writeTinyOnnxModel(channels = 8): string {
  const dir = mkdtempSync(join(tmpdir(), 'pt-onnx-'));
  const path = join(dir, 'tiny.onnx');
  writeFileSync(path, tinyOnnxModel(channels));
  return path;
}

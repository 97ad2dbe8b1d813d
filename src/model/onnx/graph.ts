/**
 * The in-memory ONNX model the analyser and the writer work on. It is decoupled from protobuf so
 * that the zoo builder can make graphs whose weights are shape-only (a fill recipe instead of
 * bytes): analysis needs only shapes, and `models build` fills the bytes while writing.
 */

/** How `models build` fills a weight that has no bytes yet (deterministic from the build seed). */
export type TensorFill =
  /** Seeded uniform noise with the variance of N(0, std²) (the usual init scale). */
  | { readonly kind: 'random'; readonly std: number; readonly mean?: number }
  | { readonly kind: 'constant'; readonly value: number }
  /** 0, 1, 2, … along the flattened tensor (position ids). */
  | { readonly kind: 'range' };

/** Where the bytes of a tensor stored outside the .onnx file are. */
export interface ExternalLocation {
  readonly location: string;
  readonly offset: number;
  /** Bytes, or undefined when the file says "to the end of the file". */
  readonly length: number | undefined;
}

export interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  /** ONNX TensorProto.DataType code. */
  readonly dataType: number;
  /** Little-endian bytes when present in memory (small constants, or a parsed file's raw_data). */
  readonly data?: Uint8Array | undefined;
  /** Decoded typed fields of a parsed file (float_data, int64_data, …), used for small constants. */
  readonly values?: readonly number[] | undefined;
  /** A builder's recipe for filling the bytes at write time. */
  readonly fill?: TensorFill | undefined;
  /** Set when the bytes live in an external data file. */
  readonly external?: ExternalLocation | undefined;
}

/** A dimension as stored: a size, a symbolic name (dim_param), or unknown. */
export type StoredDim = number | string | null;

export interface ValueInfo {
  readonly name: string;
  /** ONNX element type; 0 when the value is not a tensor. */
  readonly elemType: number;
  /** undefined when the rank is unknown. */
  readonly dims: readonly StoredDim[] | undefined;
}

export type Attribute =
  | { readonly type: 'FLOAT'; readonly value: number }
  | { readonly type: 'INT'; readonly value: number }
  | { readonly type: 'STRING'; readonly value: string }
  | { readonly type: 'TENSOR'; readonly value: Tensor }
  | { readonly type: 'FLOATS'; readonly value: readonly number[] }
  | { readonly type: 'INTS'; readonly value: readonly number[] }
  | { readonly type: 'STRINGS'; readonly value: readonly string[] }
  /** Sub-graphs and other kinds the analyser does not look into. */
  | { readonly type: 'OTHER'; readonly kind: string };

export interface GraphNode {
  readonly name: string;
  readonly opType: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  /** '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: readonly Tensor[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Shapes the producer recorded for intermediate values (used when inference cannot). */
  readonly valueInfo: readonly ValueInfo[];
}

export interface OpsetId {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opsets: readonly OpsetId[];
  readonly producerName: string;
  readonly docString: string;
  readonly graph: Graph;
}

/** The opset version of the default ONNX domain. */
export function defaultOpset(m: OnnxModel): number {
  return m.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1;
}

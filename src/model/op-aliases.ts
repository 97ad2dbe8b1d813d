/**
 * Quantised and fused operators that compute like a base operator on some of their inputs: their
 * shapes and costs are the base op's on those inputs (scales and zero points are negligible).
 */
import type { GraphNode } from './onnx/graph.ts';

export interface OpAlias {
  readonly base: string;
  /** Which of the node's inputs become the base op's inputs, in order. */
  readonly inputs: readonly number[];
}

export const OP_ALIASES: Readonly<Record<string, OpAlias>> = {
  QLinearConv: { base: 'Conv', inputs: [0, 3, 8] },
  ConvInteger: { base: 'Conv', inputs: [0, 1] },
  FusedConv: { base: 'Conv', inputs: [0, 1, 2] },
  QLinearMatMul: { base: 'MatMul', inputs: [0, 3] },
  MatMulInteger: { base: 'MatMul', inputs: [0, 1] },
  FusedMatMul: { base: 'MatMul', inputs: [0, 1] },
  MatMulIntegerToFloat: { base: 'MatMul', inputs: [0, 1] },
  QLinearAdd: { base: 'Add', inputs: [0, 3] },
  QLinearMul: { base: 'Mul', inputs: [0, 3] },
  QLinearSigmoid: { base: 'Sigmoid', inputs: [0] },
  QLinearGlobalAveragePool: { base: 'GlobalAveragePool', inputs: [0] },
};

/** Domains whose ops are analysed (the ONNX default domain and ONNX Runtime's contrib ops). */
export const isKnownDomain = (domain: string): boolean => domain === '' || domain === 'ai.onnx' || domain === 'com.microsoft';

/** The node as its base op sees it, or the node itself when it has no alias. */
export function resolveAlias<T>(node: GraphNode, values: readonly T[]): { node: GraphNode; values: T[] } {
  const a = isKnownDomain(node.domain) ? OP_ALIASES[node.opType] : undefined;
  if (!a) return { node, values: [...values] };
  return {
    node: { ...node, opType: a.base, inputs: a.inputs.map((i) => node.inputs[i] ?? '') },
    values: a.inputs.map((i) => values[i] as T),
  };
}

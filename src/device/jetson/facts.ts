import facts from '../../../data/hardware/jetson.json' with { type: 'json' };

export interface RailFact {
  readonly covers: string;
  readonly shared?: boolean;
}

export const SOCS: Readonly<Record<string, { readonly family: string; readonly gpu: string }>> = facts.socs;
export const GPU_NODE_NAMES: readonly string[] = facts.gpuNodeNames;
export const TOTAL_RAILS: readonly string[] = facts.totalRails;
export const RAIL_FACTS: Readonly<Record<string, RailFact>> = facts.rails;

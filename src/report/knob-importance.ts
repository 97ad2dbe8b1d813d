/** How strongly a knob moves energy per query, from the surrogate's fitted lengthscale. */
export type Influence = 'strong' | 'moderate' | 'weak';

export interface KnobImportance {
  /** The key in `TuningRun.lengthscales`, e.g. "emcHz". */
  readonly knob: string;
  /** Plain name, e.g. "memory (EMC) frequency". */
  readonly label: string;
  readonly lengthscale: number;
  readonly influence: Influence;
}

const LABELS: Readonly<Record<string, string>> = {
  cpuHz: 'CPU frequency',
  gpuMinHz: 'GPU minimum frequency',
  gpuMaxHz: 'GPU maximum frequency',
  emcHz: 'memory (EMC) frequency',
  batch: 'batch size',
};

export const knobLabel = (knob: string): string => LABELS[knob] ?? knob;

/**
 * Lengthscales are in the optimiser's encoded input space, where every knob spans [0, 1]. A
 * lengthscale well under the span means energy changes several times across the knob's range; one
 * well over it means the surface is nearly flat along that knob.
 */
export const STRONG_BELOW = 0.5;
export const WEAK_ABOVE = 1.5;

export function influenceOf(lengthscale: number): Influence {
  if (lengthscale < STRONG_BELOW) return 'strong';
  if (lengthscale > WEAK_ABOVE) return 'weak';
  return 'moderate';
}

/** Knobs ranked from the one that matters most (shortest lengthscale). Non-positive or non-finite values are dropped. */
export function rankKnobs(lengthscales: Readonly<Record<string, number>>): KnobImportance[] {
  return Object.entries(lengthscales)
    .filter(([, l]) => Number.isFinite(l) && l > 0)
    .sort((a, b) => a[1] - b[1])
    .map(([knob, lengthscale]) => ({ knob, label: knobLabel(knob), lengthscale, influence: influenceOf(lengthscale) }));
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const list = (xs: readonly string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);
const ls = (k: KnobImportance) => `lengthscale ${k.lengthscale.toPrecision(2)}`;

/** Sentences that say which knobs matter for this model, most important first. */
export function describeKnobs(ranked: readonly KnobImportance[], model: string): string[] {
  if (ranked.length === 0) return [];
  const strong = ranked.filter((k) => k.influence === 'strong');
  const moderate = ranked.filter((k) => k.influence === 'moderate');
  const weak = ranked.filter((k) => k.influence === 'weak');
  const out: string[] = [];
  const top = ranked[0]!;
  out.push(
    `${capitalise(top.label)} matters most for ${model}: ${
      top.influence === 'strong'
        ? 'energy per query changes sharply across its range'
        : top.influence === 'moderate'
          ? 'energy per query changes steadily across its range'
          : 'yet even it moves energy per query only a little'
    } (${ls(top)}).`,
  );
  const otherStrong = strong.filter((k) => k !== top);
  if (otherStrong.length > 0)
    out.push(`${capitalise(list(otherStrong.map((k) => `${k.label} (${ls(k)})`)))} ${otherStrong.length > 1 ? 'also matter' : 'also matters'} strongly.`);
  const otherModerate = moderate.filter((k) => k !== top);
  if (otherModerate.length > 0)
    out.push(`${capitalise(list(otherModerate.map((k) => `${k.label} (${ls(k)})`)))} ${otherModerate.length > 1 ? 'have' : 'has'} a moderate, smooth effect.`);
  const otherWeak = weak.filter((k) => k !== top);
  if (otherWeak.length > 0)
    out.push(
      `${capitalise(list(otherWeak.map((k) => `${k.label} (${ls(k)})`)))} hardly ${otherWeak.length > 1 ? 'change' : 'changes'} energy per query; ${
        otherWeak.length > 1 ? 'they are' : 'it is'
      } a safe place to leave headroom for latency.`,
    );
  return out;
}

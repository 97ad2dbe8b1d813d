import type { Config, KnobName } from '../core/config.ts';
import type { TrialRecord } from '../core/tuning-run.ts';
import type { EnergyPoint } from './heatmap-data.ts';
import { formatEnergy } from './summary.ts';

/**
 * How strongly a knob moves energy per query, from the energy range across the knob with the other
 * knobs held (the highest energy over the lowest): none under 5 %, weak under 20 %, moderate under
 * 60 %, strong from there (1.6× and more).
 */
export type Influence = 'strong' | 'moderate' | 'weak' | 'none';

export const NONE_BELOW = 1.05;
export const WEAK_BELOW = 1.2;
export const MODERATE_BELOW = 1.6;

export function influenceOf(ratio: number): Influence {
  if (ratio < NONE_BELOW) return 'none';
  if (ratio < WEAK_BELOW) return 'weak';
  if (ratio < MODERATE_BELOW) return 'moderate';
  return 'strong';
}

/** Where a knob's effect was read: a grid of every configuration (twin or CSV), the run's surrogates, or its measurements. */
export type EffectSource = 'landscape' | 'surrogate' | 'measured';

/** One end of a knob's range: the knob's value and the energy (and tail latency) there. */
export interface EffectEnd {
  readonly value: number;
  readonly energyJ: number;
  readonly latencyMs: number;
}

export interface KnobEffect {
  readonly knob: KnobName;
  /** Plain name, e.g. "memory (EMC) frequency". */
  readonly label: string;
  /** Where energy is lowest and highest as the knob varies over `values` with the other knobs held at `held`. */
  readonly low: EffectEnd;
  readonly high: EffectEnd;
  /** high / low energy (≥ 1). */
  readonly ratio: number;
  /** How many values of the knob the comparison covers. */
  readonly values: number;
  readonly influence: Influence;
  readonly source: EffectSource;
  /** The points behind the comparison, one per value of the knob, ascending by value. */
  readonly ends: readonly EffectEnd[];
  /** The configuration the other knobs were held at. */
  readonly held: Config;
}

/** A knob the data cannot judge, and why. */
export interface UnknownEffect {
  readonly knob: KnobName;
  readonly label: string;
  readonly why: string;
}

export interface KnobEffects {
  /** Ranked from the largest energy range to the smallest. */
  readonly effects: readonly KnobEffect[];
  readonly unknown: readonly UnknownEffect[];
}

const LABELS: Readonly<Record<string, string>> = {
  cpuHz: 'CPU frequency',
  gpuMinHz: 'GPU minimum frequency',
  gpuMaxHz: 'GPU maximum frequency',
  emcHz: 'memory (EMC) frequency',
  batch: 'batch size',
};

export const knobLabel = (knob: string): string => LABELS[knob] ?? knob;

const KNOBS: readonly KnobName[] = ['batch', 'cpuHz', 'gpuMinHz', 'gpuMaxHz', 'emcHz'];

const present = (points: readonly EnergyPoint[], knob: KnobName): number[] =>
  [...new Set(points.map((p) => p.config[knob]).filter((v): v is number => v !== undefined))].sort((a, b) => a - b);

const nearest = (values: readonly number[], v: number): number => values.reduce((a, b) => (Math.abs(b - v) < Math.abs(a - v) ? b : a));

function effectOf(knob: KnobName, slice: readonly EnergyPoint[], source: EffectSource, held: Config): KnobEffect | null {
  // One energy per value of the knob (a grid has one point per value; repeats are averaged).
  const byValue = new Map<number, { e: number; l: number; n: number }>();
  for (const p of slice) {
    const v = p.config[knob];
    if (v === undefined || !Number.isFinite(p.energyJ) || p.energyJ <= 0) continue;
    const acc = byValue.get(v) ?? { e: 0, l: 0, n: 0 };
    acc.e += p.energyJ;
    acc.l = Math.max(acc.l, p.latencyMs);
    acc.n++;
    byValue.set(v, acc);
  }
  if (byValue.size < 2) return null;
  const ends = [...byValue].map(([value, a]) => ({ value, energyJ: a.e / a.n, latencyMs: a.l })).sort((a, b) => a.value - b.value);
  const low = ends.reduce((a, b) => (b.energyJ < a.energyJ ? b : a));
  const high = ends.reduce((a, b) => (b.energyJ > a.energyJ ? b : a));
  const ratio = high.energyJ / low.energyJ;
  return { knob, label: knobLabel(knob), low, high, ratio, values: byValue.size, influence: influenceOf(ratio), source, ends, held };
}

/**
 * Each knob's effect on a grid of predictions or exact values: the knob varied over every value the
 * grid has, every other knob held at `held` (snapped to the nearest value the grid has). A knob the
 * grid holds at one value is left for the caller to judge from elsewhere.
 */
export function gridKnobEffects(points: readonly EnergyPoint[], held: Config, source: EffectSource): Map<KnobName, KnobEffect | UnknownEffect> {
  const out = new Map<KnobName, KnobEffect | UnknownEffect>();
  const domains = new Map(KNOBS.map((k) => [k, present(points, k)]));
  for (const knob of KNOBS) {
    const dom = domains.get(knob)!;
    if (dom.length === 0) continue;
    if (dom.length === 1) {
      out.set(knob, { knob, label: knobLabel(knob), why: `it is held at ${valueText(knob, dom[0]!)}` });
      continue;
    }
    const target: Partial<Record<KnobName, number>> = {};
    for (const k of KNOBS) {
      const d = domains.get(k)!;
      const v = held[k];
      if (k !== knob && d.length > 0) target[k] = v === undefined ? d[0]! : nearest(d, v);
    }
    const slice = points.filter((p) => KNOBS.every((k) => k === knob || target[k] === undefined || p.config[k] === target[k]));
    const e = effectOf(knob, slice, source, { ...target, batch: target.batch ?? held.batch } as Config);
    out.set(knob, e ?? { knob, label: knobLabel(knob), why: 'no configurations vary it alone around the recommendation' });
  }
  return out;
}

/**
 * Each knob's effect from measurements alone: trials that differ only in that knob (the group that
 * holds the others at the recommendation when there is one, else the one covering the most values).
 */
export function measuredKnobEffects(trials: readonly TrialRecord[], held: Config | null): Map<KnobName, KnobEffect | UnknownEffect> {
  const valid = trials.filter((t) => t.measurement.valid);
  const points: EnergyPoint[] = valid.map((t) => ({ config: t.config, energyJ: t.measurement.energyPerQueryJ, latencyMs: t.measurement.latencyTailMs }));
  const out = new Map<KnobName, KnobEffect | UnknownEffect>();
  for (const knob of KNOBS) {
    if (present(points, knob).length === 0) continue;
    const others = (c: Config) =>
      KNOBS.filter((k) => k !== knob)
        .map((k) => c[k] ?? '-')
        .join('|');
    const groups = new Map<string, EnergyPoint[]>();
    for (const p of points) {
      const key = others(p.config);
      const g = groups.get(key);
      if (g) g.push(p);
      else groups.set(key, [p]);
    }
    const candidates = [...groups.values()].filter((g) => present(g, knob).length >= 2);
    const atHeld = held ? groups.get(others(held)) : undefined;
    const best =
      atHeld && present(atHeld, knob).length >= 2
        ? atHeld
        : candidates.sort((a, b) => present(b, knob).length - present(a, knob).length || b.length - a.length)[0];
    const e = best ? effectOf(knob, best, 'measured', best[0]!.config) : null;
    out.set(knob, e ?? { knob, label: knobLabel(knob), why: 'the run measured no two configurations that differ only in it' });
  }
  return out;
}

/** Combine sources knob by knob: the first that can judge a knob wins; rank by energy range. */
export function combineEffects(...sources: Map<KnobName, KnobEffect | UnknownEffect>[]): KnobEffects {
  const effects: KnobEffect[] = [];
  const unknown: UnknownEffect[] = [];
  for (const knob of KNOBS) {
    let found: KnobEffect | undefined;
    let why: UnknownEffect | undefined;
    for (const s of sources) {
      const e = s.get(knob);
      if (!e) continue;
      if ('ratio' in e) {
        found = e;
        break;
      }
      why ??= e;
    }
    if (found) effects.push(found);
    else if (why) unknown.push(why);
  }
  effects.sort((a, b) => b.ratio - a.ratio);
  return { effects, unknown };
}

export function valueText(knob: KnobName, v: number): string {
  return knob === 'batch' ? `batch ${v}` : `${Math.round(v / 1e6)} MHz`;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const pct = (ratio: number) => (ratio - 1 < 0.001 ? 'under 0.1 %' : `${((ratio - 1) * 100).toFixed(ratio < 1.1 ? 1 : 0)} %`);
const times = (ratio: number) => `${ratio.toFixed(ratio < 10 ? 1 : 0)}×`;

/** "21.0 mJ at batch 16 (over the SLO)" */
function endText(e: KnobEffect, end: EffectEnd, sloMs: number | undefined): string {
  return `${formatEnergy(end.energyJ)} at ${valueText(e.knob, end.value)}${sloMs !== undefined && end.latencyMs > sloMs ? ' (misses the SLO)' : ''}`;
}

/** How much a knob changes energy, in words and numbers: "2.6×", "by 35 %". */
function amount(e: KnobEffect): string {
  return e.influence === 'strong' ? times(e.ratio) : `by ${pct(e.ratio)}`;
}

/**
 * Both ends, lowest energy first: "from 21.0 mJ at batch 16 to 55.3 mJ at batch 1"; when an end
 * misses the SLO, the range among the values that meet it follows.
 */
function span(e: KnobEffect, sloMs: number | undefined): string {
  if (formatEnergy(e.low.energyJ) === formatEnergy(e.high.energyJ)) return `${formatEnergy(e.low.energyJ)} over all ${e.values} values`;
  const whole = `from ${endText(e, e.low, sloMs)} to ${endText(e, e.high, sloMs)}`;
  if (sloMs === undefined || (e.low.latencyMs <= sloMs && e.high.latencyMs <= sloMs)) return whole;
  const ok = e.ends.filter((x) => x.latencyMs <= sloMs);
  if (ok.length < 2) return `${whole}; ${ok.length === 0 ? 'no value' : `only ${valueText(e.knob, ok[0]!.value)}`} meets the SLO there`;
  const lo = ok.reduce((a, b) => (b.energyJ < a.energyJ ? b : a));
  const hi = ok.reduce((a, b) => (b.energyJ > a.energyJ ? b : a));
  const r = hi.energyJ / lo.energyJ;
  return `${whole}; among the ${ok.length} values that meet the SLO, ${influenceOf(r) === 'strong' ? times(r) : pct(r)} (${formatEnergy(lo.energyJ)} at ${valueText(e.knob, lo.value)} to ${formatEnergy(hi.energyJ)} at ${valueText(e.knob, hi.value)})`;
}

/**
 * Sentences that say which knobs matter for this model, most important first, each with the numbers
 * it follows from: no word stronger or weaker than the energy range the data shows.
 */
export function describeKnobs(fx: KnobEffects, model: string, sloMs?: number): string[] {
  const out: string[] = [];
  const [top, ...rest] = fx.effects;
  if (top) {
    out.push(
      top.influence === 'none'
        ? `No knob moves energy per query much for ${model}: even ${top.label} changes it only ${amount(top)} (${span(top, sloMs)}).`
        : `${capitalise(top.label)} matters most for ${model}: energy per query changes ${amount(top)} across it, ${span(top, sloMs)}.`,
    );
    for (const e of rest) {
      if (top.influence === 'none') continue;
      const measured = e.source === 'measured' && top.source !== 'measured' ? ' (from trials that differ only in it)' : '';
      out.push(
        e.influence === 'none'
          ? `${capitalise(e.label)} hardly changes it: ${pct(e.ratio)}, ${span(e, sloMs)}${measured}.`
          : e.influence === 'weak'
            ? `${capitalise(e.label)} changes it a little, ${amount(e)}: ${span(e, sloMs)}${measured}.`
            : `${capitalise(e.label)} changes it ${amount(e)}: ${span(e, sloMs)}${measured}.`,
      );
    }
    if (top.influence === 'none' && rest.length > 0) out.push(`${capitalise(list(rest.map((e) => `${e.label} (${pct(e.ratio)})`)))} change it even less.`);
  }
  if (fx.unknown.length > 0) out.push(`Nothing here shows the effect of ${list(fx.unknown.map((u) => `${u.label} (${u.why})`))}.`);
  return out;
}

const list = (xs: readonly string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

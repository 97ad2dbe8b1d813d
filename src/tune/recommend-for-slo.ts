/**
 * Answer a new SLO from a finished tuning run, without measuring: the best measured configuration
 * that meets it with the run's margin, and the surrogates' best prediction over the whole search
 * space (which may be a configuration never measured). The fine-tuning scheduler calls this when
 * the SLO changes at run time.
 */
import { type Config, configKey, type KnobDomains } from '../core/config.ts';
import { badInput } from '../core/errors.ts';
import type { StoredSurrogates, TuningRun } from '../core/tuning-run.ts';
import { checkSlo, latencyLimitMs, SLO_MARGINS, type Slo } from '../core/slo.ts';
import { gpFromState } from '../optimize/gp.ts';
import { createKnobSpace } from './knob-space.ts';
import { normCdf } from '../numerics/normal.ts';
import { enumerateGrid, gridPoint } from '../optimize/search-space.ts';

export interface SloAnswer {
  readonly slo: Slo;
  readonly margin: number;
  /** Lowest-energy measured configuration whose worst measured tail met SLO × (1 − margin). */
  readonly measured: {
    readonly config: Config;
    readonly energyPerQueryJ: number;
    readonly latencyTailMs: number;
    /** How many measurements back it (a confirmed recommendation has two). */
    readonly measurements: number;
  } | null;
  /** The surrogates' lowest predicted energy among configurations at least `confidence` likely to meet it. */
  readonly predicted: {
    readonly config: Config;
    readonly energyPerQueryJ: number;
    readonly latencyTailMs: number;
    readonly probabilityFeasible: number;
    readonly measuredAlready: boolean;
  } | null;
  /** Set when nothing measured meets the SLO. */
  readonly infeasibleReason?: string;
}

export interface RecommendOptions {
  /** Latency margin (default: the run's, else `SLO_MARGINS.recommendation`). */
  readonly margin?: number;
  /** Probability of meeting the SLO a predicted configuration needs (default 0.95). */
  readonly confidence?: number;
}

export function recommendForSlo(run: TuningRun, slo: Slo, opts: RecommendOptions = {}): SloAnswer {
  checkSlo(slo);
  if (Math.abs(slo.quantile - run.slo.quantile) > 1e-9)
    throw badInput(
      `this run measured p${run.slo.quantile * 100} latency; it cannot answer an SLO at p${slo.quantile * 100}`,
      'tune again with --quantile set to the new SLO quantile',
    );
  const margin = opts.margin ?? run.margin ?? SLO_MARGINS.recommendation;
  const limit = latencyLimitMs(slo, margin);
  // every configuration measured, with its mean energy and its worst tail
  const byConfig = new Map<string, { config: Config; e: number[]; tail: number }>();
  for (const t of run.trials) {
    const m = t.measurement;
    if (!m.valid) continue;
    const k = configKey(t.config);
    const g = byConfig.get(k) ?? { config: t.config, e: [], tail: 0 };
    g.e.push(m.energyPerQueryJ);
    g.tail = Math.max(g.tail, m.latencyTailMs);
    byConfig.set(k, g);
  }
  let measured: SloAnswer['measured'] = null;
  let fastest = Number.POSITIVE_INFINITY;
  for (const g of byConfig.values()) {
    fastest = Math.min(fastest, g.tail);
    if (g.tail > limit) continue;
    const e = g.e.reduce((a, b) => a + b, 0) / g.e.length;
    if (!measured || e < measured.energyPerQueryJ) measured = { config: g.config, energyPerQueryJ: e, latencyTailMs: g.tail, measurements: g.e.length };
  }
  const predicted = run.surrogates ? predictBest(run.surrogates, limit, opts.confidence ?? 0.95, byConfig) : null;
  const q = `p${+(slo.quantile * 100).toFixed(3)}`;
  return {
    slo,
    margin,
    measured,
    predicted,
    ...(measured
      ? {}
      : {
          infeasibleReason: Number.isFinite(fastest)
            ? `infeasible: the fastest configuration measured ${fastest.toFixed(1)} ms at ${q} (SLO ${slo.latencyMs} ms)`
            : 'infeasible: the run has no valid measurement',
        }),
  };
}

function predictBest(s: StoredSurrogates, limitMs: number, confidence: number, measured: ReadonlyMap<string, unknown>): SloAnswer['predicted'] {
  const table = (name: string) => s.dims.find((d) => d.name === name)?.values;
  const domains: KnobDomains = {
    ...(table('cpuHz') ? { cpuHz: table('cpuHz')! } : {}),
    ...(table('gpuMinHz') ? { gpuHz: table('gpuMinHz')! } : {}),
    ...(table('emcHz') ? { emcHz: table('emcHz')! } : {}),
    batch: table('batch') ?? [1],
  };
  const space = createKnobSpace({ domains, fixed: s.fixed });
  if (space.dims.length !== s.objective.dims) return null;
  const grid = enumerateGrid(space, 200_000);
  if (!grid) return null;
  const obj = gpFromState(s.objective).predict(grid.x, grid.size);
  const con = gpFromState(s.constraint).predict(grid.x, grid.size);
  const logLimit = Math.log(limitMs);
  let bi = -1;
  let bp = 0;
  for (let i = 0; i < grid.size; i++) {
    const p = normCdf((logLimit - con.mean[i]!) / Math.sqrt(con.variance[i]! + s.constraint.hyper.noiseVariance * s.constraint.yStd ** 2));
    if (p < confidence) continue;
    if (bi < 0 || obj.mean[i]! < obj.mean[bi]!) {
      bi = i;
      bp = p;
    }
  }
  if (bi < 0) return null;
  const config = space.toConfig(gridPoint(grid, bi));
  return {
    config,
    energyPerQueryJ: Math.exp(obj.mean[bi]!),
    latencyTailMs: Math.exp(con.mean[bi]!),
    probabilityFeasible: bp,
    measuredAlready: measured.has(configKey(config)),
  };
}

/**
 * Regret of the tuner's final recommendation against the twin's noise-free optimum: whole `tune`
 * runs (two-phase CBO, confirming re-measurement) on the noisy twin, each scored with the exact
 * landscape (every CPU clock × GPU min ≤ GPU max × EMC × batch {1,2,4,8,16}); SLOs are 1.5× (tight),
 * 3× (medium) and 6× (loose) the fastest exact p99 of that landscape.
 *
 *   npx tsx bench/recommendation-regret.bench.ts [--seeds N] [--budget N] [--boards a,b] [--models a,b] [--levels tight,medium,loose] [--joint]
 *
 * Per run: regret = E_true(recommendation)/E_opt − 1, whether the recommendation truly breaks the SLO,
 * and whether a trial that met the margin in its own window at lower measured energy was passed over
 * ("passed-over", with its true energy). Also checks the twin's tail bias: mean measured p99 / exact p99
 * over the recommended configurations' confirmations.
 */
import { type Config, configKey } from '../src/core/config.ts';
import { computeLandscape, createSimTrialRunner, evaluateConfig, loadBoard } from '../src/device/sim/index.ts';
import { zooProfile } from '../src/model/zoo/index.ts';
import { tune } from '../src/tune/index.ts';

const args = process.argv.slice(2);
const value = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const list = (name: string, dflt: string[]) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]!.split(',') : dflt;
};
const seeds = value('--seeds', 3);
const budget = value('--budget', 30);
const boards = list('--boards', ['orin-agx', 'tx2', 'orin-nano']);
const models = list('--models', ['efficientnet-b0', 'bert-base']);
const levels = list('--levels', ['tight', 'medium', 'loose']);
const joint = args.includes('--joint');
const LEVEL = { tight: 1.5, medium: 3, loose: 6 } as Record<string, number>;
const BATCHES = [1, 2, 4, 8, 16];

interface Row {
  scenario: string;
  seed: number;
  regret: number | null;
  /** Against the optimum at the CPU clock the run's first phase chose (the recommendation step's own share). */
  regretAtCpu: number | null;
  infeasible: boolean;
  passedOver: number;
  passedOverBetter: number;
  tailRatio: number[];
}
const rows: Row[] = [];
const t0 = performance.now();
for (const boardName of boards)
  for (const model of models) {
    const board = loadBoard(boardName);
    const profile = zooProfile(model);
    const land = computeLandscape({ board, profile, batchSizes: BATCHES, cpu: 'all' });
    const fastest = Math.min(...land.rows.map((r) => r.latency_p99_ms));
    const truthCache = new Map<string, { e: number; tail: number }>();
    const truth = (c: Config) => {
      const k = configKey(c);
      let t = truthCache.get(k);
      if (!t) {
        const ev = evaluateConfig(board, profile, c, { quantile: 0.99 });
        t = { e: ev.powerW / ev.throughputQps, tail: ev.latencyTailMs };
        truthCache.set(k, t);
      }
      return t;
    };
    for (const level of levels) {
      const sloMs = Number((fastest * LEVEL[level]!).toPrecision(3));
      const feas = land.rows.filter((r) => r.latency_p99_ms <= sloMs);
      const optJ = Math.min(...feas.map((r) => r.energy_per_query_j));
      for (let s = 0; s < seeds; s++) {
        const runner = createSimTrialRunner({ board, profile, seed: 100 + s });
        const run = await tune({ runner, model, slo: { latencyMs: sloMs, quantile: 0.99 }, budget, seed: s, baselines: false, joint });
        const rec = run.recommendation;
        const row: Row = {
          scenario: `${boardName}/${model}/${level}`,
          seed: s,
          regret: null,
          regretAtCpu: null,
          infeasible: false,
          passedOver: 0,
          passedOverBetter: 0,
          tailRatio: [],
        };
        if (rec) {
          const tr = truth(rec.config);
          row.regret = tr.e / optJ - 1;
          row.infeasible = tr.tail > sloMs;
          const atCpu = feas.filter((r) => r.cpu_hz === rec.config.cpuHz).map((r) => r.energy_per_query_j);
          if (atCpu.length > 0) row.regretAtCpu = tr.e / Math.min(...atCpu) - 1;
          const limit = sloMs * (1 - (run.margin ?? 0.02));
          const recKey = configKey(rec.config);
          for (const t of run.trials) {
            if (t.source === 'confirm' || configKey(t.config) === recKey) continue;
            const m = t.measurement;
            if (m.valid && m.latencyTailMs <= limit && m.energyPerQueryJ < rec.measurement.energyPerQueryJ) {
              row.passedOver++;
              const tt = truth(t.config);
              if (tt.e < tr.e && tt.tail <= sloMs) row.passedOverBetter++;
            }
          }
          for (const t of run.trials) if (t.source === 'confirm') row.tailRatio.push(t.measurement.latencyTailMs / truth(t.config).tail);
        }
        rows.push(row);
        console.log(
          `${row.scenario.padEnd(34)} seed ${s}  regret ${row.regret === null ? 'none' : `${(row.regret * 100).toFixed(2)} %`} (at its CPU ${row.regretAtCpu === null ? '–' : `${(row.regretAtCpu * 100).toFixed(2)} %`})${row.infeasible ? ' INFEASIBLE' : ''}  passed-over ${row.passedOver} (truly better & feasible ${row.passedOverBetter})`,
        );
      }
    }
  }
const ratios = rows.flatMap((r) => r.tailRatio);
console.log(`\nruns ${rows.length} · budget ${budget}${joint ? ' · joint' : ' · two-phase'} · ${((performance.now() - t0) / 1000).toFixed(0)} s`);
for (const [name, pick] of [
  ['regret vs the global optimum', (r: Row) => r.regret],
  ['regret vs the optimum at the chosen CPU clock', (r: Row) => r.regretAtCpu],
] as const) {
  const reg = rows
    .map(pick)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  const q = (p: number) => reg[Math.min(reg.length - 1, Math.floor(p * reg.length))]!;
  const mean = reg.reduce((a, b) => a + b, 0) / reg.length;
  console.log(
    `${name}: mean ${(mean * 100).toFixed(2)} %  median ${(q(0.5) * 100).toFixed(2)} %  p90 ${(q(0.9) * 100).toFixed(2)} %  max ${(reg[reg.length - 1]! * 100).toFixed(2)} %` +
      `  · within 1 %: ${reg.filter((v) => v <= 0.01).length}/${reg.length} · within 5 %: ${reg.filter((v) => v <= 0.05).length}/${reg.length}`,
  );
}
console.log(
  `truly infeasible recommendations: ${rows.filter((r) => r.infeasible).length} · no recommendation: ${rows.filter((r) => r.regret === null).length}`,
);
console.log(
  `runs where a lower measured-energy in-margin trial was passed over: ${rows.filter((r) => r.passedOver > 0).length} (truly better and feasible: ${rows.filter((r) => r.passedOverBetter > 0).length})`,
);
const rm = ratios.reduce((a, b) => a + b, 0) / ratios.length;
const rmed = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
console.log(`confirmation p99 / exact p99: mean ${rm.toFixed(4)}, median ${rmed.toFixed(4)} over ${ratios.length} confirmations`);

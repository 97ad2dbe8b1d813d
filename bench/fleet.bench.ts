/**
 * Fleet benchmark: N = 1, 2, 4, 8 simulated boards (agents) tuning one board type in parallel
 * through the store's lease queue, against N = 1 in the same run.
 *
 *   npm run bench:fleet                 # orin-agx × {efficientnet-b0, bert-base} × {tight, medium, loose} × 5 seeds
 *   npm run bench:fleet -- --quick      # orin-agx × efficientnet-b0 × medium × 3 seeds
 *   options: --seeds N  --first-seed N (default 1)  --budget N (search trials, default 40)  --store postgres|sqlite (default postgres
 *            when the server answers)  --strategies a,b (pending-point strategies to compare at N = 4)
 *            --models a,b  --slos tight,medium,loose
 *
 * Time is VIRTUAL: the agents run in this process as a discrete-event simulation; a trial takes the
 * twin's simulated duration (2 s settling + 3 windows of 10 s = 32 s), the driver's suggestion time
 * is added as measured, and every lease, renewal and completion goes through the real store (with
 * the virtual clock passed as `now`). Wall times below are simulated seconds, not this machine's.
 *
 * Boards differ: board i scales energy by exp(0.03 z) and latency by exp(0.015 z) (fixed per id).
 * A run's optimum is the lowest true energy among configurations whose true p99 on its slowest board
 * meets the SLO; "to 5 %" is the first virtual time the driver's incumbent is truly within 5 % of it
 * and truly meets the SLO on every board of the run; "final regret" is the final recommendation's
 * E_true / E_opt − 1 after the whole budget. One extra run per scenario kills an agent mid-trial:
 * its lease expires, another board takes the trial over, and the dead agent's late completion is
 * refused; the run counts lost and duplicated trials. Writes bench/results/fleet.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type Config, configKey } from '../src/core/config.ts';
import { SLO_MARGINS } from '../src/core/slo.ts';
import { computeLandscape, createSimTrialRunner, loadBoard } from '../src/device/sim/index.ts';
import { boardDeviation, measureLease, type MeasuredLease, simBoardRunner, simTrialSeconds, startFleetRun } from '../src/fleet/index.ts';
import { modelSpecOf, profileForSpec } from '../src/model/model-spec.ts';
import type { PendingStrategy } from '../src/optimize/pending-points.ts';
import { type AgentIdentity, PostgresStore, type Store, TuningStore } from '../src/store/index.ts';
import { freshSchema, type TestSchema } from '../test/fixtures/postgres.ts';

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(n);
const opt = (n: string, d: string) => (args.includes(n) ? args[args.indexOf(n) + 1]! : d);
const quick = flag('--quick');
const seeds = Number(opt('--seeds', quick ? '3' : '5'));
const firstSeed = Number(opt('--first-seed', '1'));
const budget = Number(opt('--budget', '40'));
const models = opt('--models', quick ? 'efficientnet-b0' : 'efficientnet-b0,bert-base').split(',');
const slos = opt('--slos', quick ? 'medium' : 'tight,medium,loose').split(',');
const strategies = opt('--strategies', quick ? '' : 'cl-min,cl-mean,cl-max,kriging-believer,none')
  .split(',')
  .filter(Boolean) as PendingStrategy[];
const NS = opt('--ns', '1,2,4,8').split(',').map(Number);
const boardOffsets = opt('--offsets', 'on') !== 'off';
const referenceAfter = args.includes('--reference-after') ? Number(opt('--reference-after', '0')) : undefined;
const referenceRepeats = args.includes('--reference-repeats') ? Number(opt('--reference-repeats', '3')) : undefined;
const initialPoints = args.includes('--initial-points') ? Number(opt('--initial-points', '6')) : undefined;
const references = args.includes('--references') ? opt('--references', 'on') !== 'off' : undefined;
const boardMargin = args.includes('--board-margin') ? Number(opt('--board-margin', '0')) : undefined;
const confirmRounds = args.includes('--confirm-rounds') ? Number(opt('--confirm-rounds', '3')) : undefined;
const strategyOverride = args.includes('--strategy') ? (opt('--strategy', '') as PendingStrategy) : null;
const BOARD = 'orin-agx';
const BATCHES = [1, 2, 4, 8, 16];
const SLO_LEVELS: Record<string, number> = { tight: 1.5, medium: 3, loose: 6 };
const MARGIN = SLO_MARGINS.recommendation;
const LEASE_MS = 120_000;
const POLL_S = 1;

let pgSchema: TestSchema | null = null;
async function openBenchStore(): Promise<Store> {
  const want = opt('--store', 'postgres');
  if (want === 'postgres') {
    try {
      pgSchema ??= await freshSchema();
      return await PostgresStore.open(pgSchema.url);
    } catch (e) {
      if (args.includes('--store')) throw e;
      console.error(`PostgreSQL not reachable (${(e as Error).message}); using SQLite`);
    }
  }
  return new TuningStore(':memory:');
}

interface Truth {
  readonly e: number;
  readonly tail: number;
}

interface SimAgent {
  readonly id: AgentIdentity;
  readonly runner: ReturnType<typeof simBoardRunner>;
  /** Virtual s when the current trial completes, or when to look for a lease again. */
  at: number;
  current: MeasuredLease | null;
  dead: boolean;
  leases: number;
}

interface RunResult {
  readonly model: string;
  readonly slo: string;
  readonly n: number;
  readonly strategy: PendingStrategy;
  readonly seed: number;
  /** Virtual s to within 5 % (null: not within the budget). */
  readonly wall5: number | null;
  /** Virtual s to measure the whole budget. */
  readonly wallAll: number;
  readonly finalRegret: number | null;
  /** Against the best configuration whose true p99 keeps the margin on the slowest board (negative: it used the margin). */
  readonly finalRegretMargin: number | null;
  readonly finalFeasible: boolean;
  readonly searchTrials: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly refusedLate: number;
  readonly suggestS: number;
  /** |estimated − true| energy offset, mean over boards (relative). */
  readonly offsetError: number;
  readonly confirmRounds: number;
  readonly config: string | null;
}

async function simulate(
  scenario: {
    model: string;
    slo: string;
    sloMs: number;
    truth: Map<string, Truth>;
    device: Awaited<ReturnType<ReturnType<typeof createSimTrialRunner>['describe']>>;
  },
  n: number,
  strategy: PendingStrategy,
  seed: number,
  kill = false,
): Promise<RunResult> {
  const store = await openBenchStore();
  const model = modelSpecOf(scenario.model);
  const boards = Array.from({ length: n }, (_, i) => `${BOARD}-board-${i}`);
  const devs = boards.map((b) => boardDeviation(b));
  const worstLat = Math.max(...devs.map((d) => d.latency));
  // the optimum for the boards of this run: feasible on the slowest one
  let optJ = Number.POSITIVE_INFINITY;
  // and the best that keeps the recommendation's margin on the slowest board (what the tuner aims at)
  let optMarginJ = Number.POSITIVE_INFINITY;
  for (const t of scenario.truth.values()) {
    if (t.tail * worstLat <= scenario.sloMs) optJ = Math.min(optJ, t.e);
    if (t.tail * worstLat <= scenario.sloMs * (1 - MARGIN)) optMarginJ = Math.min(optMarginJ, t.e);
  }
  const fleetOk = (c: Config) => {
    const t = scenario.truth.get(configKey(c));
    return t !== undefined && t.tail * worstLat <= scenario.sloMs;
  };
  const setup = await startFleetRun({
    store,
    device: scenario.device,
    model,
    slo: { latencyMs: scenario.sloMs, quantile: 0.99 },
    budget,
    seed,
    parallel: n,
    margin: MARGIN,
    batchSizes: BATCHES,
    strategy,
    boardOffsets,
    ...(referenceAfter === undefined ? {} : { referenceAfter }),
    ...(referenceRepeats === undefined ? {} : { referenceRepeats }),
    ...(initialPoints === undefined ? {} : { initialPoints }),
    ...(references === undefined ? {} : { references }),
    ...(confirmRounds === undefined ? {} : { confirmRounds }),
    ...(boardMargin === undefined ? {} : { boardMargin }),
    runId: `bench-${scenario.model}-${scenario.slo}-${n}-${strategy}-${seed}-${kill ? 'kill' : 'ok'}-${Math.random().toString(36).slice(2, 8)}`,
  });
  const { tuner } = setup;
  const agents: SimAgent[] = boards.map((boardId, i) => ({
    id: { agentId: `agent-${i}`, boardId, boardType: BOARD },
    runner: simBoardRunner({ board: BOARD, boardId }, model),
    at: 0,
    current: null,
    dead: false,
    leases: 0,
  }));
  let t = 0;
  let suggestS = 0;
  let wall5: number | null = null;
  let refusedLate = 0;
  let zombie: MeasuredLease | null = null;
  let killed = false;
  const fill = async () => {
    const t0 = performance.now();
    await tuner.fill(t * 1000);
    const s = (performance.now() - t0) / 1000;
    suggestS += s;
    t += s;
  };
  await fill();
  for (let guard = 0; !tuner.finished && guard < 100_000; guard++) {
    // idle agents whose time has come look for a lease
    for (const a of agents) {
      if (a.dead || a.current || a.at > t) continue;
      const lease = await store.leaseTrial(a.id, { leaseMs: LEASE_MS, runId: setup.runId, now: t * 1000 });
      if (!lease) {
        a.at = t + POLL_S;
        continue;
      }
      a.leases++;
      a.current = await measureLease(lease, a.runner);
      a.at = t + simTrialSeconds(a.current.measurement);
      // the killed agent dies in the middle of its first search trial after its second lease
      if (kill && a === agents[1] && a.leases >= 3 && lease.source !== 'baseline' && !a.dead && zombie === null && !killed) {
        killed = true;
        a.dead = true;
        zombie = a.current;
      }
    }
    const live = agents.filter((a) => !a.dead);
    if (live.length === 0) break;
    t = Math.max(t, Math.min(...live.map((a) => a.at)));
    for (const a of live) {
      if (!a.current || a.at > t) continue;
      const ok = await store.completeTrial(a.current.lease, a.id, a.current.measurement, a.current.feasible, t * 1000);
      if (!ok) throw new Error('a live agent lost its lease');
      a.current = null;
    }
    // the dead agent comes back after its lease was taken over and tries to write its result
    if (zombie && t * 1000 > zombie.lease.expiresMs + 60_000) {
      const ok = await store.completeTrial(zombie.lease, agents[1]!.id, zombie.measurement, zombie.feasible, t * 1000);
      if (!ok) refusedLate++;
      zombie = null;
    }
    const fresh = await tuner.collect();
    if (fresh.length > 0) {
      await fill();
      const inc = tuner.incumbent();
      const tr = inc ? scenario.truth.get(configKey(inc.config)) : undefined;
      if (wall5 === null && inc && tr && fleetOk(inc.config) && tr.e <= optJ * 1.05) wall5 = t;
    }
  }
  const inc = tuner.incumbent();
  const tr = inc ? scenario.truth.get(configKey(inc.config)) : undefined;
  const trials = tuner.measured;
  const search = trials.filter((x) => x.source !== 'baseline' && x.source !== 'confirm');
  const perQueue = new Map<number, number>();
  for (const x of trials) perQueue.set(x.queueId, (perQueue.get(x.queueId) ?? 0) + 1);
  const duplicated = [...perQueue.values()].filter((c) => c > 1).length;
  const qs = await store.queueState(setup.runId, t * 1000);
  const offsets = tuner.offsets();
  const meanLogE = devs.reduce((s, d) => s + Math.log(d.energy), 0) / devs.length;
  const offErr = boards.reduce((s, b, i) => s + Math.abs((offsets.get(b)?.energy ?? 0) - (Math.log(devs[i]!.energy) - meanLogE)), 0) / boards.length;
  if (process.env.FLEET_DEBUG)
    for (const c of [...tuner.confirmation.rejected, ...(inc ? [inc.config] : [])]) {
      const tc = scenario.truth.get(configKey(c))!;
      const ms = trials
        .filter((x) => configKey(x.config) === configKey(c))
        .map((x) => `${x.boardId.slice(-1)}:${x.source}:${(x.measurement.latencyTailMs / scenario.sloMs).toFixed(3)}`);
      console.error(
        `  ${configKey(c)} regret ${pct(tc.e / optJ - 1)} slowest ${((tc.tail * worstLat) / scenario.sloMs).toFixed(3)} × SLO; measured ${ms.join(' ')}`,
      );
    }
  await store.close();
  return {
    model: scenario.model,
    slo: scenario.slo,
    n,
    strategy,
    seed,
    wall5,
    wallAll: t,
    finalRegret: tr ? tr.e / optJ - 1 : null,
    finalRegretMargin: tr ? tr.e / optMarginJ - 1 : null,
    finalFeasible: inc ? fleetOk(inc.config) : false,
    searchTrials: search.length,
    // posted search trials never measured (none is in flight once the tuner has finished)
    lost: tuner.posted - search.length + qs.queued + qs.leased + qs.expired,
    duplicated,
    refusedLate,
    suggestS,
    offsetError: offErr,
    confirmRounds: tuner.confirmation.rounds,
    config: inc ? configKey(inc.config) : null,
  };
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

const started = performance.now();
const results: RunResult[] = [];
const killRuns: RunResult[] = [];
const DEFAULT = strategyOverride ?? (await import('../src/fleet/parallel-tuner.ts')).DEFAULT_PENDING_STRATEGY;
for (const modelName of models) {
  const board = loadBoard(BOARD);
  const model = modelSpecOf(modelName);
  const profile = profileForSpec(model);
  const device = await createSimTrialRunner({ board, profile }).describe();
  const cpuHz = device.knobs.cpuHz!.at(-1)!;
  const land = computeLandscape({ board, profile, batchSizes: BATCHES, cpuHz, noise: 0 });
  const truth = new Map<string, Truth>();
  for (const r of land.rows)
    truth.set(configKey({ cpuHz: r.cpu_hz, gpuMinHz: r.gpu_min_hz, gpuMaxHz: r.gpu_max_hz, emcHz: r.emc_hz, batch: r.batch }), {
      e: r.energy_per_query_j,
      tail: r.latency_p99_ms,
    });
  const fastest = Math.min(...land.rows.map((r) => r.latency_p99_ms));
  for (const level of slos) {
    const sloMs = +(fastest * SLO_LEVELS[level]!).toPrecision(3);
    const scenario = { model: modelName, slo: level, sloMs, truth, device };
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      for (const n of NS) {
        const r = await simulate(scenario, n, DEFAULT, seed);
        results.push(r);
        console.error(
          `${modelName} ${level} seed ${seed} N=${n}: to 5 % ${r.wall5?.toFixed(0) ?? '–'} s, all ${r.wallAll.toFixed(0)} s, regret ${r.finalRegret === null ? '–' : pct(r.finalRegret)}${r.finalFeasible ? '' : ' INFEASIBLE on its slowest board'}, confirmation rounds ${r.confirmRounds}, suggest ${r.suggestS.toFixed(1)} s`,
        );
      }
      for (const s of strategies) if (s !== DEFAULT) results.push(await simulate(scenario, 4, s, seed));
      const k = await simulate(scenario, 4, DEFAULT, seed, true);
      killRuns.push(k);
      console.error(
        `${modelName} ${level} seed ${seed} N=4 with a killed agent: lost ${k.lost}, duplicated ${k.duplicated}, late completion refused ${k.refusedLate}`,
      );
    }
  }
}

/**
 * Store capacity: `clients` agents (one connection each) lease and complete trials back to back
 * with no measuring in between, for `seconds`, each completion followed by posting the next trial
 * (the driver's write), so a trial costs what it costs in a run: post + lease + complete. Completed
 * trials per second and the round trip; the database's side of a fleet at full tilt.
 */
async function storeThroughput(clients: number, seconds: number) {
  const driver = await openBenchStore();
  if (driver.backend !== 'postgres') return null;
  const model = modelSpecOf('efficientnet-b0');
  const device = await createSimTrialRunner({ board: BOARD, profile: profileForSpec(model) }).describe();
  const setup = await startFleetRun({
    store: driver,
    device,
    model,
    slo: { latencyMs: 50, quantile: 0.99 },
    budget: 1_000_000,
    seed: 1,
    parallel: clients,
    margin: MARGIN,
    batchSizes: BATCHES,
    referenceAfter: 1_000_000,
    runId: `bench-throughput-${Math.random().toString(36).slice(2, 8)}`,
  });
  const measurement = await createSimTrialRunner({ board: BOARD, profile: profileForSpec(model), noise: 0 }).measure(setup.reference);
  const task = { model, sloMs: 50, trial: { quantile: 0.99 }, config: setup.reference };
  await driver.postTrials(
    setup.runId,
    Array.from({ length: clients }, () => ({ source: 'initial' as const, task })),
  );
  const stores = await Promise.all(Array.from({ length: clients }, () => PostgresStore.open(pgSchema!.url, { poolSize: 1 })));
  const until = performance.now() + seconds * 1000;
  const rtt: number[] = [];
  let completed = 0;
  await Promise.all(
    stores.map(async (st, i) => {
      const id = { agentId: `tp-${i}`, boardId: `tp-board-${i}`, boardType: BOARD };
      while (performance.now() < until) {
        const t0 = performance.now();
        const lease = await st.leaseTrial(id, { leaseMs: 60_000, runId: setup.runId });
        if (!lease) break;
        if (await st.completeTrial(lease, id, measurement, true)) completed++;
        await st.postTrials(setup.runId, [{ source: 'initial', task }]);
        rtt.push(performance.now() - t0);
      }
    }),
  );
  const trials = (await driver.fleetTrials(setup.runId)).length;
  for (const st of stores) await st.close();
  await driver.close();
  rtt.sort((a, b) => a - b);
  return { clients, seconds, completed, trials, perS: completed / seconds, p50: rtt[Math.floor(rtt.length / 2)]!, p99: rtt[Math.floor(rtt.length * 0.99)]! };
}
const throughput = await storeThroughput(16, quick ? 5 : 15);
await (pgSchema as TestSchema | null)?.drop();

const lines: string[] = [];
const backend = opt('--store', 'postgres');
lines.push(
  `fleet benchmark ${quick ? '(quick) ' : ''}on sim:${BOARD}, ${models.join(' + ')}, SLOs ${slos.join('/')}, ${budget} search trials, seeds ${firstSeed}–${firstSeed + seeds - 1}, strategy ${DEFAULT}, reference after ${referenceAfter ?? 'the default number of'} search trials with ${referenceRepeats ?? 'the search trials’'} windows, initial points ${initialPoints ?? 'the optimiser’s'}, reference round ${references === undefined ? 'default' : references ? 'on' : 'off'}, confirmation rounds ${confirmRounds ?? 'default'}, board margin ${boardMargin ?? 'the SLO margin'}, board offsets ${boardOffsets ? 'on' : 'off'}, store ${backend}; times are simulated seconds`,
);
lines.push('');
lines.push(
  '| N agents | runs | wall to 5 % (median, s) | speed-up vs N = 1 (median of per-run ratios) | wall for the budget + confirmation (median, s) | final regret (median / max) | final regret vs the best keeping the margin on the slowest board (max) | final infeasible on some board | confirmation rounds (mean) | offset error (mean) |',
);
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const main = results.filter((r) => r.strategy === DEFAULT);
const key = (r: RunResult) => `${r.model}|${r.slo}|${r.seed}`;
const base = new Map(main.filter((r) => r.n === 1).map((r) => [key(r), r]));
const CAP = (budget + 1) * 32;
for (const n of NS) {
  const rs = main.filter((r) => r.n === n);
  const ratios = rs.map((r) => (base.get(key(r))!.wall5 ?? CAP) / (r.wall5 ?? CAP));
  const regrets = rs.map((r) => r.finalRegret ?? Number.POSITIVE_INFINITY);
  lines.push(
    `| ${n} | ${rs.length} | ${median(rs.map((r) => r.wall5 ?? CAP)).toFixed(0)} | ${n === 1 ? '1.00×' : `${median(ratios).toFixed(2)}×`} | ${median(rs.map((r) => r.wallAll)).toFixed(0)} | ${pct(median(regrets))} / ${pct(Math.max(...regrets))} | ${pct(Math.max(...rs.map((r) => r.finalRegretMargin ?? Number.POSITIVE_INFINITY)))} | ${rs.filter((r) => !r.finalFeasible).length} | ${(rs.reduce((s, r) => s + r.confirmRounds, 0) / rs.length).toFixed(2)} | ${pct(rs.reduce((s, r) => s + r.offsetError, 0) / rs.length)} |`,
  );
}
for (const r of main.filter((x) => !x.finalFeasible))
  lines.push(`INFEASIBLE recommendation: ${r.model} ${r.slo} seed ${r.seed} N = ${r.n}: ${r.config ?? 'none'}`);
if (strategies.length > 0) {
  lines.push('');
  lines.push('pending-point strategies at N = 4 (same seeds):');
  lines.push('');
  lines.push('| strategy | runs | wall to 5 % (median, s) | final regret (median / max) |');
  lines.push('| --- | --- | --- | --- |');
  for (const s of strategies) {
    const rs = results.filter((r) => r.n === 4 && r.strategy === s);
    const regrets = rs.map((r) => r.finalRegret ?? Number.POSITIVE_INFINITY);
    lines.push(`| ${s} | ${rs.length} | ${median(rs.map((r) => r.wall5 ?? CAP)).toFixed(0)} | ${pct(median(regrets))} / ${pct(Math.max(...regrets))} |`);
  }
}
lines.push('');
lines.push(
  `killed agent (N = 4, one agent dies mid-trial, ${killRuns.length} runs): lost trials ${killRuns.reduce((s, r) => s + r.lost, 0)}, duplicated ${killRuns.reduce((s, r) => s + r.duplicated, 0)}, late completions refused ${killRuns.reduce((s, r) => s + r.refusedLate, 0)} of ${killRuns.length}, search trials measured ${killRuns.map((r) => r.searchTrials).join('/')} (budget ${budget})`,
);
if (throughput) {
  lines.push('');
  lines.push(
    `store capacity (PostgreSQL, ${throughput.clients} agents with one connection each, post + lease + complete back to back for ${throughput.seconds} s, no measuring): ${throughput.perS.toFixed(0)} trials/s, round trip p50 ${throughput.p50.toFixed(1)} ms / p99 ${throughput.p99.toFixed(1)} ms, ${throughput.completed} completions = ${throughput.trials} trial rows`,
  );
}
lines.push('');
lines.push(`elapsed ${((performance.now() - started) / 1000).toFixed(0)} s on ${cpus().length} CPUs (load ${loadavg()[0]!.toFixed(1)})`);
console.log(lines.join('\n'));
writeFileSync(
  new URL('./results/fleet.json', import.meta.url),
  `${JSON.stringify({ budget, seeds, strategy: DEFAULT, referenceAfter: referenceAfter ?? null, results, killRuns, throughput }, null, 1)}\n`,
);

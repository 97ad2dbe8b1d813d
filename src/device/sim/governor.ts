import type { BoardSpec } from './board-spec.ts';

/**
 * Virtual-time simulation of the Tegra GPU load governor (nvhost_podgov) driving a periodic batch
 * workload. The GPU clock moves between the devfreq min and max limits; the result says how long the
 * GPU spent at each table frequency and how much batch work it did there.
 */

export interface PeriodicWorkload {
  /** Wall time of one batch at each GPU table frequency, seconds. */
  readonly inferS: Float64Array;
  /** Share of that time the GPU engine is busy (the governor's load counter). */
  readonly busyFrac: Float64Array;
  /** Host gap after each batch before the next one can start, seconds. */
  readonly hostS: number;
  /** Shortest start-to-start interval the CPU pre-processing stage allows, seconds. */
  readonly minIntervalS: number;
  /** Load-aware mode: the batch period B/λ (batches arrive full at this interval); unused when saturated. */
  readonly intervalS: number;
  readonly mode: 'saturated' | 'load-aware';
}

export interface GovernorRun {
  /** Seconds spent at each GPU table frequency during the measured interval (busy or idle). */
  readonly timeAt: Float64Array;
  /** Batches of work done at each GPU table frequency during the measured interval. */
  readonly progressAt: Float64Array;
  readonly durationS: number;
  readonly batches: number;
  /** Service time (batch start → completion) of each measured batch, ascending, seconds. */
  readonly serviceS: Float64Array;
}

const WARMUP_S = 1;
const MEASURE_S = 2;
const MIN_MEASURED_BATCHES = 3;
const MAX_WINDOWS = 40000;
/** At this many batches per poll window or more, the window is computed as a steady flow. */
const FLUID_BATCHES_PER_WINDOW = 8;

function pinned(lo: number, w: PeriodicWorkload, n: number): GovernorRun {
  const t = w.inferS[lo]!;
  const period = Math.max(t + w.hostS, w.minIntervalS, w.mode === 'saturated' ? 0 : w.intervalS);
  const timeAt = new Float64Array(n);
  const progressAt = new Float64Array(n);
  timeAt[lo] = period;
  progressAt[lo] = 1;
  return { timeAt, progressAt, durationS: period, batches: 1, serviceS: Float64Array.of(t) };
}

/**
 * Run the governor with limits [lo, hi] (indices into the board's GPU table). With lo = hi the clock
 * is pinned and the answer is exact and closed-form.
 */
export function simulateGovernor(board: BoardSpec, lo: number, hi: number, w: PeriodicWorkload, opts: { fluid?: boolean } = {}): GovernorRun {
  const freqs = board.gpu.freqsHz;
  const n = freqs.length;
  if (lo === hi) return pinned(lo, w, n);
  const gv = board.governor;
  const poll = gv.pollMs / 1000;
  const block = gv.blockWindowMs / 1000;
  const smooth = gv.smooth;
  const r = smooth / (smooth + 1);
  const maxHz = freqs[hi]!;
  const boostCap = maxHz / 3;

  let f = lo;
  let cyclesAvg = 0;
  let freqAvg = freqs[lo]!;
  let lastChange = Number.NEGATIVE_INFINITY;

  let now = 0;
  let windowEnd = poll;
  let busyInWin = 0;
  let busy = false;
  let remaining = 0;
  let batchStart = 0;
  let nextStart = 0;
  let nextArrival = 0;

  let measuring = false;
  let done = false;
  let measureStart = 0;
  let completedTotal = 0;
  let completedMeasured = 0;
  const timeAt = new Float64Array(n);
  const progressAt = new Float64Array(n);
  const service: number[] = [];

  const startBatch = () => {
    if (!measuring && now >= WARMUP_S && completedTotal >= 1) {
      measuring = true;
      measureStart = now;
    } else if (measuring && now - measureStart >= MEASURE_S && completedMeasured >= MIN_MEASURED_BATCHES) {
      done = true;
      return;
    }
    busy = true;
    remaining = 1;
    batchStart = now;
    if (w.mode === 'load-aware') nextArrival += w.intervalS;
  };

  const decide = () => {
    const fHz = freqs[f]!;
    const cn = (fHz * busyInWin) / poll;
    cyclesAvg = (smooth * cyclesAvg + cn) / (smooth + 1);
    if (windowEnd - lastChange < block) return;
    const rtLoad = (1000 * busyInWin) / poll;
    const busyness = (1000 * cyclesAvg) / fHz;
    let boost: number;
    let damp: number;
    if (rtLoad > gv.loadMax) {
      boost = boostCap;
      damp = 10;
    } else {
      boost = ((busyness - gv.loadTarget) * gv.bias * fHz) / (100 * gv.loadTarget);
      if (boost > boostCap) boost = boostCap;
      damp = gv.damp;
    }
    const x = fHz + boost;
    freqAvg = (smooth * freqAvg + x) / (smooth + 1);
    const target = (damp * x + (10 - damp) * freqAvg) / 10;
    let idx = hi;
    for (let i = lo; i <= hi; i++) {
      if (freqs[i]! >= target) {
        idx = i;
        break;
      }
    }
    if (idx !== f) {
      f = idx;
      lastChange = windowEnd;
    }
  };

  // Period of the batch loop at table index i when nothing else limits it.
  const periodAt = (i: number) => Math.max(w.inferS[i]! + w.hostS, w.minIntervalS, w.mode === 'saturated' ? 0 : w.intervalS);
  const fluidPeriod = opts.fluid === false ? -1 : poll / FLUID_BATCHES_PER_WINDOW;

  let windows = 0;
  while (!done && windows < MAX_WINDOWS) {
    // Fluid fast path: many short batches per poll window behave like a steady flow of work (a batch
    // in progress is absorbed into the flow: at most one short batch of error per switch).
    if (windowEnd - now >= poll - 1e-12 && periodAt(f) <= fluidPeriod) {
      busy = false;
      remaining = 0;
      if (!measuring && now >= WARMUP_S && completedTotal >= 1) {
        measuring = true;
        measureStart = now;
      } else if (measuring && now - measureStart >= MEASURE_S && completedMeasured >= MIN_MEASURED_BATCHES) {
        break;
      }
      const p = periodAt(f);
      const nb = poll / p;
      busyInWin = nb * w.inferS[f]! * w.busyFrac[f]!;
      if (measuring) {
        timeAt[f] = timeAt[f]! + poll;
        progressAt[f] = progressAt[f]! + nb;
        completedMeasured += nb;
        service.push(w.inferS[f]!);
      }
      completedTotal += nb;
      now = windowEnd;
      nextStart = now;
      nextArrival = now;
      decide();
      busyInWin = 0;
      windowEnd += poll;
      windows++;
      continue;
    }
    // Fast-forward through long busy stretches pinned at the top by a saturating load.
    if (busy && f === hi && windowEnd - now >= poll - 1e-12 && w.busyFrac[hi]! * 1000 > gv.loadMax) {
      const t = w.inferS[hi]!;
      const k = Math.floor((remaining * t) / poll) - 1;
      if (k >= 2) {
        const dt = k * poll;
        if (measuring) {
          timeAt[hi] = timeAt[hi]! + dt;
          progressAt[hi] = progressAt[hi]! + dt / t;
        }
        remaining -= dt / t;
        const cn = freqs[hi]! * w.busyFrac[hi]!;
        const rk = r ** k;
        cyclesAvg = cn + (cyclesAvg - cn) * rk;
        const x = freqs[hi]! + boostCap;
        freqAvg = x + (freqAvg - x) * rk;
        now += dt;
        windowEnd += dt;
        windows += k;
        continue;
      }
    }
    while (now < windowEnd && !done) {
      if (busy) {
        const t = w.inferS[f]!;
        const left = remaining * t;
        const room = windowEnd - now;
        if (left <= room + 1e-15) {
          busyInWin += left * w.busyFrac[f]!;
          if (measuring) {
            timeAt[f] = timeAt[f]! + left;
            progressAt[f] = progressAt[f]! + remaining;
          }
          now += left;
          busy = false;
          remaining = 0;
          completedTotal++;
          if (measuring) {
            completedMeasured++;
            service.push(now - batchStart);
          }
          nextStart = Math.max(now + w.hostS, batchStart + w.minIntervalS, w.mode === 'saturated' ? 0 : nextArrival);
          if (nextStart <= now) startBatch();
        } else {
          busyInWin += room * w.busyFrac[f]!;
          if (measuring) {
            timeAt[f] = timeAt[f]! + room;
            progressAt[f] = progressAt[f]! + room / t;
          }
          remaining -= room / t;
          now = windowEnd;
        }
      } else {
        const dt = Math.min(nextStart - now, windowEnd - now);
        if (measuring) timeAt[f] = timeAt[f]! + dt;
        now += dt;
        if (now >= nextStart - 1e-15) {
          now = Math.max(now, nextStart);
          startBatch();
        }
      }
    }
    if (done) break;
    decide();
    busyInWin = 0;
    windowEnd += poll;
    windows++;
  }
  let batches = 0;
  for (let i = 0; i < n; i++) batches += progressAt[i]!;
  const durationS = measuring ? now - measureStart : 0;
  if (!measuring || batches <= 0) {
    // The horizon ran out before one measured batch: fall back to the clock the governor reached.
    return pinned(f, w, n);
  }
  const serviceS = Float64Array.from(service.length > 0 ? service : [w.inferS[f]!]).sort();
  return { timeAt, progressAt, durationS, batches, serviceS };
}

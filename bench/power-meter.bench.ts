/**
 * Power meter: (A) integration accuracy of the trapezoid rule against a left-rectangle sum (the
 * baseline: "last sample × interval"), on a bursty power waveform with a known integral, in virtual
 * time; (B) the cost of one sample of every rail of a fake AGX Orin tree (real file reads) against
 * the cost of reading one rail file, and as a share of the sampling period.
 *
 *   npx tsx bench/power-meter.bench.ts
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PowerSource } from '../src/core/device.ts';
import { JetsonDevice } from '../src/device/jetson/index.ts';
import { PowerMeter } from '../src/measure/power-meter.ts';
import { agxOrinR36, buildBoard } from '../test/fixtures/hardware/fake-tree.ts';

// A: 10 W idle, 25 W bursts of 31.3 ms every 113.7 ms (not commensurate with the sampling periods), plus a 3 W sine at 1.3 Hz; 5 s window.
const burst = (t: number) => (t % 0.1137 < 0.0313 ? 15 : 0);
const bursty = (t: number) => 10 + burst(t) + 3 * Math.sin(2 * Math.PI * 1.3 * t);
function burstyJ(T: number): number {
  const n = Math.floor(T / 0.1137);
  const rem = T - n * 0.1137;
  const bursts = 15 * (n * 0.0313 + Math.min(rem, 0.0313));
  const sine = (3 / (2 * Math.PI * 1.3)) * (1 - Math.cos(2 * Math.PI * 1.3 * T));
  return 10 * T + bursts + sine;
}

async function accuracy(periodMs: number, power: (t: number) => number, exactJ: (T: number) => number, seed0: number, T = 5) {
  let now = 0;
  const src: PowerSource = { name: 'VDD_IN', role: 'total', kind: 'power', read: async () => power(now / 1000) };
  const m = new PowerMeter([src], { periodMs, now: () => now });
  const h = await m.begin();
  const samples: [number, number][] = [[0, power(0)]];
  // Sample instants jittered by ±20 % of the period, as a timer on a loaded machine would be.
  let k = 1;
  let seed = seed0;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  while (true) {
    const t = k * periodMs + (rand() - 0.5) * 0.4 * periodMs;
    if (t >= T * 1000) break;
    now = t;
    await m.sample();
    samples.push([t / 1000, power(t / 1000)]);
    k++;
  }
  now = T * 1000;
  const w = await m.end(h);
  samples.push([T, power(T)]);
  let rect = 0;
  for (let i = 1; i < samples.length; i++) rect += samples[i - 1]![1] * (samples[i]![0] - samples[i - 1]![0]);
  const exact = exactJ(T);
  return { periodMs, samples: w.samples, exact, trap: w.energyJ, rect, trapErr: Math.abs(w.energyJ - exact) / exact, rectErr: Math.abs(rect - exact) / exact };
}

async function cost(ticks = 300) {
  const root = await buildBoard(agxOrinR36());
  try {
    const dev = await JetsonDevice.open({ root });
    const sources = await dev.powerSources();
    const m = new PowerMeter(sources);
    for (let i = 0; i < 20; i++) await m.sample(); // warm up
    let t0 = performance.now();
    for (let i = 0; i < ticks; i++) await m.sample();
    const tickMs = (performance.now() - t0) / ticks;
    const file = join(root, 'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/curr1_input');
    for (let i = 0; i < 20; i++) await readFile(file, 'utf8');
    t0 = performance.now();
    for (let i = 0; i < ticks; i++) await readFile(file, 'utf8');
    const readMs = (performance.now() - t0) / ticks;
    return { sources: sources.length, tickMs, readMs };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// A smooth ramp-and-sine waveform (DVFS ramps, thermal drift): 8 W rising 2 W/s plus 4 W at 0.9 Hz.
const smooth = (t: number) => 8 + 2 * t + 4 * Math.sin(2 * Math.PI * 0.9 * t);
const smoothJ = (T: number) => 8 * T + T * T + (4 / (2 * Math.PI * 0.9)) * (1 - Math.cos(2 * Math.PI * 0.9 * T));

const pct = (x: number) => `${(x * 100).toFixed(3)} %`;
const SEEDS = 20;
console.log(`A. integration error over a 5 s window (exact integral known), virtual time, sample instants jittered ±20 %; mean |error| over ${SEEDS} seeds`);
console.log('| waveform | period | samples | trapezoid (PowerMeter) | left-rectangle (baseline) | error ratio |');
console.log('|---|---|---|---|---|---|');
for (const [name, f, F] of [
  ['smooth ramp + 0.9 Hz sine', smooth, smoothJ],
  ['31 ms bursts every 113.7 ms', bursty, burstyJ],
] as const) {
  for (const p of [10, 50, 100]) {
    let te = 0;
    let re = 0;
    let n = 0;
    for (let s = 1; s <= SEEDS; s++) {
      const r = await accuracy(p, f, F, s * 7919);
      te += r.trapErr / SEEDS;
      re += r.rectErr / SEEDS;
      n = r.samples;
    }
    console.log(`| ${name} | ${p} ms | ${n} | ${pct(te)} | ${pct(re)} | ${(te / re).toFixed(2)} |`);
  }
}
const c = await cost();
console.log('\nB. cost of one sample of every source on a fake AGX Orin R36 tree (file reads), wall time');
console.log('| sources | one sample (all sources) | one rail file read (baseline) | ratio | share of a 50 ms period |');
console.log('|---|---|---|---|---|');
console.log(`| ${c.sources} | ${c.tickMs.toFixed(3)} ms | ${c.readMs.toFixed(3)} ms | ${(c.tickMs / c.readMs).toFixed(1)} | ${pct(c.tickMs / 50)} |`);

/**
 * What to serve at: a tuned profile (a TuningRun as `tune --json` writes it) or a configuration
 * given by hand (`cpu=2.2GHz,gpu-min=918MHz,gpu-max=1.3GHz,emc=3.2GHz,batch=4`, or a JSON file).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { type Config, configProblem, type KnobDomains } from '../core/config.ts';
import type { DeviceDescription } from '../core/device.ts';
import { badInput, PolyThrottleError } from '../core/errors.ts';
import type { TuningRun } from '../core/tuning-run.ts';
import { checkSlo, DEFAULT_SLO_QUANTILE, parseLatencyMs, parseQuantile, type Slo } from '../core/slo.ts';
import { readFrequencyHz } from '../core/units.ts';
import { readJsonFile } from '../store/json-file.ts';
import { defaultDbPath } from '../store/paths.ts';
import { parseTuningRun, readTuningRunFile } from '../store/tuning-run-file.ts';
import { readRunSource } from '../store/run-source.ts';
import type { ServingProfile } from './serving-context.ts';

/** A configuration as given: any knob may be left out (the device keeps it; batch defaults later). */
export type PartialConfig = { -readonly [K in keyof Config]?: Config[K] };

const KEYS: Record<string, keyof Config> = {
  cpu: 'cpuHz',
  'gpu-min': 'gpuMinHz',
  'gpu-max': 'gpuMaxHz',
  gpu: 'gpuMaxHz',
  emc: 'emcHz',
  mem: 'emcHz',
  batch: 'batch',
};

/** Frequency text → Hz: "1300500000", "1300.5MHz", "1.3005 GHz". */
export function parseFrequency(text: string, what: string): number {
  const hz = readFrequencyHz(text);
  if (hz === undefined) throw badInput(`${what}: cannot read "${text}" as a frequency`, 'give Hz, or a number with kHz, MHz or GHz, e.g. 918MHz');
  if (!(hz > 0)) throw badInput(`${what}: frequency must be positive, got "${text}"`);
  return hz;
}

/** `cpu=…,gpu-min=…,gpu-max=…,emc=…,batch=…` → a partial configuration. */
export function parseConfigSpec(text: string): PartialConfig {
  const out: PartialConfig = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw badInput(`--config: "${part}" is not key=value`, `keys: ${Object.keys(KEYS).join(', ')}`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    const knob = KEYS[key];
    if (!knob) throw badInput(`--config: unknown knob "${key}"`, `keys: ${Object.keys(KEYS).join(', ')}`);
    if (knob in out) throw badInput(`--config: "${key}" is given twice`);
    if (knob === 'batch') {
      const b = Number(value);
      if (!Number.isInteger(b) || b < 1) throw badInput(`--config: batch must be a positive integer, got "${value}"`);
      out.batch = b;
    } else out[knob] = parseFrequency(value, `--config ${key}`);
  }
  if (Object.keys(out).length === 0) throw badInput('--config is empty', 'e.g. --config gpu-min=918MHz,gpu-max=918MHz,emc=3199MHz,batch=4');
  return out;
}

const hz = z.number().int().positive();
const configFile = z
  .object({ cpuHz: hz.optional(), gpuMinHz: hz.optional(), gpuMaxHz: hz.optional(), emcHz: hz.optional(), batch: z.number().int().min(1).optional() })
  .strict();

/** A tuned profile read from a file, reduced to what serving needs. */
export interface LoadedProfile {
  readonly profile: ServingProfile;
  readonly run: TuningRun | undefined;
  /** Service time the tuner measured at the recommended batch, ms. */
  readonly prior: { readonly batch: number; readonly ms: number } | undefined;
}

/** A parsed JSON value that claims to be a tuning run (rather than a configuration file). */
const looksLikeRun = (x: unknown): boolean => typeof x === 'object' && x !== null && 'trials' in x;

/** Profile from a TuningRun (the recommendation is what gets served). */
export function profileFromRun(run: TuningRun, source: string): LoadedProfile {
  if (!run.recommendation)
    throw new PolyThrottleError('INFEASIBLE', `profile ${source} has no recommendation${run.infeasibleReason ? `: ${run.infeasibleReason}` : ''}`, {
      hint: 'tune again with a looser --slo, or serve a configuration given with --config',
    });
  const { config, measurement: m } = run.recommendation;
  return {
    run,
    prior: m.serviceMs > 0 ? { batch: config.batch, ms: m.serviceMs } : undefined,
    profile: {
      source: 'profile',
      id: run.id,
      model: run.model,
      config,
      slo: run.slo,
      device: run.device.name,
      measured: {
        energyPerQueryJ: m.energyPerQueryJ,
        latencyTailMs: m.latencyTailMs,
        serviceMs: m.serviceMs,
        throughputQps: m.throughputQps,
        powerW: m.powerW,
      },
    },
  };
}

/** Read a tuned profile file (a TuningRun as `tune --json` writes it). */
export async function loadProfileFile(path: string): Promise<LoadedProfile> {
  return profileFromRun(await readTuningRunFile(path), path);
}

/**
 * A profile reference, read as `report` and `recommend` read a run: a tuning-run file, '-' for
 * standard input, else a profile or run id, a unique prefix of either, or `latest` in the store at
 * `dbPath`.
 */
export async function loadProfile(ref: string, dbPath: string = defaultDbPath()): Promise<LoadedProfile> {
  const run = await readRunSource(ref, dbPath);
  return profileFromRun(run, existsSync(ref) || ref === '-' ? ref : `${ref} in ${dbPath}`);
}

/** `--config` value: inline knob list, or a JSON file with cpuHz/gpuMinHz/gpuMaxHz/emcHz/batch (or a TuningRun). */
export async function loadConfigOption(value: string): Promise<{ config: PartialConfig; profile?: LoadedProfile }> {
  if (!value.trim().toLowerCase().endsWith('.json')) return { config: parseConfigSpec(value) };
  const json = await readJsonFile(value, 'config');
  if (looksLikeRun(json)) {
    const loaded = profileFromRun(parseTuningRun(json, value), value);
    return { config: { ...loaded.profile.config }, profile: loaded };
  }
  const r = configFile.safeParse(json);
  if (!r.success) throw badInput(`config file ${value}: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  return { config: r.data };
}

/** Check a configuration against the device's tables; throws a BAD_INPUT naming the knob and table. */
export function checkConfig(config: Config, domains: Omit<KnobDomains, 'batch'>, device: Pick<DeviceDescription, 'name'>): void {
  const p = configProblem(config, { ...domains, batch: [config.batch] });
  if (p) throw badInput(`the configuration does not fit ${device.name}: ${p}`);
}

/**
 * The SLO in force: the options override the profile; one of them must give the latency. Text is
 * read as `tune` reads it ("50ms", "p99", "99%"); a number is ms, or the quantile itself.
 */
export function resolveSlo(latency: string | number | undefined, quantile: string | number | undefined, profile: ServingProfile | undefined): Slo {
  const latencyMs = typeof latency === 'string' ? parseLatencyMs(latency) : (latency ?? profile?.slo.latencyMs);
  if (latencyMs === undefined) throw badInput('no latency SLO: give --slo (e.g. --slo 50ms) or a --profile that has one');
  const q = quantile !== undefined ? parseQuantile(quantile) : (profile?.slo.quantile ?? DEFAULT_SLO_QUANTILE);
  return checkSlo({ latencyMs, quantile: q });
}

// Knobs of the operator benchmark, and how BENCH_ONLY selects it beside the server scenarios.
import { resolve } from 'node:path';

export interface OperatorSettings {
  /** Resources created one after the other for the apply → Secret-ready latency. */
  sequential: number;
  /** Resources applied at once for the time-to-all-Ready figure. */
  burst: number;
  /** Creates the harness keeps in flight while applying the burst. */
  concurrency: number;
  idleSeconds: number;
  /** The operator's WORKERS. */
  workers: number;
  /** Clients deleted on the server behind the operator's back, to time the drift check's repair. */
  heal: number;
  /** Give up on the burst after this long (the run then fails and is not recorded). */
  burstTimeoutSeconds: number;
  /** Directory for the operator's --cpu-prof output, when profiling (never recorded). */
  profileDir: string | undefined;
  /** Extra node flags for the operator process only, for experiments (never recorded). */
  nodeFlags: string[];
  writeDocs: boolean;
  /** True when a size differs from the recorded method, so the figures are not comparable with the targets. */
  nonStandard: boolean;
}

export const OPERATOR_KEY = 'operator';

export const OPERATOR_DEFAULTS = { sequential: 100, burst: 1000, concurrency: 50, idleSeconds: 60, workers: 4, heal: 10 } as const;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, not "${text}"`);
  return value;
}

export function readOperatorSettings(env: NodeJS.ProcessEnv = process.env): OperatorSettings {
  const settings = {
    sequential: integer(env, 'BENCH_OPERATOR_SEQUENTIAL', OPERATOR_DEFAULTS.sequential, 1),
    burst: integer(env, 'BENCH_OPERATOR_BURST', OPERATOR_DEFAULTS.burst, 1),
    concurrency: integer(env, 'BENCH_OPERATOR_CONCURRENCY', OPERATOR_DEFAULTS.concurrency, 1),
    idleSeconds: integer(env, 'BENCH_IDLE_SECONDS', OPERATOR_DEFAULTS.idleSeconds, 1),
    workers: integer(env, 'BENCH_OPERATOR_WORKERS', OPERATOR_DEFAULTS.workers, 1),
    heal: integer(env, 'BENCH_OPERATOR_HEAL', OPERATOR_DEFAULTS.heal, 1),
    burstTimeoutSeconds: integer(env, 'BENCH_OPERATOR_TIMEOUT', 900, 10),
  };
  const profileDir = env.BENCH_OPERATOR_PROFILE ? resolve(env.BENCH_OPERATOR_PROFILE) : undefined;
  const nodeFlags = (env.BENCH_OPERATOR_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  // A profiled or otherwise changed operator measures something else; its figures must not replace the recorded ones.
  const nonStandard =
    profileDir !== undefined ||
    nodeFlags.length > 0 ||
    (Object.keys(OPERATOR_DEFAULTS) as (keyof typeof OPERATOR_DEFAULTS)[]).some((key) => settings[key] !== OPERATOR_DEFAULTS[key]);
  return { ...settings, profileDir, nodeFlags, nonStandard, writeDocs: env.BENCH_WRITE !== '0' && !nonStandard };
}

/**
 * BENCH_ONLY names server scenarios; "operator" among them selects the operator benchmark. Without BENCH_ONLY both
 * run. Returns what the server part should see as BENCH_ONLY (undefined: every scenario) and whether it runs at all.
 */
export function splitOnly(only: string | undefined): { server: boolean; serverOnly: string | undefined; operator: boolean } {
  if (!only) return { server: true, serverOnly: only, operator: true };
  const keys = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const serverKeys = keys.filter((key) => key !== OPERATOR_KEY);
  return { server: serverKeys.length > 0, serverOnly: serverKeys.join(','), operator: keys.includes(OPERATOR_KEY) };
}

export const OPERATOR_HELP = `
Operator benchmark (a throw-away kube-apiserver + etcd, gatehouse serve and gatehouse operator; after the server scenarios)
  BENCH_ONLY=operator            only the operator benchmark; BENCH_ONLY without "operator" skips it
  BENCH_OPERATOR_SEQUENTIAL=100  resources created one by one (apply → Secret-ready p50/p99)
  BENCH_OPERATOR_BURST=1000      resources applied at once (time until all are Ready, RSS)
  BENCH_OPERATOR_CONCURRENCY=50  creates in flight while applying the burst
  BENCH_IDLE_SECONDS=60          idle window in which no write may happen
  BENCH_OPERATOR_WORKERS=4       the operator's WORKERS
  BENCH_OPERATOR_HEAL=10         clients deleted on the server after the idle window (time until the operator restores them)
  BENCH_OPERATOR_TIMEOUT=900     seconds before the burst counts as failed
  BENCH_OPERATOR_PROFILE=<dir>   run the operator with --cpu-prof into <dir> (summarize: node --import tsx bench/profile.ts <dir>)
  BENCH_OPERATOR_NODE_FLAGS="…" extra node flags for the operator process only (experiments, e.g. --import a patch)
  (other sizes than the defaults, profiling or extra flags are not recorded in docs/benchmarks.md)`;

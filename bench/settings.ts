import { resolve } from 'node:path';
import { SCENARIO_KEYS } from './scenarios.js';

export interface Settings {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  logLevel: string;
  /** Directory for the server's --cpu-prof output, when profiling. */
  profileDir: string | undefined;
  /** Scenario keys to run besides the bare server; undefined runs them all. */
  only: string[] | undefined;
  writeDocs: boolean;
  /** True when something makes the figures incomparable with the recorded ones. */
  nonStandard: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(name: string, fallback: number, min: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, not "${text}"`);
  return value;
}

/** Every knob is an environment variable, because `npm run bench` passes no arguments through cleanly. */
export function readSettings(): Settings {
  const logLevel = process.env.BENCH_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`BENCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  const only = process.env.BENCH_ONLY
    ? process.env.BENCH_ONLY.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  const unknown = only?.filter((key) => !SCENARIO_KEYS.includes(key)) ?? [];
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIO_KEYS.join(', ')}`);
  const profileDir = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined;
  const nonStandard = logLevel !== 'info' || profileDir !== undefined || only !== undefined;
  return {
    durationSeconds: integer('BENCH_DURATION', 10, 1),
    warmupSeconds: integer('BENCH_WARMUP', 2, 0),
    connections: integer('BENCH_CONNECTIONS', 32, 1),
    logLevel,
    profileDir,
    only,
    // A profiled or trimmed run measures something else; it must not replace the recorded figures.
    writeDocs: process.env.BENCH_WRITE !== '0' && !nonStandard,
    nonStandard,
  };
}

export const HELP = `npm run bench — Gatehouse throughput beside a bare node:http server (figures go to docs/benchmarks.md)
  BENCH_DURATION=10     seconds measured per scenario
  BENCH_WARMUP=2        seconds of unmeasured load before each scenario
  BENCH_CONNECTIONS=32  concurrent keep-alive connections
  BENCH_ONLY=token,introspect   run only these (${SCENARIO_KEYS.join(', ')}); not recorded
  BENCH_LOG_LEVEL=warn  the server's LOG_LEVEL instead of its default info; not recorded
  BENCH_PROFILE=<dir>   run the server with --cpu-prof into <dir>; not recorded
  BENCH_WRITE=0         print only, leave docs/benchmarks.md alone`;

// Legitimate token requests while other connections hammer the token endpoint with wrong secrets: what the
// failed-authentication limiter buys (issue 9). Written to its own section of docs/benchmarks.md.
import type { Children } from './children.js';
import { cpuSecondsOf, untilIdle } from './cpu.js';
import { rewriteSection } from './docs.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { samples, sum } from './operator-probes.js';
import { basic } from '../src/sdk/index.js';
import { machineLine, ms, type RunInfo } from './report.js';
import type { Gatehouse } from './servers.js';

/** The legitimate client's pace: well below capacity, so its latency measures interference, not its own queueing. */
const LEGITIMATE = { connections: 4, overallRate: 400 };
/** Half of the attack guesses the legitimate client's own secret (stored under scrypt), half an id nobody has. */
const ATTACK_CONNECTIONS = 16;
/** The attack runs this long before the legitimate load is measured, so the limiter is in its steady state. */
const ATTACK_LEAD_SECONDS = 3;
/** The target: legitimate p99 under attack within this factor of its p99 alone. */
export const FLOOD_P99_FACTOR = 2;

export interface FloodRun {
  date: string;
  commit: string;
  durationSeconds: number;
  aloneP50Ms: number;
  aloneP99Ms: number;
  floodP50Ms: number;
  floodP99Ms: number;
  /** Legitimate requests that did not get a token (must be none). */
  legitimateFailures: number;
  attackPerSecond: number;
  /** Attack answers by status: 401 (checked and refused), 429 (refused by the limiter before any hash). */
  attackStatuses: Record<string, number>;
  /** Server CPU per failed attempt: CPU under attack minus CPU alone, over the attempts answered meanwhile. */
  cpuPerFailureUs: number | undefined;
  /** Server CPU share (100 % = one core) alone and under attack. */
  cpuAlone: number | undefined;
  cpuFlood: number | undefined;
  /** scrypt computations while the legitimate load was measured under attack (real and dummy). */
  scryptDuringFlood: number;
  throttledDuringFlood: number;
}

const FORM = 'application/x-www-form-urlencoded';

async function counters(server: Gatehouse): Promise<{ scrypt: number; throttled: number; failed: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return {
    scrypt: sum(samples(text, 'gatehouse_client_secret_hashes_total'), (labels) => labels.scheme === 'scrypt'),
    throttled: sum(samples(text, 'gatehouse_client_auth_throttled_total')),
    failed: sum(samples(text, 'gatehouse_client_auth_failures_total')),
  };
}

/** The legitimate load alone, then again while the attack runs; `legitimate` is the token scenario's request. */
export async function measureAuthFlood(
  children: Children,
  server: Gatehouse,
  legitimate: LoadSpec,
  machineId: string,
  durationSeconds: number,
): Promise<{ run: Omit<FloodRun, 'date' | 'commit'>; alone: LoadResult; flood: LoadResult }> {
  const attack = (id: string): LoadSpec => ({
    url: legitimate.url,
    method: 'POST',
    headers: { authorization: basic(id, 'a-wrong-secret-of-forty-three-characters-xx'), 'content-type': FORM },
    body: 'grant_type=client_credentials&scope=bench.read',
  });

  await untilIdle(server.pid);
  let cpuBefore = cpuSecondsOf(server.pid);
  const alone = await runLoad(children, legitimate, { ...LEGITIMATE, durationSeconds });
  const cpuAlone = secondsSince(cpuBefore, server.pid);
  await untilIdle(server.pid);

  const attackSeconds = ATTACK_LEAD_SECONDS + durationSeconds + 1;
  const attackers = [machineId, 'bench-nobody'].map((id) =>
    runLoad(children, attack(id), { connections: ATTACK_CONNECTIONS / 2, durationSeconds: attackSeconds }),
  );
  await new Promise((resolve) => setTimeout(resolve, ATTACK_LEAD_SECONDS * 1000));
  const before = await counters(server);
  cpuBefore = cpuSecondsOf(server.pid);
  const started = performance.now();
  const flood = await runLoad(children, legitimate, { ...LEGITIMATE, durationSeconds });
  const cpuFlood = secondsSince(cpuBefore, server.pid);
  const windowSeconds = (performance.now() - started) / 1000;
  const after = await counters(server);
  const attacked = await Promise.all(attackers);
  await untilIdle(server.pid);

  const attackStatuses: Record<string, number> = {};
  for (const result of attacked) for (const [status, count] of Object.entries(result.statuses)) attackStatuses[status] = (attackStatuses[status] ?? 0) + count;
  const attackPerSecond = attacked.reduce((total, result) => total + result.requestsPerSecond, 0);
  // Counted by the server itself over the same window as the CPU (autocannon's averages span the lead-in too).
  const failuresInWindow = after.throttled - before.throttled + (after.failed - before.failed);
  const share = (seconds: number | undefined, window: number) => (seconds === undefined ? undefined : Math.round((seconds / window) * 100) / 100);
  return {
    alone,
    flood,
    run: {
      durationSeconds,
      aloneP50Ms: alone.p50Ms,
      aloneP99Ms: alone.p99Ms,
      floodP50Ms: flood.p50Ms,
      floodP99Ms: flood.p99Ms,
      legitimateFailures: alone.failures + flood.failures,
      attackPerSecond: Math.round(attackPerSecond),
      attackStatuses,
      // The legitimate load's own CPU, measured alone over durationSeconds, scaled to the flood's window.
      cpuPerFailureUs:
        cpuAlone !== undefined && cpuFlood !== undefined && failuresInWindow > 0
          ? Math.round(((cpuFlood - (cpuAlone * windowSeconds) / durationSeconds) / failuresInWindow) * 1e6 * 10) / 10
          : undefined,
      cpuAlone: share(cpuAlone, durationSeconds),
      cpuFlood: share(cpuFlood, windowSeconds),
      scryptDuringFlood: after.scrypt - before.scrypt,
      throttledDuringFlood: after.throttled - before.throttled,
    },
  };
}

function secondsSince(before: number | undefined, pid: number | undefined): number | undefined {
  const now = cpuSecondsOf(pid);
  return before === undefined || now === undefined ? undefined : now - before;
}

export const floodVerdict = (run: Pick<FloodRun, 'aloneP99Ms' | 'floodP99Ms'>) =>
  run.floodP99Ms <= FLOOD_P99_FACTOR * Math.max(run.aloneP99Ms, 1) ? 'pass' : 'above target';

const cpuPercent = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value * 100)} %`);

export function describeFlood(run: Omit<FloodRun, 'date' | 'commit'>): string {
  const statuses = Object.entries(run.attackStatuses)
    .map(([status, count]) => `${count.toLocaleString('en-US')}× ${status}`)
    .join(', ');
  return (
    `legitimate p99 ${ms(run.aloneP99Ms)} ms alone, ${ms(run.floodP99Ms)} ms under attack (${floodVerdict(run)}); ` +
    `attack ${run.attackPerSecond.toLocaleString('en-US')} req/s (${statuses}); ` +
    `${run.cpuPerFailureUs ?? '–'} µs server CPU per failed attempt; ${run.scryptDuringFlood} scrypt hashes while measured`
  );
}

const START = '<!-- auth-flood:start -->';
const END = '<!-- auth-flood:end -->';
const DATA = /<!-- auth-flood-data: (.*?) -->/s;
const HISTORY_LIMIT = 30;

export function writeFloodSection(path: string, info: RunInfo, run: FloodRun): void {
  rewriteSection<FloodRun>(path, { start: START, end: END, data: DATA }, (previous) => renderFlood(info, [run, ...previous].slice(0, HISTORY_LIMIT + 1)));
}

function renderFlood(info: RunInfo, runs: FloodRun[]): string {
  const run = runs[0]!;
  const data = JSON.stringify({ runs }).replace(/--/g, '-\\u002d');
  const statuses = Object.entries(run.attackStatuses)
    .map(([status, count]) => `${count.toLocaleString('en-US')} answered ${status}`)
    .join(', ');
  return [
    START,
    '## Failed client authentication: a flood of wrong secrets (`npm run bench`)',
    '',
    `Latest run: ${run.date} · commit \`${run.commit}\` · ${machineLine(info)} · load average ${info.loadAverage.toFixed(2)} before the run.`,
    '',
    '| Legitimate token requests (4 connections, 400/s in all) | p50 (ms) | p99 (ms) | Server CPU |',
    '|---|---:|---:|---:|',
    `| alone | ${ms(run.aloneP50Ms)} | ${ms(run.aloneP99Ms)} | ${cpuPercent(run.cpuAlone)} |`,
    `| while ${ATTACK_CONNECTIONS} connections send wrong secrets | ${ms(run.floodP50Ms)} | ${ms(run.floodP99Ms)} | ${cpuPercent(run.cpuFlood)} |`,
    '',
    `Target: p99 under attack ≤ ${FLOOD_P99_FACTOR}× p99 alone — **${floodVerdict(run)}**. Legitimate requests refused: ${run.legitimateFailures}.`,
    '',
    `The attack: ${run.attackPerSecond.toLocaleString('en-US')} requests/s (${statuses}). While the legitimate load was measured under`,
    `attack the server computed ${run.scryptDuringFlood} scrypt hashes and refused ${run.throttledDuringFlood.toLocaleString('en-US')} attempts before any hash;`,
    `each failed attempt cost ${run.cpuPerFailureUs ?? '–'} µs of server CPU (CPU under attack minus CPU alone, over the failed and refused attempts the server counted meanwhile;`,
    'the scrypts of the attempts the limit lets through as it refills are in it). Without the limiter each attempt would cost one scrypt (about 200 ms of CPU here).',
    '',
    `**Method.** After the other scenarios, on the same server and database: autocannon sends the token scenario's request`,
    `(the machine client, whose secret is stored under scrypt) at ${LEGITIMATE.overallRate} requests/s over ${LEGITIMATE.connections} connections for ${run.durationSeconds} s, alone.`,
    `Then two more autocannon processes send client_credentials requests with a wrong secret over ${ATTACK_CONNECTIONS / 2} connections each, as fast as`,
    `they are answered: one for the machine client's own id, one for an id no client has. After ${ATTACK_LEAD_SECONDS} s the legitimate load runs`,
    'again for the same time. Every process shares the two CPUs with the server. The server runs with its default limits',
    '(`AUTH_FAILURE_BURST=10`, `AUTH_FAILURE_ADDRESS_BURST=100`, `AUTH_FAILURE_RATE=1`, `AUTH_FAILURE_DELAY=1s`: each 429 is held up to a second,',
    'so each attacking connection makes about one attempt a second), and all three loads come from one address;',
    'the legitimate client gets through because its credential was verified before (a client whose first request came during the',
    'flood would be refused until the address has tokens again). Each attacker repeats one wrong secret, so concurrent copies share',
    "one check; autocannon's rate mode does not correct for coordinated omission, so the p99 under attack is a lower bound.",
    '',
    '### History',
    '',
    ...(runs.length > 1 ? runs.slice(1).map((r) => `- ${r.date} · \`${r.commit}\` · ${describeFlood(r)}`) : ['(no earlier runs)']),
    '',
    `<!-- auth-flood-data: ${data} -->`,
    END,
  ].join('\n');
}

import { fileURLToPath } from 'node:url';
import type { Children } from './children.js';

const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** The one status that counts as success; without it, any 2xx does. */
  expectedStatus?: number;
}

export interface LoadSettings {
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections (autocannon -R); as fast as answers come without it. */
  overallRate?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** Every response or attempt that was not a 2xx (or not the expected status): other statuses, socket errors and timeouts. */
  failures: number;
  failureDetail: string;
  /** Responses by status code. */
  statuses: Record<string, number>;
}

/** The subset of autocannon's --json output the report uses. */
interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}

/**
 * One autocannon run in its own process: a load generator inside the harness (or the server) would compete with
 * the event loop it is measuring.
 */
export async function runLoad(children: Children, spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-c', String(settings.connections), '-d', String(settings.durationSeconds), '-m', spec.method ?? 'GET'];
  if (settings.overallRate !== undefined) args.push('-R', String(settings.overallRate));
  // name=value: autocannon splits at the first ':' or '=', and header names contain neither.
  for (const [name, value] of Object.entries(spec.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (spec.body !== undefined) args.push('-b', spec.body);
  args.push(spec.url);

  const stdout = await children.run('autocannon', process.execPath, args);
  const line = stdout.trim().split('\n').pop() ?? '';
  let report: AutocannonJson;
  try {
    report = JSON.parse(line) as AutocannonJson;
  } catch {
    throw new Error(`autocannon printed no JSON report; its output was:\n${stdout.slice(-2000)}`);
  }
  return summarize(report, spec.expectedStatus);
}

function summarize(report: AutocannonJson, expectedStatus: number | undefined): LoadResult {
  const wrong = Object.entries(report.statusCodeStats ?? {}).filter(([status]) =>
    expectedStatus === undefined ? !status.startsWith('2') : status !== String(expectedStatus),
  );
  const statuses = wrong.map(([status, { count }]) => `${count}× ${status}`);
  // autocannon's `errors` already includes its `timeouts`.
  if (report.errors) statuses.push(`${report.errors} connection errors (${report.timeouts} timeouts)`);
  // Without statusCodeStats only autocannon's non2xx is known; with them, a 2xx other than the expected one counts too.
  const wrongStatuses = report.statusCodeStats ? wrong.reduce((total, [, { count }]) => total + count, 0) : report.non2xx;
  return {
    requestsPerSecond: report.requests.average,
    p50Ms: report.latency.p50,
    p99Ms: report.latency.p99,
    total: report.requests.total,
    failures: wrongStatuses + report.errors,
    failureDetail: statuses.join(', '),
    statuses: Object.fromEntries(Object.entries(report.statusCodeStats ?? {}).map(([status, { count }]) => [status, count])),
  };
}

// The browser-flow scenarios (issue 10): complete authorization-code flows per second and refresh-token exchanges per
// second, each driven over HTTP by bench/flow-driver.ts in its own process, beside the bare server's ceiling.
// Written to their own section of docs/benchmarks.md.
import { fileURLToPath } from 'node:url';
import type { Children } from './children.js';
import { cpuSecondsOf, untilIdle } from './cpu.js';
import { rewriteSection } from './docs.js';
import type { FlowDriverInput, FlowDriverOutput } from './flow-driver.js';
import { machineLine, type RunInfo } from './report.js';
import type { Gatehouse } from './servers.js';
import { GatehouseClient } from '../src/sdk/index.js';

const DRIVER = fileURLToPath(new URL('./flow-driver.ts', import.meta.url));
/** Requests of one complete flow: auth, consent read, consent accept, auth again, code exchange. */
export const REQUESTS_PER_FLOW = 5;
/** Complete authorization-code flows per second the server must reach on these two cores. */
export const FLOWS_TARGET = 1000;
const USERS = 32;
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface FlowScenarioRun {
  key: 'flows' | 'flows-openid' | 'refresh';
  title: string;
  perSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  firstFailure: string;
  /** Server CPU share over the run (1 = one core). */
  serverCpu: number | undefined;
  /** Share of the bare server's requests/s the server's requests/s reached. */
  ofBare: number;
  target?: number;
}

export interface FlowsRun {
  date: string;
  commit: string;
  durationSeconds: number;
  bareRequestsPerSecond: number;
  scenarios: FlowScenarioRun[];
}

/** The web client and the consent app's bearer the flows use, created through the API as a deployment would. */
async function prepare(server: Gatehouse): Promise<Pick<FlowDriverInput, 'clientId' | 'clientSecret' | 'consentBearer' | 'redirectUri'>> {
  const sdk = new GatehouseClient({ endpoint: server.url, clientId: server.rootId, clientSecret: server.rootSecret, scope: 'hydra.*' });
  try {
    const web = await sdk.createClient({
      client_name: 'benchmark web application',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline bench.read',
    });
    const consent = await sdk.clientCredentialsToken('hydra.consent', { clientId: server.rootId, clientSecret: server.rootSecret });
    return { clientId: web.id, clientSecret: web.client_secret!, consentBearer: consent.access_token, redirectUri: REDIRECT_URI };
  } finally {
    await sdk.close();
  }
}

export async function measureFlows(children: Children, server: Gatehouse, bareRequestsPerSecond: number, durationSeconds: number): Promise<FlowScenarioRun[]> {
  const prepared = await prepare(server);
  const scenarios: (Pick<FlowScenarioRun, 'key' | 'title' | 'target'> & { mode: FlowDriverInput['mode']; scope: string })[] = [
    {
      key: 'flows',
      title: `authorization-code flows (${REQUESTS_PER_FLOW} requests each, PKCE, scope offline: a refresh token)`,
      target: FLOWS_TARGET,
      mode: 'flow',
      scope: 'offline bench.read',
    },
    { key: 'flows-openid', title: 'the same with scope openid: an RS256 ID token too', mode: 'flow', scope: 'openid offline bench.read' },
    { key: 'refresh', title: 'refresh-token exchanges (rotation)', mode: 'refresh', scope: 'offline bench.read' },
  ];
  const runs: FlowScenarioRun[] = [];
  for (const scenario of scenarios) {
    process.stdout.write(`  ${scenario.title}: `);
    await untilIdle(server.pid);
    const input: FlowDriverInput = { url: server.url, mode: scenario.mode, scope: scenario.scope, users: USERS, durationSeconds, ...prepared };
    const before = cpuSecondsOf(server.pid);
    const stdout = await children.run('flow driver', process.execPath, ['--import', 'tsx', DRIVER], {
      env: { ...process.env, FLOW_DRIVER_INPUT: JSON.stringify(input) },
    });
    const after = cpuSecondsOf(server.pid);
    const output = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as FlowDriverOutput;
    const run: FlowScenarioRun = {
      key: scenario.key,
      title: scenario.title,
      ...output,
      serverCpu: before === undefined || after === undefined ? undefined : Math.round(((after - before) / durationSeconds) * 100) / 100,
      ofBare: output.requestsPerSecond / bareRequestsPerSecond,
      ...(scenario.target ? { target: scenario.target } : {}),
    };
    console.log(describeFlowScenario(run));
    runs.push(run);
  }
  await untilIdle(server.pid);
  return runs;
}

const verdict = (run: FlowScenarioRun) => (run.target === undefined ? '' : run.perSecond >= run.target ? 'pass' : 'below target');

function describeFlowScenario(run: FlowScenarioRun): string {
  const failures = run.failures ? `  ERRORS: ${run.failures} (${run.firstFailure})` : '';
  const target = run.target === undefined ? '' : ` (target ≥ ${run.target}: ${verdict(run)})`;
  const cpu = run.serverCpu === undefined ? '' : `, server CPU ${Math.round(run.serverCpu * 100)} %`;
  return `${run.perSecond.toLocaleString('en-US')}/s${target}, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, ${run.requestsPerSecond.toLocaleString('en-US')} req/s${cpu}${failures}`;
}

export const flowFailures = (runs: FlowScenarioRun[]) => runs.filter((run) => run.failures > 0);

const START = '<!-- flows:start -->';
const END = '<!-- flows:end -->';
const DATA = /<!-- flows-data: (.*?) -->/s;
const HISTORY_LIMIT = 30;

export function writeFlowsSection(path: string, info: RunInfo, run: FlowsRun): void {
  rewriteSection<FlowsRun>(path, { start: START, end: END, data: DATA }, (previous) => renderFlows(info, [run, ...previous].slice(0, HISTORY_LIMIT + 1)));
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

function renderFlows(info: RunInfo, runs: FlowsRun[]): string {
  const run = runs[0]!;
  const data = JSON.stringify({ runs }).replace(/--/g, '-\\u002d');
  const rows = run.scenarios.map(
    (s) =>
      `| ${s.title} | ${s.perSecond.toLocaleString('en-US')} | ${s.p50Ms} | ${s.p99Ms} | ${s.requestsPerSecond.toLocaleString('en-US')} | ${percent(s.ofBare)} | ${s.target ? `≥ ${s.target}/s` : ''} | ${verdict(s)} | ${s.serverCpu === undefined ? '–' : `${Math.round(s.serverCpu * 100)} %`} |`,
  );
  return [
    START,
    '## Browser flows: authorization code and refresh (`npm run bench`)',
    '',
    `Latest run: ${run.date} · commit \`${run.commit}\` · ${machineLine(info)} · load average ${info.loadAverage.toFixed(2)} before the run.`,
    '',
    '| Scenario | per second | p50 (ms) | p99 (ms) | server requests/s | vs bare | Target | Result | Server CPU |',
    '|---|---:|---:|---:|---:|---:|---|---|---:|',
    ...rows,
    '',
    `The bare node:http server answered ${run.bareRequestsPerSecond.toLocaleString('en-US')} requests/s in the same run (its first measurement): the ceiling of any HTTP work on this machine.`,
    '',
    `**Method.** After the server scenarios, on the same server and database. bench/flow-driver.ts, in its own process, runs ${USERS} virtual users`,
    'each on its own keep-alive connection, for the scenario time, each repeating its sequence as fast as the answers come. A flow is what a browser,',
    'a consent app and a web application do together, over HTTP and without a browser: GET /oauth2/auth (a consent request and its cookie),',
    'GET the consent request and PATCH accept with a bearer holding hydra.consent (the consent app), GET /oauth2/auth again with the cookie',
    'and consent_csrf (a code), and POST /oauth2/token with the code, the PKCE verifier and HTTP Basic of the client (its minted secret).',
    'Refresh: each user signs in once before the window, then exchanges its latest refresh token again and again. The driver shares the',
    'two CPUs with the server, so it speaks HTTP/1.1 with a minimal client (bench/http1-client.ts, like autocannon) rather than undici, whose',
    'request() cost the driver about as much CPU per flow as the server spent: the runs up to `f53fde2` used undici, which left the server',
    'roughly 15 % less CPU. Latency is of a whole flow (five requests) or of one refresh.',
    '',
    '### History',
    '',
    ...(runs.length > 1
      ? runs.slice(1).map((r) => `- ${r.date} · \`${r.commit}\` · ${r.scenarios.map((s) => `${s.key} ${s.perSecond.toLocaleString('en-US')}/s`).join(', ')}`)
      : ['(no earlier runs)']),
    '',
    `<!-- flows-data: ${data} -->`,
    END,
  ].join('\n');
}

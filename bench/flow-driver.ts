// The load generator of the browser-flow scenarios, in its own process (like autocannon): virtual users run
// authorization-code flows (auth → read and accept the consent → back to auth → code exchange) or refresh-token
// exchanges back to back over keep-alive connections, and it prints one JSON line with the figures.
// Usage: FLOW_DRIVER_INPUT='<FlowDriverInput as JSON>' node --import tsx bench/flow-driver.ts (in the environment, not
// the arguments, where ps would show the client secret and the bearer).
import { createHash, randomBytes } from 'node:crypto';
import { Http1Connection, type Answer } from './http1-client.js';

export interface FlowDriverInput {
  url: string;
  mode: 'flow' | 'refresh';
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
  /** A bearer allowed the consent API (what a consent app holds). */
  consentBearer: string;
  users: number;
  durationSeconds: number;
}

export interface FlowDriverOutput {
  completed: number;
  perSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  firstFailure: string;
}

const input = JSON.parse(process.env.FLOW_DRIVER_INPUT ?? '{}') as FlowDriverInput;
const target = new URL(input.url);
const basic = `Basic ${Buffer.from(`${encodeURIComponent(input.clientId)}:${encodeURIComponent(input.clientSecret)}`).toString('base64')}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };

let requests = 0;
/** One per virtual user: a browser, its consent app and its relying party, sharing one keep-alive connection. */
class User {
  private readonly connection = new Http1Connection(target.hostname, Number(target.port));

  call(method: 'GET' | 'POST' | 'PATCH', path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    requests++;
    return this.connection.request(method, path, headers, body);
  }

  close(): void {
    this.connection.close();
  }
}

function expectStatus(step: string, response: { status: number; text: string }, status: number): void {
  if (response.status !== status) throw new Error(`${step}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
}

/** One whole authorization-code flow; resolves with the token response. */
async function flow(user: User): Promise<{ refresh_token?: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: input.clientId,
    response_type: 'code',
    redirect_uri: input.redirectUri,
    scope: input.scope,
    state: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const first = await user.call('GET', `/oauth2/auth?${query}`);
  expectStatus('first visit', first, 302);
  const consent = new URL(first.headers.location ?? '').searchParams.get('consent')!;
  const cookie = (first.headers['set-cookie'] ?? '').split(';')[0]!;
  const bearer = { authorization: `Bearer ${input.consentBearer}` };
  const read = await user.call('GET', `/oauth2/consent/requests/${consent}`, bearer);
  expectStatus('consent read', read, 200);
  const { redirectUrl } = JSON.parse(read.text) as { redirectUrl: string };
  const accepted = await user.call(
    'PATCH',
    `/oauth2/consent/requests/${consent}/accept`,
    { ...bearer, 'content-type': 'application/json' },
    JSON.stringify({ subject: 'bench-user', grantScopes: input.scope.split(' ') }),
  );
  expectStatus('consent accept', accepted, 204);
  const back = new URL(redirectUrl);
  const second = await user.call('GET', `${back.pathname}${back.search}`, { cookie });
  expectStatus('second visit', second, 302);
  const code = new URL(second.headers.location ?? '').searchParams.get('code');
  if (!code) throw new Error(`second visit: no code in ${second.headers.location ?? ''}`);
  const token = await user.call(
    'POST',
    '/oauth2/token',
    FORM,
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: input.redirectUri, code_verifier: verifier }).toString(),
  );
  expectStatus('code exchange', token, 200);
  return JSON.parse(token.text) as { refresh_token?: string };
}

async function refresh(user: User, refreshToken: string): Promise<string> {
  const token = await user.call('POST', '/oauth2/token', FORM, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString());
  expectStatus('refresh', token, 200);
  return (JSON.parse(token.text) as { refresh_token: string }).refresh_token;
}

async function main(): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure = '';
  // Refresh mode: each user signs in once, outside the measured window.
  const users = Array.from({ length: input.users }, () => new User());
  const refreshTokens = input.mode === 'refresh' ? await Promise.all(users.map(async (user) => (await flow(user)).refresh_token!)) : [];
  requests = 0;
  const started = performance.now();
  const deadline = started + input.durationSeconds * 1000;
  await Promise.all(
    users.map(async (user, index) => {
      while (performance.now() < deadline) {
        const begun = performance.now();
        try {
          if (input.mode === 'flow') await flow(user);
          else refreshTokens[index] = await refresh(user, refreshTokens[index]!);
          latencies.push(performance.now() - begun);
        } catch (error) {
          failures++;
          firstFailure ||= (error as Error).message;
          if (input.mode === 'refresh') refreshTokens[index] = (await flow(user)).refresh_token!;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (share: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * share))] ?? 0) * 10) / 10;
  const output: FlowDriverOutput = {
    completed: latencies.length,
    perSecond: Math.round(latencies.length / seconds),
    requestsPerSecond: Math.round(requests / seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    failures,
    firstFailure,
  };
  for (const user of users) user.close();
  console.log(JSON.stringify(output));
}

await main();

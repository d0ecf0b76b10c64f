// Expired access tokens are deleted inside the server, in batches, without anyone calling /oauth2/flush.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JANITOR_LOCK } from '../../src/db/expired-rows.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { CookieJar, decide, locationOf, visit } from '../support/user-agent.js';
import { allRows, createClient, issueToken, machineClient, metricValue, rootBearer, sleep, tokenRequest, type Credentials } from './helpers.js';

const CALLBACK = 'http://127.0.0.1:8080/callback';
/** The tables of the browser flows, and the janitor metric's kind of each. */
const BROWSER_KINDS = { authorization_codes: 'authorization_code', refresh_tokens: 'refresh_token', consent_requests: 'consent_request' } as const;
type BrowserTable = keyof typeof BROWSER_KINDS;
/** What one browserRows() call leaves: a used code, a refresh token, a used and a pending consent request. */
const ONE_SIGN_IN: Record<BrowserTable, number> = { authorization_codes: 1, refresh_tokens: 1, consent_requests: 2 };
const NO_ROWS: Record<BrowserTable, number> = { authorization_codes: 0, refresh_tokens: 0, consent_requests: 0 };

/**
 * Rows of the browser flows for a new client of their own: a sign-in carried through to tokens (its consent request
 * and code used, a refresh token issued) and one abandoned at the consent app (a pending consent request).
 */
async function browserRows(t: TestServer): Promise<Credentials> {
  const created = await createClient(t, {
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'offline',
  });
  const client = { id: created.id, secret: created.client_secret! };
  const query = new URLSearchParams({ client_id: client.id, response_type: 'code', redirect_uri: CALLBACK, scope: 'offline', state: 'state-0123456789' });
  const authorizationUrl = `${t.url}/oauth2/auth?${query}`;

  const jar = new CookieJar();
  const consentId = locationOf(await visit(authorizationUrl, jar)).searchParams.get('consent');
  expect(consentId).toBeTruthy();
  // A fresh bearer each time: access tokens live one second here.
  const request = await decide(t, await rootBearer(t, 'hydra.consent'), consentId!, { accept: { subject: 'alice', grantScopes: ['offline'] } });
  // The consent app sends the browser back to ISSUER, which is not where this server (on a random port) listens.
  const back = new URL(request.redirectUrl);
  const callback = locationOf(await visit(`${t.url}${back.pathname}${back.search}`, jar));
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  const exchange = await tokenRequest(t, { credentials: client, form: { grant_type: 'authorization_code', code: code!, redirect_uri: CALLBACK } });
  const tokens = (await exchange.json()) as { refresh_token?: string };
  expect(exchange.status, JSON.stringify(tokens)).toBe(200);
  expect(tokens.refresh_token).toBeTypeOf('string');

  expect(locationOf(await visit(authorizationUrl, new CookieJar())).searchParams.get('consent')).toBeTruthy();
  return client;
}

/** How many rows of each browser-flow table belong to the client. */
async function browserRowsOf(t: TestServer, client: Credentials): Promise<Record<BrowserTable, number>> {
  const counts = { ...NO_ROWS };
  for (const table of Object.keys(BROWSER_KINDS) as BrowserTable[]) {
    counts[table] = (await allRows(t, table)).filter((row) => row.client_id === client.id).length;
  }
  return counts;
}

/** gatehouse_janitor_deleted_total of each browser-flow kind, by table. */
async function deletedOfBrowserKinds(t: TestServer): Promise<Record<BrowserTable, number>> {
  const deleted = { ...NO_ROWS };
  for (const [table, kind] of Object.entries(BROWSER_KINDS) as [BrowserTable, string][]) {
    deleted[table] = await metricValue(t, 'gatehouse_janitor_deleted_total', { kind });
  }
  return deleted;
}

const difference = (after: Record<BrowserTable, number>, before: Record<BrowserTable, number>) => {
  const result = { ...NO_ROWS };
  for (const table of Object.keys(BROWSER_KINDS) as BrowserTable[]) result[table] = after[table] - before[table];
  return result;
};

describe.each(DATABASES)('the token janitor on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // Tokens, codes and consent requests live one second and are kept 100 ms past expiry; passes every 300 ms, two rows
    // per statement, so one pass needs several batches.
    t = await startTestServer(kind, {
      ACCESS_TOKEN_LIFESPAN: '1s',
      AUTH_CODE_LIFESPAN: '1s',
      REFRESH_TOKEN_LIFESPAN: '1s',
      CHALLENGE_TOKEN_LIFESPAN: '1s',
      CONSENT_URL: 'http://consent.example/consent',
      JANITOR_INTERVAL: '300ms',
      JANITOR_RETENTION: '100ms',
      JANITOR_BATCH_SIZE: '2',
    });
  });
  afterAll(async () => t?.close());

  it('deletes expired access tokens in batches and counts them, leaving live ones', async () => {
    const client = await machineClient(t, 'j.read');
    const countOf = async () => (await allRows(t, 'access_tokens')).filter((row) => row.client_id === client.id).length;
    for (let i = 0; i < 5; i++) await issueToken(t, client, 'j.read');
    expect(await countOf()).toBe(5);
    const deletedBefore = await metricValue(t, 'gatehouse_janitor_deleted_total', { kind: 'access_token' });
    const deadline = Date.now() + 10_000;
    while ((await countOf()) > 0 && Date.now() < deadline) await sleep(200);
    expect(await countOf()).toBe(0);
    expect((await metricValue(t, 'gatehouse_janitor_deleted_total', { kind: 'access_token' })) - deletedBefore).toBeGreaterThanOrEqual(5);
    // A token issued now is left alone by the next passes.
    await issueToken(t, client, 'j.read');
    await sleep(700);
    expect(await countOf()).toBe(1);
  });

  it('deletes expired authorization codes, refresh tokens and consent requests and counts them, leaving live ones', async () => {
    const deletedBefore = await deletedOfBrowserKinds(t);
    const early = await browserRows(t);
    expect(await browserRowsOf(t, early)).toEqual(ONE_SIGN_IN);
    await sleep(800);
    const late = await browserRows(t);

    // The early rows are due 1.1 s after they were issued; the late ones, issued 0.8 s after them, not yet: when the
    // early ones are gone, passes have run while the late ones were there, and left them.
    await expect.poll(() => browserRowsOf(t, early), { timeout: 10_000, interval: 50 }).toEqual(NO_ROWS);
    const deletedOfEarly = difference(await deletedOfBrowserKinds(t), deletedBefore);
    expect(await browserRowsOf(t, late)).toEqual(ONE_SIGN_IN);
    // Counted by kind, exactly: nothing else of these tables has been deleted yet.
    expect(deletedOfEarly).toEqual(ONE_SIGN_IN);

    // In their turn the late rows go too, and are counted.
    await expect.poll(() => browserRowsOf(t, late), { timeout: 10_000, interval: 50 }).toEqual(NO_ROWS);
    expect(difference(await deletedOfBrowserKinds(t), deletedBefore)).toEqual({ authorization_codes: 2, refresh_tokens: 2, consent_requests: 4 });
  });
});

// Replicas share one PostgreSQL database; the janitor's batches take a transaction-level advisory lock, so while one
// replica's batch runs (here: while the test holds that lock) no other replica deletes. Once it is free, the two
// replicas' passes run side by side without errors and clear every expired token.
describe('the token janitor on two PostgreSQL replicas', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    const settings = { ACCESS_TOKEN_LIFESPAN: '1s', JANITOR_INTERVAL: '200ms', JANITOR_RETENTION: '50ms', JANITOR_BATCH_SIZE: '3' };
    first = await startTestServer('postgres', settings);
    second = await startTestServer('postgres', settings, first.databaseUrl);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('deletes nothing while another batch holds the lock, then every expired token', async () => {
    const client = await machineClient(first, 'r.read');
    const countOf = async () => (await allRows(first, 'access_tokens')).filter((row) => row.client_id === client.id).length;
    const deletedSoFar = async () =>
      (await metricValue(first, 'gatehouse_janitor_deleted_total', { kind: 'access_token' })) +
      (await metricValue(second, 'gatehouse_janitor_deleted_total', { kind: 'access_token' }));
    const deletedBefore = await deletedSoFar();

    let expiredAtUnlock = 0;
    const holder = new pg.Client({ connectionString: first.databaseUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [JANITOR_LOCK]);
      for (let i = 0; i < 10; i++) await issueToken(i % 2 ? first : second, client, 'r.read');
      expect(await countOf()).toBe(10);
      // Expired after 1 s and kept 50 ms: by now each replica has had several passes at them.
      await sleep(2_000);
      expect(await countOf()).toBe(10);
      expect(await deletedSoFar()).toBe(deletedBefore);
      // Every token is expired by now, the root client's own (it created the client) among them.
      expiredAtUnlock = (await allRows(first, 'access_tokens')).length;
      await holder.query('select pg_advisory_unlock($1)', [JANITOR_LOCK]);
    } finally {
      await holder.end();
    }

    const deadline = Date.now() + 10_000;
    while ((await allRows(first, 'access_tokens')).length > 0 && Date.now() < deadline) await sleep(100);
    expect(await countOf()).toBe(0);
    expect((await deletedSoFar()) - deletedBefore).toBe(expiredAtUnlock);
  });
});

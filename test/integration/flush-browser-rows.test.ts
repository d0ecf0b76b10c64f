// POST /oauth2/flush deletes what the browser flows leave behind, not only access tokens: authorization codes,
// refresh tokens and consent requests that have expired and were issued before notAfter. The janitor is off, so
// whatever disappears was deleted by flush. The rows come from the real flows (the browser and the consent app played
// by test/support/user-agent.ts), each generation through a client of its own so its rows can be told apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestServer } from '../support/server.js';
import { authorizeInBrowser, CookieJar, locationOf, visit } from '../support/user-agent.js';
import { allRows, createClient, managementRequest, rootBearer, sleep, startServerWithOwnIssuer, tokenRequest, type Credentials } from './helpers.js';

const CONSENT_URL = 'http://consent.example/consent';
const CALLBACK = 'http://127.0.0.1:8080/callback';
/** The lifespan of codes, refresh tokens and consent requests on this server. */
const LIFESPAN_MS = 1_000;
const TABLES = ['authorization_codes', 'refresh_tokens', 'consent_requests'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

describe.each(DATABASES)('POST /oauth2/flush and the rows of the browser flows on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // The consent app sends the browser back to the issuer: it must be this server.
    t = await startServerWithOwnIssuer(kind, {
      CONSENT_URL,
      AUTH_CODE_LIFESPAN: '1s',
      REFRESH_TOKEN_LIFESPAN: '1s',
      CHALLENGE_TOKEN_LIFESPAN: '1s',
      JANITOR_INTERVAL: 'off',
    });
  });
  afterAll(async () => t?.close());

  /** A confidential web client that may get codes and refresh tokens. */
  async function webClient(): Promise<Credentials> {
    const client = await createClient(t, {
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'offline orders.read',
    });
    return { id: client.id, secret: client.client_secret! };
  }

  const authorizationUrl = (client: Credentials) =>
    new URL(
      `${t.url}/oauth2/auth?${new URLSearchParams({ client_id: client.id, response_type: 'code', redirect_uri: CALLBACK, scope: 'offline orders.read', state: 'state-0123456789' })}`,
    );

  /**
   * One generation of rows for a new client: a sign-in carried through to tokens (a used consent request, a used code,
   * a refresh token) and a sign-in abandoned at the consent app (a pending consent request).
   */
  async function generation(): Promise<Credentials> {
    const client = await webClient();
    const callback = await authorizeInBrowser(t, await rootBearer(t, 'hydra.consent'), authorizationUrl(client), {
      accept: { subject: 'alice', grantScopes: ['offline', 'orders.read'] },
    });
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const exchange = await tokenRequest(t, { credentials: client, form: { grant_type: 'authorization_code', code: code!, redirect_uri: CALLBACK } });
    const tokens = (await exchange.json()) as { refresh_token?: string };
    expect(exchange.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.refresh_token).toBeTypeOf('string');
    const toConsent = locationOf(await visit(authorizationUrl(client), new CookieJar()));
    expect(toConsent.searchParams.get('consent')).toBeTruthy();
    expect(await countsOf(client)).toEqual({ authorization_codes: 1, refresh_tokens: 1, consent_requests: 2 });
    return client;
  }

  async function countsOf(client: Credentials): Promise<Counts> {
    const counts = {} as Counts;
    for (const table of TABLES) counts[table] = (await allRows(t, table)).filter((row) => row.client_id === client.id).length;
    return counts;
  }

  const none: Counts = { authorization_codes: 0, refresh_tokens: 0, consent_requests: 0 };
  const all: Counts = { authorization_codes: 1, refresh_tokens: 1, consent_requests: 2 };

  /** POST /oauth2/flush as root with only the flush scope; 204 expected. */
  async function flush(notAfter?: Date) {
    const token = await rootBearer(t, 'hydra.oauth2.flush');
    const response = await managementRequest(t, 'POST', '/oauth2/flush', notAfter ? { token, json: { notAfter: notAfter.toISOString() } } : { token });
    expect(response.status, await response.text()).toBe(204);
  }

  it('deletes expired codes, refresh tokens and consent requests issued before notAfter, and keeps the others', async () => {
    const early = await generation();
    await sleep(LIFESPAN_MS + 100);
    // Everything of `early` has expired; notAfter falls between it and `late`.
    const notAfter = new Date();
    await sleep(10);
    const late = await generation();
    await sleep(LIFESPAN_MS + 100);

    // Both generations have expired; only the one issued before notAfter goes.
    await flush(notAfter);
    expect(await countsOf(early)).toEqual(none);
    expect(await countsOf(late)).toEqual(all);

    // A fresh generation is issued before notAfter (an hour from now), but has not expired: it stays.
    const fresh = await generation();
    await t.root.flushInactiveTokens(new Date(Date.now() + 3_600_000));
    expect(await countsOf(late)).toEqual(none);
    expect(await countsOf(fresh)).toEqual(all);

    // Without a body, notAfter is now: still nothing unexpired goes.
    await flush();
    expect(await countsOf(fresh)).toEqual(all);
    // Once expired, it does.
    await sleep(LIFESPAN_MS + 100);
    await flush();
    expect(await countsOf(fresh)).toEqual(none);
  });
});

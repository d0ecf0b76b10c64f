// What one source address and one browser can pile up at the authorization endpoint: consent requests per address
// (each stored until it expires) and consent cookies per browser (each sent back with every visit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONSENT_COOKIES } from '../../src/server/authorize/service.js';
import type { TestServer } from '../support/server.js';
import { CookieJar, decide, locationOf } from '../support/user-agent.js';
import { createClient, rootBearer, startServerWithOwnIssuer } from './helpers.js';

const CALLBACK = 'https://app.example/callback';
const BURST = 3;

describe('limits of the authorization endpoint', () => {
  let t: TestServer;
  let clientId: string;
  let bearer: string;

  beforeAll(async () => {
    t = await startServerWithOwnIssuer('sqlite', {
      CONSENT_URL: 'http://consent.example/consent',
      AUTHORIZE_ADDRESS_BURST: String(BURST),
      // Practically no refill within the test.
      AUTHORIZE_ADDRESS_RATE: '0.001',
      TRUST_PROXY: 'true',
    });
    clientId = (await createClient(t, { redirect_uris: [CALLBACK], grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid' })).id;
    bearer = await rootBearer(t, 'hydra.consent');
  });
  afterAll(async () => t?.close());

  const authorizeUrl = (state: string) =>
    `${t.url}/oauth2/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', state, redirect_uri: CALLBACK })}`;
  /** A visit from `address` (through the trusted proxy), with and into the jar. */
  async function visitFrom(address: string, url: string, jar = new CookieJar()) {
    const response = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': address, ...(jar.size ? { cookie: jar.header() } : {}) } });
    jar.take(response);
    return { response, location: locationOf(response), jar };
  }

  it('sends the browser back with temporarily_unavailable once an address has started its burst, and no one else', async () => {
    const started = [];
    for (let i = 0; i < BURST; i++) {
      const { location, jar } = await visitFrom('203.0.113.7', authorizeUrl(`state-number-${i}`));
      expect(location.origin).toBe('http://consent.example');
      started.push({ consent: location.searchParams.get('consent')!, jar });
    }

    const refused = (await visitFrom('203.0.113.7', authorizeUrl('state-refused'))).location;
    expect(refused.origin + refused.pathname).toBe(CALLBACK);
    expect(refused.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(refused.searchParams.get('error_description')).toMatch(/^Too many authorization requests from this address; try again in \d+ s$/);
    expect(refused.searchParams.get('state')).toBe('state-refused');

    // Another address is not limited by this one.
    expect((await visitFrom('198.51.100.9', authorizeUrl('state-elsewhere'))).location.origin).toBe('http://consent.example');

    // A sign-in the limited address already started still completes: only new consent requests count.
    const { consent, jar } = started[0]!;
    const decided = await decide(t, bearer, consent, { accept: { subject: 'ada', grantScopes: ['openid'] } });
    const back = (await visitFrom('203.0.113.7', decided.redirectUrl, jar)).location;
    expect(back.searchParams.get('error')).toBeNull();
    expect(back.searchParams.get('code')).toMatch(/.+/);
  });

  it(`keeps at most ${MAX_CONSENT_COOKIES} consent cookies in a browser, clearing the oldest first`, async () => {
    const jar = new CookieJar();
    const consentIds: string[] = [];
    const extra = 5;
    // Each sign-in from its own address, so the address limit stays out of this.
    for (let i = 0; i < MAX_CONSENT_COOKIES + extra; i++) {
      const { location } = await visitFrom(`192.0.2.${i + 1}`, authorizeUrl(`state-cookie-${i}`), jar);
      consentIds.push(location.searchParams.get('consent')!);
    }
    const names = jar
      .header()
      .split('; ')
      .map((pair) => pair.split('=')[0]);
    expect(names).toHaveLength(MAX_CONSENT_COOKIES);
    expect(names).toEqual(consentIds.slice(extra).map((id) => `gatehouse_consent_${id}`));

    // The newest sign-in still completes with the cookies the browser kept.
    const decided = await decide(t, bearer, consentIds.at(-1)!, { accept: { subject: 'ada', grantScopes: ['openid'] } });
    expect((await visitFrom('192.0.2.200', decided.redirectUrl, jar)).location.searchParams.get('code')).toMatch(/.+/);
  });
});

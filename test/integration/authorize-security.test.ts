// Security tests of the browser flows: the authorization endpoint (redirect URI matching, state, PKCE, the CSRF
// cookie of the consent round trip, open redirects, reflected input in its error page), the consent API (decided
// once, expiry, scope escalation, reserved ID token claims), and the token, revocation and userinfo endpoints
// (single-use codes, codes bound to their client and redirect URI, refresh-token reuse, another client's tokens).
// Each test asserts the refusal precisely: the status, the error code, and where the error goes (an HTML page, the
// client's redirect URI, a JSON body).
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestServer } from '../support/server.js';
import { CookieJar, authorizeInBrowser, decide, locationOf, visit } from '../support/user-agent.js';
import {
  FORM,
  basic,
  createClient,
  expectManagementError,
  expectOAuthError,
  introspectRequest,
  issueToken,
  machineClient,
  managementRequest,
  rootBearer,
  sleep,
  startServerWithOwnIssuer,
  tokenRequest,
  type Credentials,
} from './helpers.js';

// The consent app is never visited: the tests read the consent id from the redirect's query. Its own query must
// survive, and nothing the requester sends may add to it.
const CONSENT_URL = 'http://consent.example/consent?ui=compact';
const CALLBACK = 'https://app.example/callback';
const TENANT_CALLBACK = 'https://app.example/callback?tenant=blue';
const SCOPE = 'openid offline';

/** RFC 7636: a 43-character verifier of unreserved characters and its S256 challenge. */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}

const newState = () => randomBytes(12).toString('base64url');

interface TokenBody {
  access_token: string;
  refresh_token?: string;
}

describe.each(DATABASES)('authorization security on %s', (kind) => {
  let t: TestServer;
  let consentBearer: string;

  beforeAll(async () => {
    // The consent API hands out redirect URLs under ISSUER, so ISSUER must be the server's own URL.
    t = await startServerWithOwnIssuer(kind, { CONSENT_URL });
    consentBearer = await rootBearer(t, 'hydra.consent');
  });
  afterAll(async () => t?.close());

  /** A confidential web client with two redirect URIs (so every request must name one) and offline access. */
  async function webClient(input: { public?: boolean } = {}): Promise<Credentials> {
    const client = await createClient(t, {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [CALLBACK, TENANT_CALLBACK],
      scope: 'openid offline profile email',
      ...input,
    });
    return { id: client.id, secret: client.client_secret ?? '' };
  }

  function authorizationUrl(clientId: string, parameters: Record<string, string | undefined> = {}, server: TestServer = t): URL {
    const url = new URL('/oauth2/auth', server.url);
    const all = { client_id: clientId, response_type: 'code', redirect_uri: CALLBACK, scope: SCOPE, state: newState(), ...parameters };
    for (const [key, value] of Object.entries(all)) if (value !== undefined) url.searchParams.set(key, value);
    return url;
  }

  /** The first visit: the browser is sent to the consent app; returns the consent request's id. */
  async function askConsent(url: URL, jar: CookieJar): Promise<string> {
    const location = locationOf(await visit(url, jar));
    expect(location.origin).toBe(new URL(CONSENT_URL).origin);
    const id = location.searchParams.get('consent');
    expect(id, location.href).toMatch(/^[0-9a-f-]{36}$/);
    return id!;
  }

  /** A code from a whole accepted round trip (with PKCE), and what exchanging it needs. */
  async function authorizedCode(client: Credentials, scope = SCOPE): Promise<{ code: string; verifier: string; state: string }> {
    const { verifier, challenge } = pkce();
    const state = newState();
    const url = authorizationUrl(client.id, { scope, state, code_challenge: challenge, code_challenge_method: 'S256' });
    const landed = await authorizeInBrowser(t, consentBearer, url, { accept: { subject: 'alice', grantScopes: scope.split(' ') } });
    expect(landed.searchParams.get('error'), landed.href).toBeNull();
    expect(landed.searchParams.get('state')).toBe(state);
    const code = landed.searchParams.get('code');
    expect(code, landed.href).toBeTruthy();
    return { code: code!, verifier, state };
  }

  const exchange = (client: Credentials, code: string, form: Record<string, string | null>) =>
    tokenRequest(t, { credentials: client, form: { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, ...form } });

  const refresh = (client: Credentials, refreshToken: string) =>
    tokenRequest(t, { credentials: client, form: { grant_type: 'refresh_token', refresh_token: refreshToken } });

  async function tokensOf(response: Response): Promise<TokenBody> {
    const body = (await response.json()) as TokenBody;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.access_token).toBeTypeOf('string');
    return body;
  }

  /** A code exchanged for tokens, with offline access so a refresh token comes too. */
  async function tokensFor(client: Credentials): Promise<Required<TokenBody>> {
    const { code, verifier } = await authorizedCode(client);
    const tokens = await tokensOf(await exchange(client, code, { code_verifier: verifier }));
    expect(tokens.refresh_token).toBeTypeOf('string');
    return tokens as Required<TokenBody>;
  }

  /** Introspection as the token's own client (HTTP Basic). */
  async function introspectAs(client: Credentials, token: string): Promise<Record<string, unknown>> {
    const response = await introspectRequest(t, { token }, client);
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  /** An error sent back to the client: a redirect to the registered URI with the error and the state, never a code. */
  function expectErrorRedirect(response: Response, error: string, state: string, redirectUri = CALLBACK): URL {
    const location = locationOf(response);
    const registered = new URL(redirectUri);
    expect(location.origin).toBe(registered.origin);
    expect(location.pathname).toBe(registered.pathname);
    for (const [key, value] of registered.searchParams) expect(location.searchParams.get(key)).toBe(value);
    expect(location.searchParams.get('error'), location.href).toBe(error);
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe(state);
    expect(location.searchParams.get('code')).toBeNull();
    expect(location.searchParams.get('access_token')).toBeNull();
    expect(location.hash).toBe('');
    return location;
  }

  /** An error shown to the user: a 400 HTML page, and no redirect anywhere. */
  async function expectErrorPage(response: Response, error: string): Promise<string> {
    const body = await response.text();
    expect(response.status, body).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('location')).toBeNull();
    expect(body).toContain(`<code>${error}</code>`);
    return body;
  }

  const consentApi = (method: string, path: string, json?: unknown) =>
    managementRequest(t, method, `/oauth2/consent/requests/${path}`, { token: consentBearer, json });

  // --- The authorization request ---------------------------------------------------------------------------------

  it.each([
    ['a prefix of the registered URI', 'https://app.example/call'],
    ['the path in another case', 'https://app.example/Callback'],
    ['the host in another case', 'https://APP.example/callback'],
    ['an extra path segment', 'https://app.example/callback/evil'],
    ['a changed query', 'https://app.example/callback?tenant=red'],
    ['an added query', 'https://app.example/callback?next=https://evil.example'],
    ['an added fragment', 'https://app.example/callback#evil'],
  ])('shows an error page and redirects nowhere for a redirect_uri with %s', async (_case, redirectUri) => {
    const client = await webClient();
    const response = await visit(authorizationUrl(client.id, { redirect_uri: redirectUri }), new CookieJar());
    await expectErrorPage(response, 'invalid_request');
  });

  it('shows an error page and redirects nowhere for an unknown client_id', async () => {
    const response = await visit(authorizationUrl('no-such-client'), new CookieJar());
    const body = await expectErrorPage(response, 'invalid_client');
    expect(body).toContain('no-such-client');
  });

  it('sends a state shorter than 8 characters back to the client as invalid_state, with the state echoed', async () => {
    const client = await webClient();
    const response = await visit(authorizationUrl(client.id, { state: '1234567' }), new CookieJar());
    expectErrorRedirect(response, 'invalid_state', '1234567');
  });

  it('refuses a public client that sends no code_challenge with invalid_request at its redirect URI', async () => {
    const client = await webClient({ public: true });
    const state = newState();
    const response = await visit(authorizationUrl(client.id, { state }), new CookieJar());
    expectErrorRedirect(response, 'invalid_request', state);
  });

  it('refuses code_challenge_method=plain with invalid_request at the redirect URI', async () => {
    const client = await webClient({ public: true });
    const { verifier } = pkce();
    const state = newState();
    const response = await visit(authorizationUrl(client.id, { state, code_challenge: verifier, code_challenge_method: 'plain' }), new CookieJar());
    expectErrorRedirect(response, 'invalid_request', state);
  });

  it('never lets request parameters change where the first redirect goes (CONSENT_URL only, with consent added)', async () => {
    const client = await webClient();
    const hostile = {
      consent_url: 'https://evil.example/consent',
      redirect_to: 'https://evil.example/',
      return_to: 'https://evil.example/',
      next: '//evil.example/',
      ui: 'evil',
    };
    const viaGet = await visit(authorizationUrl(client.id, hostile), new CookieJar());
    const viaPost = await fetch(`${t.url}/oauth2/auth`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': FORM },
      body: authorizationUrl(client.id, hostile).searchParams.toString(),
    });
    const configured = new URL(CONSENT_URL);
    for (const response of [viaGet, viaPost]) {
      const location = locationOf(response);
      expect(location.host).toBe(configured.host);
      expect(location.origin + location.pathname).toBe(configured.origin + configured.pathname);
      expect([...location.searchParams.keys()].sort()).toEqual(['consent', 'ui']);
      expect(location.searchParams.get('ui')).toBe('compact');
      expect(location.hash).toBe('');
    }
  });

  it('shows an unknown client_id carrying markup only HTML-escaped, under a Content-Security-Policy', async () => {
    const payload = '<script>alert(1)</script>';
    const response = await visit(authorizationUrl(payload), new CookieJar());
    const body = await expectErrorPage(response, 'invalid_client');
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;';
    expect(body).toContain(escaped);
    expect(body.split(escaped).join('')).not.toMatch(/<script|alert\(1\)/i);
    const csp = response.headers.get('content-security-policy');
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src/);
  });

  it('shows a redirect_uri carrying markup only HTML-escaped, under a Content-Security-Policy', async () => {
    const client = await webClient();
    const payload = '"><img src=x onerror=alert(1)>';
    const response = await visit(authorizationUrl(client.id, { redirect_uri: `${CALLBACK}${payload}` }), new CookieJar());
    const body = await expectErrorPage(response, 'invalid_request');
    const escaped = '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;';
    expect(body.split(escaped).join('')).not.toMatch(/<img|onerror/i);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  // --- PKCE, codes and redirect URIs at the token endpoint ------------------------------------------------------

  it('refuses a code exchange without the code_verifier with invalid_grant', async () => {
    const client = await webClient();
    const { code } = await authorizedCode(client);
    await expectOAuthError(await exchange(client, code, {}), 400, 'invalid_grant');
  });

  it('refuses a code exchange with the wrong code_verifier with invalid_grant', async () => {
    const client = await webClient();
    const { code } = await authorizedCode(client);
    await expectOAuthError(await exchange(client, code, { code_verifier: pkce().verifier }), 400, 'invalid_grant');
  });

  it('refuses a replayed code and revokes the access and refresh tokens the first exchange got', async () => {
    const client = await webClient();
    const { code, verifier } = await authorizedCode(client);
    const first = await tokensOf(await exchange(client, code, { code_verifier: verifier }));
    expect(first.refresh_token).toBeTypeOf('string');
    expect(await introspectAs(client, first.access_token)).toMatchObject({ active: true, sub: 'alice' });

    await expectOAuthError(await exchange(client, code, { code_verifier: verifier }), 400, 'invalid_grant');
    expect(await introspectAs(client, first.access_token)).toEqual({ active: false });
    await expectOAuthError(await refresh(client, first.refresh_token!), 400, 'invalid_grant');
  });

  it('refuses a used code replayed without its code_verifier and revokes nothing: only PKCE proves the replayer is the client', async () => {
    const client = await webClient();
    const { code, verifier } = await authorizedCode(client);
    const first = await tokensOf(await exchange(client, code, { code_verifier: verifier }));
    for (const proof of [{}, { code_verifier: pkce().verifier }] as Record<string, string>[]) {
      const refused = await expectOAuthError(await exchange(client, code, proof), 400, 'invalid_grant');
      expect(refused.error_description).toMatch(/code_verifier/);
    }
    expect(await introspectAs(client, first.access_token)).toMatchObject({ active: true, sub: 'alice' });
    expect(await tokensOf(await refresh(client, first.refresh_token!))).toHaveProperty('access_token');
  });

  it("refuses another client's code with invalid_grant without burning it for its own client", async () => {
    const owner = await webClient();
    const thief = await webClient();
    const { code, verifier } = await authorizedCode(owner);
    await expectOAuthError(await exchange(thief, code, { code_verifier: verifier }), 400, 'invalid_grant');
    const tokens = await tokensOf(await exchange(owner, code, { code_verifier: verifier }));
    expect(await introspectAs(owner, tokens.access_token)).toMatchObject({ active: true, client_id: owner.id });
  });

  it("refuses a redirect_uri at the token endpoint that differs from the authorization request's with invalid_grant", async () => {
    const client = await webClient();
    const { code, verifier } = await authorizedCode(client);
    // Registered for the client too, but not the one the code was issued for.
    await expectOAuthError(await exchange(client, code, { code_verifier: verifier, redirect_uri: TENANT_CALLBACK }), 400, 'invalid_grant');
  });

  // --- The consent round trip's CSRF protection ------------------------------------------------------------------

  it('refuses the return from consent in a browser without the consent cookie, and the right browser still completes', async () => {
    const client = await webClient();
    const state = newState();
    const jar = new CookieJar();
    const id = await askConsent(authorizationUrl(client.id, { state }), jar);
    const { redirectUrl } = await decide(t, consentBearer, id, { accept: { subject: 'alice', grantScopes: ['openid'] } });

    expectErrorRedirect(await visit(redirectUrl, new CookieJar()), 'invalid_request', state);
    const landed = locationOf(await visit(redirectUrl, jar));
    expect(landed.searchParams.get('code'), landed.href).toBeTruthy();
  });

  it('refuses the return from consent with a tampered consent_csrf', async () => {
    const client = await webClient();
    const state = newState();
    const jar = new CookieJar();
    const id = await askConsent(authorizationUrl(client.id, { state }), jar);
    const { redirectUrl } = await decide(t, consentBearer, id, { accept: { subject: 'alice', grantScopes: ['openid'] } });
    const tampered = new URL(redirectUrl);
    const csrf = tampered.searchParams.get('consent_csrf')!;
    tampered.searchParams.set('consent_csrf', `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`);
    expectErrorRedirect(await visit(tampered, jar), 'invalid_request', state);
  });

  it("refuses the return from consent in a browser holding another request's consent cookie", async () => {
    const client = await webClient();
    const state = newState();
    const victim = await askConsent(authorizationUrl(client.id, { state }), new CookieJar());
    const { redirectUrl } = await decide(t, consentBearer, victim, { accept: { subject: 'mallory', grantScopes: ['openid'] } });

    const other = new CookieJar();
    const otherId = await askConsent(authorizationUrl(client.id), other);
    expectErrorRedirect(await visit(redirectUrl, other), 'invalid_request', state);
    // The other browser's cookie value under this request's cookie name.
    const forgedCookie = other.header().replace(otherId, victim);
    expect(forgedCookie).toMatch(new RegExp(`${victim}=.+`));
    const forged = await fetch(redirectUrl, { redirect: 'manual', headers: { cookie: forgedCookie } });
    expectErrorRedirect(forged, 'invalid_request', state);
  });

  // --- Consent requests are decided and used once ----------------------------------------------------------------

  it('refuses a consent redirect replayed after it was carried out, with or without the old cookie', async () => {
    const client = await webClient();
    const state = newState();
    const jar = new CookieJar();
    const id = await askConsent(authorizationUrl(client.id, { state }), jar);
    const cookie = jar.header();
    const { redirectUrl } = await decide(t, consentBearer, id, { accept: { subject: 'alice', grantScopes: ['openid'] } });
    expect(locationOf(await visit(redirectUrl, jar)).searchParams.get('code')).toBeTruthy();

    expectErrorRedirect(await visit(redirectUrl, jar), 'invalid_request', state);
    const withOldCookie = await fetch(redirectUrl, { redirect: 'manual', headers: { cookie } });
    const location = expectErrorRedirect(withOldCookie, 'invalid_request', state);
    expect(location.searchParams.get('error_description')).toMatch(/already used/);
  });

  it('answers a second acceptance of a consent request with 409', async () => {
    const client = await webClient();
    const id = await askConsent(authorizationUrl(client.id), new CookieJar());
    await decide(t, consentBearer, id, { accept: { subject: 'alice', grantScopes: ['openid'] } });
    await expectManagementError(await consentApi('PATCH', `${id}/accept`, { subject: 'mallory', grantScopes: ['openid', 'offline'] }), 409);
  });

  it('answers an acceptance of a rejected consent request with 409', async () => {
    const client = await webClient();
    const id = await askConsent(authorizationUrl(client.id), new CookieJar());
    await decide(t, consentBearer, id, { reject: { reason: 'no' } });
    await expectManagementError(await consentApi('PATCH', `${id}/accept`, { subject: 'alice', grantScopes: ['openid'] }), 409);
  });

  it('answers reading and accepting an expired consent request with 410', async () => {
    const short = await startServerWithOwnIssuer(kind, { CONSENT_URL, CHALLENGE_TOKEN_LIFESPAN: '1s' });
    try {
      const client = await short.root.createClient({ grant_types: ['authorization_code'], redirect_uris: [CALLBACK], scope: 'openid' });
      const bearer = await rootBearer(short, 'hydra.consent');
      const id = await askConsent(authorizationUrl(client.id, { scope: 'openid' }, short), new CookieJar());
      await sleep(1200);
      const headers = { token: bearer };
      await expectManagementError(await managementRequest(short, 'GET', `/oauth2/consent/requests/${id}`, headers), 410);
      const accept = { ...headers, json: { subject: 'alice', grantScopes: ['openid'] } };
      await expectManagementError(await managementRequest(short, 'PATCH', `/oauth2/consent/requests/${id}/accept`, accept), 410);
    } finally {
      await short.close();
    }
  });

  // --- What the consent app may decide ---------------------------------------------------------------------------

  it('refuses to grant a scope the client did not request with 400 naming grantScopes', async () => {
    const client = await webClient();
    // The client may ask for email, but this request did not.
    const id = await askConsent(authorizationUrl(client.id, { scope: 'openid' }), new CookieJar());
    const error = await expectManagementError(await consentApi('PATCH', `${id}/accept`, { subject: 'alice', grantScopes: ['openid', 'email'] }), 400);
    expect(error.reason).toContain('grantScopes');
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'grantScopes' }));
  });

  it.each(['sub', 'iss'])('refuses idTokenExtra setting the reserved claim %s with 400', async (claim) => {
    const client = await webClient();
    const id = await askConsent(authorizationUrl(client.id), new CookieJar());
    const body = { subject: 'alice', grantScopes: ['openid'], idTokenExtra: { [claim]: 'root' } };
    const error = await expectManagementError(await consentApi('PATCH', `${id}/accept`, body), 400);
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'idTokenExtra' }));
    expect(error.reason).toContain(claim);
  });

  it('sends a rejected consent back as rejected_consent_request with the reason and the state', async () => {
    const client = await webClient();
    const state = newState();
    const url = authorizationUrl(client.id, { state });
    const landed = await authorizeInBrowser(t, consentBearer, url, { reject: { reason: 'The user said no' } });
    expect(landed.origin + landed.pathname).toBe(CALLBACK);
    expect(landed.searchParams.get('error')).toBe('rejected_consent_request');
    expect(landed.searchParams.get('error_description')).toBe('The user said no');
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('code')).toBeNull();
  });

  // --- Refresh tokens, revocation, userinfo -----------------------------------------------------------------------

  it('revokes the whole token family when a rotated refresh token is presented again', async () => {
    const client = await webClient();
    const first = await tokensFor(client);
    const second = await tokensOf(await refresh(client, first.refresh_token));
    expect(second.refresh_token).toBeTypeOf('string');
    expect(await introspectAs(client, second.access_token)).toMatchObject({ active: true });

    await expectOAuthError(await refresh(client, first.refresh_token), 400, 'invalid_grant');
    expect(await introspectAs(client, second.access_token)).toEqual({ active: false });
    await expectOAuthError(await refresh(client, second.refresh_token!), 400, 'invalid_grant');
  });

  it("refuses to revoke another client's token with 400 unauthorized_client, and the token stays active", async () => {
    const owner = await webClient();
    const other = await webClient();
    const tokens = await tokensFor(owner);
    const revoke = (token: string) =>
      fetch(`${t.url}/oauth2/revoke`, {
        method: 'POST',
        headers: { 'content-type': FORM, authorization: basic(other.id, other.secret) },
        body: new URLSearchParams({ token }).toString(),
      });
    await expectOAuthError(await revoke(tokens.access_token), 400, 'unauthorized_client');
    await expectOAuthError(await revoke(tokens.refresh_token), 400, 'unauthorized_client');
    expect(await introspectAs(owner, tokens.access_token)).toMatchObject({ active: true, client_id: owner.id });
    await tokensOf(await refresh(owner, tokens.refresh_token));
  });

  it('answers the revocation of an unknown token with 200', async () => {
    const client = await webClient();
    const response = await fetch(`${t.url}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basic(client.id, client.secret) },
      body: new URLSearchParams({ token: 'not-a-token-this-server-issued' }).toString(),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('refuses userinfo for a client_credentials token (no openid scope) with 403 insufficient_scope and a Bearer challenge', async () => {
    const machine = await machineClient(t, 'orders.read');
    const token = await issueToken(t, machine, 'orders.read');
    const response = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    const challenge = response.headers.get('www-authenticate');
    await expectOAuthError(response, 403, 'insufficient_scope');
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_scope"');
  });

  it('refuses userinfo without an access token with 401 invalid_token', async () => {
    const response = await fetch(`${t.url}/userinfo`);
    const challenge = response.headers.get('www-authenticate');
    await expectOAuthError(response, 401, 'invalid_token');
    expect(challenge).toMatch(/^Bearer /);
  });
});

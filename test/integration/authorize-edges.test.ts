// Edges of the authorization endpoint and the grants found in review: a changed second visit spends nothing, a
// revocation racing an exchange leaves no live token, HEAD stores nothing, empty parameters count as omitted, the
// stored parameters are bounded, and a NUL byte (which PostgreSQL refuses in text) gets a 4xx naming it, never a 500.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestServer } from '../support/server.js';
import { CookieJar, decide, locationOf, visit } from '../support/user-agent.js';
import { allRows, basic, createClient, introspect, rootBearer, startServerWithOwnIssuer } from './helpers.js';

const CALLBACK = 'https://app.example/callback';

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe.each(DATABASES)('authorization endpoint edges on %s', (kind) => {
  let t: TestServer;
  let app: { id: string; secret: string };
  let bearer: string;

  beforeAll(async () => {
    t = await startServerWithOwnIssuer(kind, { CONSENT_URL: 'http://consent.example/consent' });
    const created = await createClient(t, {
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token', 'implicit'],
      response_types: ['code', 'token'],
      scope: 'openid offline',
    });
    app = { id: created.id, secret: created.client_secret! };
    bearer = await rootBearer(t, 'hydra.consent');
  });
  afterAll(async () => t?.close());

  const authorizeUrl = (extra: Record<string, string>) =>
    new URL(`${t.url}/oauth2/auth?${new URLSearchParams({ client_id: app.id, response_type: 'code', scope: 'offline', state: 'state-of-8+', ...extra })}`);

  async function consentedVisit(extra: Record<string, string>) {
    const jar = new CookieJar();
    const toConsent = locationOf(await visit(authorizeUrl(extra), jar));
    const request = await decide(t, bearer, toConsent.searchParams.get('consent')!, { accept: { subject: 'ada', grantScopes: ['offline'] } });
    return { jar, redirectUrl: new URL(request.redirectUrl) };
  }

  const exchange = (code: string, verifier: string) =>
    fetch(`${t.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(app.id, app.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier }).toString(),
    });

  it('refuses a second visit whose request was changed (a wider scope) without spending the consent', async () => {
    const { challenge } = pkce();
    const { jar, redirectUrl } = await consentedVisit({ code_challenge: challenge, code_challenge_method: 'S256' });
    const changed = new URL(redirectUrl);
    changed.searchParams.set('scope', 'openid offline');
    const refused = locationOf(await visit(changed, jar));
    expect(refused.searchParams.get('error_description')).toMatch(/differs from the one the consent was given for/);
    expect(refused.searchParams.has('code')).toBe(false);
    // The genuine visit still works: the changed one spent nothing.
    const genuine = locationOf(await visit(redirectUrl, jar));
    expect(genuine.searchParams.get('code')).toMatch(/^gatehouse_ac_/);
  });

  it('leaves no live token when a code is exchanged twice at the same time', async () => {
    for (let round = 0; round < 5; round++) {
      const { verifier, challenge } = pkce();
      const { jar, redirectUrl } = await consentedVisit({ code_challenge: challenge, code_challenge_method: 'S256' });
      const code = locationOf(await visit(redirectUrl, jar)).searchParams.get('code')!;
      const answers = await Promise.all([exchange(code, verifier), exchange(code, verifier)]);
      // The second exchange revokes what the first got; if it lands while the first is writing its tokens, the first
      // withdraws them and fails too. Either way no token of the code stays live.
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 400).length).toBeGreaterThanOrEqual(1);
      for (const answer of answers.filter((response) => response.status === 200)) {
        const issued = (await answer.json()) as { access_token: string };
        expect(await introspect(t, issued.access_token)).toEqual({ active: false });
      }
    }
  });

  it("puts the consent app's authTime (when the user signed in) into the ID token's auth_time, and refuses one in the future", async () => {
    const { verifier, challenge } = pkce();
    const jar = new CookieJar();
    const toConsent = locationOf(
      await visit(authorizeUrl({ scope: 'openid', nonce: 'nonce-1', code_challenge: challenge, code_challenge_method: 'S256' }), jar),
    );
    const consentId = toConsent.searchParams.get('consent')!;
    const future = await fetch(`${t.url}/oauth2/consent/requests/${consentId}/accept`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'ada', grantScopes: ['openid'], authTime: new Date(Date.now() + 3_600_000).toISOString() }),
    });
    expect(future.status).toBe(400);
    expect(await future.text()).toContain('authTime');

    const signedIn = new Date(Date.now() - 2 * 3_600_000);
    signedIn.setMilliseconds(0);
    const request = await decide(t, bearer, consentId, { accept: { subject: 'ada', grantScopes: ['openid'], authTime: signedIn.toISOString() } });
    const code = locationOf(await visit(request.redirectUrl, jar)).searchParams.get('code')!;
    const { id_token } = (await (await exchange(code, verifier)).json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(id_token.split('.')[1]!, 'base64url').toString()) as { auth_time: number };
    expect(claims.auth_time).toBe(signedIn.getTime() / 1000);
  });

  it('refuses a parameter given twice, in the query or in a form, with an error page (no redirect)', async () => {
    const query = `client_id=${app.id}&response_type=code&state=state-of-8%2B&state=another-state`;
    const answers = [
      await fetch(`${t.url}/oauth2/auth?${query}`, { redirect: 'manual' }),
      await fetch(`${t.url}/oauth2/auth`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: query,
      }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.headers.get('location')).toBeNull();
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await answer.text();
      expect(page).toContain('The parameter &quot;state&quot; was given more than once');
      expect(page).toContain('invalid_request');
    }
  });

  it('answers HEAD with 404 and stores no consent request for it', async () => {
    const before = (await allRows(t, 'consent_requests')).length;
    const response = await fetch(authorizeUrl({}), { method: 'HEAD', redirect: 'manual' });
    expect(response.status).toBe(404);
    expect((await allRows(t, 'consent_requests')).length).toBe(before);
  });

  it('treats an empty parameter as omitted: redirect_uri= means the only registered one', async () => {
    const { challenge } = pkce();
    const toConsent = locationOf(await visit(authorizeUrl({ redirect_uri: '', code_challenge: challenge, code_challenge_method: 'S256' }), new CookieJar()));
    expect(toConsent.origin).toBe('http://consent.example');
  });

  it('refuses parameters longer than it will store, at the redirect URI', async () => {
    const refused = locationOf(await visit(authorizeUrl({ nonce: 'n'.repeat(9000) }), new CookieJar()));
    expect(refused.origin + refused.pathname).toBe(CALLBACK);
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('error_description')).toMatch(/longer than 8192/);
  });

  it('refuses a control character in an authorization parameter at the redirect URI, storing nothing', async () => {
    const before = (await allRows(t, 'consent_requests')).length;
    const refused = locationOf(await visit(authorizeUrl({ state: 'state-of-8+\u0000' }), new CookieJar()));
    expect(refused.origin + refused.pathname).toBe(CALLBACK);
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('error_description')).toBe('The state parameter contains a control character');
    expect((await allRows(t, 'consent_requests')).length).toBe(before);
  });

  it('answers a client_id with a NUL byte as an unknown client: an error page at the authorization endpoint, 401 at the token endpoint', async () => {
    const page = await fetch(`${t.url}/oauth2/auth?client_id=%00&response_type=code&state=state-of-8%2B`, { redirect: 'manual' });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('invalid_client');
    const token = await fetch(`${t.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x&client_id=%00',
    });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('refuses a consent decision whose subject or reason holds a NUL byte with 400 naming the field', async () => {
    const consentOf = async () => locationOf(await visit(authorizeUrl({}), new CookieJar())).searchParams.get('consent')!;
    const cases = [
      { action: 'accept', body: { subject: 'ada\u0000', grantScopes: ['offline'] }, field: 'subject' },
      { action: 'reject', body: { reason: 'no\u0000' }, field: 'reason' },
    ];
    for (const { action, body, field } of cases) {
      const answer = await fetch(`${t.url}/oauth2/consent/requests/${await consentOf()}/${action}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(400);
      expect(await answer.text()).toContain(field);
    }
  });

  it('refuses a userinfo POST whose body is not a form with 400 invalid_request, not a 500', async () => {
    const answer = await fetch(`${t.url}/userinfo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"access_token":1}' });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toContain('application/x-www-form-urlencoded');
  });

  it('answers prompt=none with login_required at the redirect URI, storing nothing, and refuses unknown or mixed prompt values', async () => {
    const before = (await allRows(t, 'consent_requests')).length;
    const silent = locationOf(await visit(authorizeUrl({ prompt: 'none' }), new CookieJar()));
    expect(silent.origin + silent.pathname).toBe(CALLBACK);
    expect(silent.searchParams.get('error')).toBe('login_required');
    expect(silent.searchParams.get('state')).toBe('state-of-8+');
    expect((await allRows(t, 'consent_requests')).length).toBe(before);
    for (const prompt of ['none login', 'sometimes']) {
      const refused = locationOf(await visit(authorizeUrl({ prompt }), new CookieJar()));
      expect(refused.searchParams.get('error'), prompt).toBe('invalid_request');
      expect(refused.searchParams.get('error_description'), prompt).toMatch(/prompt/);
    }
    // The values the consent app always meets go to it as usual.
    const toConsent = locationOf(await visit(authorizeUrl({ prompt: 'login consent' }), new CookieJar()));
    expect(toConsent.origin).toBe('http://consent.example');
  });

  it('enforces max_age against the sign-in time the consent app reports: login_required when older, a code when recent', async () => {
    const outcome = async (maxAge: string, signedInSecondsAgo: number) => {
      const jar = new CookieJar();
      const toConsent = locationOf(await visit(authorizeUrl({ max_age: maxAge }), jar));
      const authTime = new Date(Date.now() - signedInSecondsAgo * 1000).toISOString();
      const request = await decide(t, bearer, toConsent.searchParams.get('consent')!, { accept: { subject: 'ada', grantScopes: ['offline'], authTime } });
      return locationOf(await visit(new URL(request.redirectUrl), jar)).searchParams;
    };
    const stale = await outcome('60', 7200);
    expect(stale.get('error')).toBe('login_required');
    expect(stale.get('error_description')).toMatch(/max_age \(60 s\)/);
    expect(stale.has('code')).toBe(false);
    expect((await outcome('60', 5)).get('code')).toMatch(/^gatehouse_ac_/);

    const malformed = locationOf(await visit(authorizeUrl({ max_age: 'soon' }), new CookieJar()));
    expect(malformed.searchParams.get('error')).toBe('invalid_request');
    expect(malformed.searchParams.get('error_description')).toMatch(/max_age/);
  });
});

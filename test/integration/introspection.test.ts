import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import {
  FORM,
  JSON_TYPE,
  ROOT_CREDENTIALS,
  expectManagementError,
  expectOAuthError,
  introspect,
  introspectRequest,
  issueToken,
  machineClient,
  managementRequest,
  rootBearer,
  sleep,
  withDatabase,
  type Credentials,
} from './helpers.js';

const INTROSPECTOR_POLICY = {
  id: 'introspectors',
  subjects: ['introspector'],
  effect: 'allow',
  resources: ['rn:hydra:oauth2:tokens'],
  actions: ['introspect'],
};
const FLUSHER_POLICY = { id: 'flushers', subjects: ['flusher'], effect: 'allow', resources: ['rn:hydra:oauth2:tokens'], actions: ['flush'] };

describe.each(DATABASES)('POST /oauth2/introspect on %s', (kind) => {
  let t: TestServer;
  let orders: Credentials;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer(kind, { POLICIES: JSON.stringify([INTROSPECTOR_POLICY]) });
    orders = await machineClient(t, 'orders.read orders.write');
    token = await issueToken(t, orders, 'orders.read orders.write');
  });
  afterAll(async () => t?.close());

  describe('authenticated with HTTP Basic', () => {
    it('describes an active token with every field', async () => {
      const before = Math.floor(Date.now() / 1000);
      const fresh = await issueToken(t, orders, 'orders.read');
      const response = await introspectRequest(t, { token: fresh }, ROOT_CREDENTIALS);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('pragma')).toBe('no-cache');
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ active: true, scope: 'orders.read', client_id: orders.id, sub: orders.id, iss: 'http://127.0.0.1:4444', ext: {} });
      expect(Object.keys(body)).toEqual(expect.arrayContaining(['active', 'scope', 'client_id', 'sub', 'exp', 'iat', 'iss', 'ext']));
      const { iat, exp } = body as { iat: number; exp: number };
      expect(Number.isInteger(iat) && Number.isInteger(exp)).toBe(true);
      expect(iat).toBeGreaterThanOrEqual(before - 1);
      expect(iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(exp - iat).toBe(3600);
    });

    it('lets any confidential client introspect, with Basic or with credentials in the form', async () => {
      const other = await machineClient(t, '');
      expect(await (await introspectRequest(t, { token }, other)).json()).toMatchObject({ active: true, client_id: orders.id });
      const inForm = await introspectRequest(t, { token, client_id: other.id, client_secret: other.secret });
      expect(inForm.status).toBe(200);
      expect(await inForm.json()).toMatchObject({ active: true, client_id: orders.id });
    });

    it('refuses a wrong secret, an unknown client or no credentials with 401 invalid_client', async () => {
      for (const auth of [{ id: orders.id, secret: 'wrong-wrong-wrong-wrong-wrong-wrong' }, { id: 'ghost', secret: orders.secret }, undefined]) {
        const response = await introspectRequest(t, { token }, auth);
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
        await expectOAuthError(response, 401, 'invalid_client');
      }
    });
  });

  describe('authenticated with a bearer token', () => {
    it('accepts a token holding hydra.introspect from a subject a policy allows', async () => {
      const introspector = await machineClient(t, 'hydra.introspect', { id: 'introspector' });
      const bearer = await issueToken(t, introspector, 'hydra.introspect');
      const response = await introspectRequest(t, { token }, bearer);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ active: true, client_id: orders.id });
    });

    it('accepts the root client through hydra.* and the admin policy', async () => {
      expect(await (await introspectRequest(t, { token }, await rootBearer(t))).json()).toMatchObject({ active: true });
    });

    it('refuses a token without hydra.introspect with 403 insufficient_scope (RFC 6750 §3.1)', async () => {
      const response = await introspectRequest(t, { token }, await rootBearer(t, 'hydra.clients'));
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="insufficient_scope"');
      const error = await expectOAuthError(response, 403, 'insufficient_scope');
      expect(error.error_description).toContain('hydra.introspect');
    });

    it('refuses a subject no policy allows with 403 insufficient_scope', async () => {
      const unlisted = await machineClient(t, 'hydra.introspect');
      const error = await expectOAuthError(await introspectRequest(t, { token }, await issueToken(t, unlisted, 'hydra.introspect')), 403, 'insufficient_scope');
      expect(error.error_description).toContain(unlisted.id);
    });

    it('refuses an unknown or forged bearer in the OAuth 2.0 format: 401 invalid_token (RFC 7662 §2.3, RFC 6750 §3.1)', async () => {
      for (const bearer of ['unknown-token', `${token.split('.')[0]}.${'A'.repeat(43)}`]) {
        const response = await introspectRequest(t, { token }, bearer);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
        const error = await expectOAuthError(response, 401, 'invalid_token');
        expect(error.error_description).toContain('invalid');
      }
    });
  });

  describe('the scope parameter', () => {
    it.each([
      ['orders.read', true],
      ['orders.read orders.write', true],
      ['orders.delete', false],
      ['orders.read orders.delete', false],
      ['orders', false],
    ])('scope=%s → active %s', async (scope, active) => {
      const body = await introspect(t, token, scope);
      expect(body.active).toBe(active);
      if (!active) expect(body).toEqual({ active: false });
    });
  });

  describe('inactive tokens', () => {
    it.each([
      ['an unknown token', () => 'not-a-token'],
      ['a token with a forged signature', () => `${token.split('.')[0]}.${'A'.repeat(43)}`],
      ['a token with a changed random part', () => `${'A'.repeat(43)}.${token.split('.')[1]}`],
      ['a truncated token', () => token.slice(0, -1)],
      ['a very long token', () => `${'x'.repeat(4000)}.${'y'.repeat(43)}`],
    ])('answers exactly {"active": false} for %s', async (_what, candidate) => {
      expect(await introspect(t, candidate())).toEqual({ active: false });
    });

    it('answers {"active": false} for a token of a deleted client', async () => {
      const doomed = await machineClient(t, 'x');
      const doomedToken = await issueToken(t, doomed, 'x');
      expect((await introspect(t, doomedToken)).active).toBe(true);
      await t.root.deleteClient(doomed.id);
      expect(await introspect(t, doomedToken)).toEqual({ active: false });
    });
  });

  describe('request errors', () => {
    it('refuses a missing or empty token parameter with 400 invalid_request', async () => {
      await expectOAuthError(await introspectRequest(t, {}, ROOT_CREDENTIALS), 400, 'invalid_request');
      await expectOAuthError(await introspectRequest(t, { token: '' }, ROOT_CREDENTIALS), 400, 'invalid_request');
      await expectOAuthError(await introspectRequest(t, { scope: 'a' }, ROOT_CREDENTIALS), 400, 'invalid_request');
    });

    it('refuses a repeated token parameter and a JSON body with 400 invalid_request', async () => {
      const headers = { authorization: `Bearer ${await rootBearer(t)}` };
      const repeated = await fetch(`${t.url}/oauth2/introspect`, {
        method: 'POST',
        headers: { ...headers, 'content-type': FORM },
        body: `token=${token}&token=${token}`,
      });
      await expectOAuthError(repeated, 400, 'invalid_request');
      const json = await fetch(`${t.url}/oauth2/introspect`, {
        method: 'POST',
        headers: { ...headers, 'content-type': JSON_TYPE },
        body: JSON.stringify({ token }),
      });
      await expectOAuthError(json, 400, 'invalid_request');
    });

    it('says that it takes a form when the request has no Content-Type', async () => {
      const response = await fetch(`${t.url}/oauth2/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await rootBearer(t)}` },
        body: new TextEncoder().encode(`token=${token}`),
      });
      const error = await expectOAuthError(response, 400, 'invalid_request');
      expect(error.error_description).toContain('application/x-www-form-urlencoded');
    });
  });
});

describe.each(DATABASES)('token expiry and POST /oauth2/flush on %s (ACCESS_TOKEN_LIFESPAN=2s)', (kind) => {
  const LIFESPAN_MS = 2000;
  let t: TestServer;
  let alpha: Credentials;
  let beta: Credentials;

  const tokenRows = (clientId: string) => withDatabase(t, (query) => query(`SELECT * FROM access_tokens WHERE client_id = '${clientId}'`));
  const flush = async (json?: unknown, token?: string) =>
    managementRequest(t, 'POST', '/oauth2/flush', { token: token ?? (await rootBearer(t, 'hydra.oauth2.flush')), ...(json === undefined ? {} : { json }) });
  const expired = async () => {
    await sleep(LIFESPAN_MS + 100);
  };

  beforeAll(async () => {
    t = await startTestServer(kind, { ACCESS_TOKEN_LIFESPAN: '2s', POLICIES: JSON.stringify([FLUSHER_POLICY]) });
    [alpha, beta] = await Promise.all([machineClient(t, 'a'), machineClient(t, 'b')]);
  });
  afterAll(async () => t?.close());

  it('issues tokens with the configured lifespan', async () => {
    const response = await fetch(`${t.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: alpha.id, client_secret: alpha.secret }).toString(),
    });
    expect(((await response.json()) as { expires_in: number }).expires_in).toBe(2);
  });

  it('introspects an expired token as {"active": false}, and refuses it as a management bearer', async () => {
    const token = await issueToken(t, alpha, 'a');
    const live = await introspect(t, token);
    expect(live.active).toBe(true);
    expect((live.exp as number) - (live.iat as number)).toBe(2);
    const bearer = await rootBearer(t);
    await expired();
    expect(await introspect(t, token)).toEqual({ active: false });
    await expectManagementError(await managementRequest(t, 'GET', '/clients', { token: bearer }), 401);
    await expectOAuthError(await introspectRequest(t, { token }, bearer), 401, 'invalid_token');
  });

  it('flushes expired tokens (204) and keeps live ones', async () => {
    await issueToken(t, alpha, 'a');
    await expired();
    const live = await issueToken(t, beta, 'b');
    expect((await tokenRows(alpha.id)).length).toBeGreaterThan(0);
    const response = await flush();
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(await tokenRows(alpha.id)).toEqual([]);
    expect((await tokenRows(beta.id)).length).toBeGreaterThan(0);
    expect((await introspect(t, live)).active).toBe(true);
  });

  it('keeps expired tokens issued at or after notAfter', async () => {
    await issueToken(t, alpha, 'a');
    await expired();
    expect((await flush({ notAfter: '2000-01-01T00:00:00Z' })).status).toBe(204);
    expect((await tokenRows(alpha.id)).length).toBeGreaterThan(0);
    expect((await flush({ notAfter: new Date(Date.now() + 60_000).toISOString() })).status).toBe(204);
    expect(await tokenRows(alpha.id)).toEqual([]);
  });

  it('accepts a bearer whose hydra.* scope covers hydra.oauth2.flush, as the SDK requests it', async () => {
    expect((await flush(undefined, await rootBearer(t, 'hydra.*'))).status).toBe(204);
    await expect(t.root.flushInactiveTokens(new Date())).resolves.toBeUndefined();
  });

  it('lets a subject allowed by a configured policy flush', async () => {
    const flusher = await machineClient(t, 'hydra.oauth2.flush', { id: 'flusher' });
    expect((await flush({}, await issueToken(t, flusher, 'hydra.oauth2.flush'))).status).toBe(204);
  });

  it.each<[string, unknown, string]>([
    ['a date that is not RFC 3339', { notAfter: 'yesterday' }, 'notAfter'],
    ['an impossible date', { notAfter: '2020-13-45T00:00:00Z' }, 'notAfter'],
    ['a number', { notAfter: 1700000000 }, 'notAfter'],
    ['an unknown field', { not_after: '2020-01-01T00:00:00Z' }, 'not_after'],
  ])('refuses %s with 400', async (_what, json, field) => {
    const error = await expectManagementError(await flush(json), 400);
    expect(error.reason).toContain(field);
  });

  it('answers malformed JSON (400), a non-JSON body (415) and an oversized body (413) in the management envelope', async () => {
    const token = await rootBearer(t, 'hydra.oauth2.flush');
    const send = (body: string, contentType: string) =>
      managementRequest(t, 'POST', '/oauth2/flush', { token, body, headers: { 'content-type': contentType } });
    await expectManagementError(await send('{', JSON_TYPE), 400);
    await expectManagementError(await send('notAfter', 'text/plain'), 415);
    await expectManagementError(await send(JSON.stringify({ notAfter: 'x'.repeat(70 * 1024) }), JSON_TYPE), 413);
  });

  it('refuses no bearer (401), a bearer without the flush scope (403) and a subject without policy (403)', async () => {
    await expectManagementError(await managementRequest(t, 'POST', '/oauth2/flush', { json: {} }), 401);
    const error = await expectManagementError(await flush({}, await rootBearer(t, 'hydra.clients')), 403);
    expect(error.reason).toContain('hydra.oauth2.flush');
    const unlisted = await machineClient(t, 'hydra.oauth2.flush');
    await expectManagementError(await flush({}, await issueToken(t, unlisted, 'hydra.oauth2.flush')), 403);
  });
});

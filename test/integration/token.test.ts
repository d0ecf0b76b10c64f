import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import {
  FORM,
  JSON_TYPE,
  allRows,
  basic,
  createClient,
  expectOAuthError,
  introspect,
  issueToken,
  machineClient,
  metricValue,
  tokenRequest,
  uniqueId,
  type Credentials,
} from './helpers.js';

const TOKEN_FORMAT = /^gatehouse_at_[0-9a-f]{12}[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;

/** Base64 of an arbitrary `user:password` string, without the RFC 6749 form-encoding step. */
const rawBasic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

describe.each(DATABASES)('POST /oauth2/token (client_credentials) on %s', (kind) => {
  let t: TestServer;
  let orders: Credentials;

  beforeAll(async () => {
    t = await startTestServer(kind);
    orders = await machineClient(t, 'orders.read orders.write');
  });
  afterAll(async () => t?.close());

  describe('success', () => {
    it('issues a bearer token with HTTP Basic: body, no-store headers, opaque format', async () => {
      const response = await tokenRequest(t, { credentials: orders, scope: 'orders.read' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('pragma')).toBe('no-cache');
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'orders.read' });
      expect(body.access_token).toMatch(TOKEN_FORMAT);
      expect(await introspect(t, body.access_token as string)).toMatchObject({ active: true, client_id: orders.id, sub: orders.id, scope: 'orders.read' });
    });

    it('issues a token with credentials in the form body (client_secret_post)', async () => {
      const response = await tokenRequest(t, { credentials: orders, method: 'post', scope: 'orders.read orders.write' });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; scope: string };
      expect(body.scope).toBe('orders.read orders.write');
      expect(await introspect(t, body.access_token)).toMatchObject({ active: true, scope: 'orders.read orders.write' });
    });

    it('grants no scope when none is requested', async () => {
      const response = await tokenRequest(t, { credentials: orders });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; scope: string };
      expect(body.scope).toBe('');
      expect(await introspect(t, body.access_token)).toMatchObject({ active: true, scope: '' });
    });

    it('issues a new, different token on every request', async () => {
      const tokens = await Promise.all(Array.from({ length: 5 }, () => issueToken(t, orders, 'orders.read')));
      expect(new Set(tokens).size).toBe(5);
    });

    it('accepts the client id in the form beside HTTP Basic when it is the same', async () => {
      const response = await tokenRequest(t, { credentials: orders, form: { client_id: orders.id } });
      expect(response.status).toBe(200);
    });

    it('URL-decodes id and secret of HTTP Basic (RFC 6749 §2.3.1), and takes them verbatim from the form', async () => {
      const id = `svc:orders@team+1.a~b_${uniqueId('x')}`;
      const secret = 'p@ss: with %25 percent, spaces & plus+signs = "quotes" ü';
      await createClient(t, { id, client_secret: secret, grant_types: ['client_credentials'], scope: 'a' });
      const credentials = { id, secret };
      // Our SDK's encoder: encodeURIComponent with + for space.
      expect((await tokenRequest(t, { credentials, scope: 'a' })).status).toBe(200);
      // The same with %20 for space, which form-decoding also accepts.
      const percent = rawBasic(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`);
      expect((await tokenRequest(t, { headers: { authorization: percent } })).status).toBe(200);
      expect((await tokenRequest(t, { credentials, method: 'post' })).status).toBe(200);
      // Unencoded, the id's ':' splits id from secret in the wrong place.
      await expectOAuthError(await tokenRequest(t, { headers: { authorization: rawBasic(`${id}:${secret}`) } }), 401, 'invalid_client');
    });

    it('accepts an unencoded Basic header when id and secret have no reserved characters', async () => {
      expect((await tokenRequest(t, { headers: { authorization: rawBasic(`${orders.id}:${orders.secret}`) } })).status).toBe(200);
    });
  });

  describe('client authentication failures (401 invalid_client)', () => {
    it.each<[string, () => Parameters<typeof tokenRequest>[1]]>([
      ['a wrong secret over Basic', () => ({ credentials: { id: orders.id, secret: `${orders.secret}x` } })],
      ['a wrong secret in the form', () => ({ credentials: { id: orders.id, secret: 'wrong-secret-wrong-secret-wrong-secret' }, method: 'post' })],
      ['an unknown client', () => ({ credentials: { id: uniqueId('ghost'), secret: orders.secret } })],
      ['no credentials at all', () => ({})],
      ['a client_id without a secret in the form', () => ({ form: { client_id: orders.id } })],
      ['Basic that is not base64 of id:secret', () => ({ headers: { authorization: 'Basic bm9jb2xvbg==' } })],
      ['Basic with broken percent-encoding', () => ({ headers: { authorization: rawBasic(`${orders.id}:%E0%A4%A`) } })],
      ['a bearer token instead of client credentials', () => ({ headers: { authorization: 'Bearer abc.def' } })],
    ])('refuses %s', async (_what, request) => {
      const response = await tokenRequest(t, request());
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
      await expectOAuthError(response, 401, 'invalid_client');
    });

    it('refuses a public client, which has no secret', async () => {
      const client = await createClient(t, { public: true });
      await expectOAuthError(await tokenRequest(t, { credentials: { id: client.id, secret: 'x'.repeat(43) } }), 401, 'invalid_client');
    });

    it('does not reveal whether the client exists', async () => {
      const unknown = await (await tokenRequest(t, { credentials: { id: uniqueId('ghost'), secret: 'x'.repeat(43) } })).json();
      const wrong = await (await tokenRequest(t, { credentials: { id: orders.id, secret: 'x'.repeat(43) } })).json();
      expect(unknown).toEqual(wrong);
    });
  });

  describe('request errors (400)', () => {
    it('refuses credentials in both the Basic header and the form with invalid_request', async () => {
      const response = await tokenRequest(t, { credentials: orders, form: { client_id: orders.id, client_secret: orders.secret } });
      await expectOAuthError(response, 400, 'invalid_request');
    });

    it('refuses a form client_id different from the Basic one', async () => {
      await expectOAuthError(await tokenRequest(t, { credentials: orders, form: { client_id: 'someone-else' } }), 400, 'invalid_request');
    });

    it('refuses a missing grant_type with invalid_request', async () => {
      const error = await expectOAuthError(await tokenRequest(t, { credentials: orders, form: { grant_type: null } }), 400, 'invalid_request');
      expect(error.error_description).toContain('grant_type');
    });

    it.each(['password', 'urn:ietf:params:oauth:grant-type:device_code', 'implicit'])(
      'refuses grant_type=%s with unsupported_grant_type',
      async (grantType) => {
        await expectOAuthError(await tokenRequest(t, { credentials: orders, form: { grant_type: grantType } }), 400, 'unsupported_grant_type');
      },
    );

    it('refuses a client without the client_credentials grant with unauthorized_client', async () => {
      const client = await createClient(t, { grant_types: ['authorization_code'], scope: 'a' });
      await expectOAuthError(await tokenRequest(t, { credentials: { id: client.id, secret: client.client_secret! }, scope: 'a' }), 400, 'unauthorized_client');
    });

    it('refuses a scope the client may not request with invalid_scope, naming it', async () => {
      const error = await expectOAuthError(await tokenRequest(t, { credentials: orders, scope: 'orders.read admin' }), 400, 'invalid_scope');
      expect(error.error_description).toContain('admin');
      expect(error.error_description).not.toContain('orders.read');
    });

    it.each(['grant_type', 'scope', 'client_secret'])('refuses a repeated %s parameter with invalid_request', async (name) => {
      const body = `grant_type=client_credentials&scope=orders.read&client_id=${orders.id}&client_secret=${orders.secret}&${name}=again`;
      const response = await fetch(`${t.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': FORM }, body });
      const error = await expectOAuthError(response, 400, 'invalid_request');
      expect(error.error_description).toContain(name);
    });

    it.each([
      ['a JSON body', JSON_TYPE, () => JSON.stringify({ grant_type: 'client_credentials', client_id: orders.id, client_secret: orders.secret })],
      ['malformed JSON', JSON_TYPE, () => '{"grant_type":'],
      ['a text/plain body', 'text/plain', () => 'grant_type=client_credentials'],
    ])('refuses %s with invalid_request', async (_what, contentType, body) => {
      const response = await fetch(`${t.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: basic(orders.id, orders.secret) },
        body: body(),
      });
      await expectOAuthError(response, 400, 'invalid_request');
    });

    it('refuses an empty request with invalid_request', async () => {
      await expectOAuthError(await fetch(`${t.url}/oauth2/token`, { method: 'POST' }), 400, 'invalid_request');
    });

    it('says that it takes a form when a body comes without a Content-Type, or with one it has no parser for', async () => {
      const form = new TextEncoder().encode(`grant_type=client_credentials&client_id=${orders.id}&client_secret=${orders.secret}`);
      const bare = await expectOAuthError(await fetch(`${t.url}/oauth2/token`, { method: 'POST', body: form }), 400, 'invalid_request');
      expect(bare.error_description).toContain('no Content-Type');
      expect(bare.error_description).toContain('application/x-www-form-urlencoded');
      const xml = await fetch(`${t.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/xml; charset=utf-8' }, body: '<grant/>' });
      const error = await expectOAuthError(xml, 400, 'invalid_request');
      expect(error.error_description).toContain('application/xml');
      expect(error.error_description).toContain('application/x-www-form-urlencoded');
      expect(error.error_description).not.toContain('application/json');
    });

    it('refuses a body over BODY_LIMIT with 413 in the OAuth 2.0 format', async () => {
      const response = await tokenRequest(t, { credentials: orders, form: { padding: 'x'.repeat(70 * 1024) } });
      await expectOAuthError(response, 413, 'invalid_request');
    });
  });

  describe('wildcard scope strategy', () => {
    let wild: Credentials;
    beforeAll(async () => {
      wild = await machineClient(t, 'orders.* billing.invoices');
    });

    it.each(['orders.read', 'orders.write', 'orders.read billing.invoices', 'orders.read.items'])('orders.* lets the client request %s', async (scope) => {
      const response = await tokenRequest(t, { credentials: wild, scope });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { scope: string }).scope).toBe(scope);
    });

    it.each(['orders', 'orders.', 'ordersx.read', 'other.read', 'billing', 'billing.invoices.paid', 'billing.*'])(
      'orders.* billing.invoices does not cover %s',
      async (scope) => {
        await expectOAuthError(await tokenRequest(t, { credentials: wild, scope }), 400, 'invalid_scope');
      },
    );
  });

  describe('metrics', () => {
    it('counts issued tokens by grant type', async () => {
      const before = await metricValue(t, 'gatehouse_tokens_issued_total', { grant_type: 'client_credentials' });
      await Promise.all([issueToken(t, orders), issueToken(t, orders), issueToken(t, orders)]);
      // Failed requests issue nothing.
      await tokenRequest(t, { credentials: orders, scope: 'nope' });
      expect(await metricValue(t, 'gatehouse_tokens_issued_total', { grant_type: 'client_credentials' })).toBe(before + 3);
    });

    it('counts failed client authentications by reason', async () => {
      const invalid = await metricValue(t, 'gatehouse_client_auth_failures_total', { reason: 'invalid' });
      const missing = await metricValue(t, 'gatehouse_client_auth_failures_total', { reason: 'missing' });
      await tokenRequest(t, { credentials: { id: orders.id, secret: 'wrong-wrong-wrong-wrong-wrong-wrong' } });
      await tokenRequest(t, { credentials: { id: uniqueId('ghost'), secret: 'wrong-wrong-wrong-wrong-wrong-wrong' } });
      await tokenRequest(t, {});
      expect(await metricValue(t, 'gatehouse_client_auth_failures_total', { reason: 'invalid' })).toBe(invalid + 2);
      expect(await metricValue(t, 'gatehouse_client_auth_failures_total', { reason: 'missing' })).toBe(missing + 1);
    });
  });

  describe('tokens at rest', () => {
    it('stores neither the token, nor its random part, nor its signature', async () => {
      const token = await issueToken(t, orders, 'orders.read');
      const [randomPart, signature] = token.split('.') as [string, string];
      const rows = await allRows(t, 'access_tokens');
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(randomPart);
      expect(dump).not.toContain(signature);
      // The row is there, keyed by something derived from the token.
      const mine = rows.filter((row) => row.client_id === orders.id && row.scope === 'orders.read');
      expect(mine.length).toBeGreaterThan(0);
      expect(mine[0]).toMatchObject({ subject: orders.id });
    });
  });
});

import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { importJWK, type CryptoKey } from 'jose';
import { GRANT_TYPES, RESPONSE_TYPES } from '../../src/contract/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import {
  FORM,
  ROOT_CREDENTIALS,
  allRows,
  basic,
  expectManagementError,
  expectOAuthError,
  introspectRequest,
  issueToken,
  machineClient,
  managementRequest,
  rawRequest,
  rootBearer,
  tokenRequest,
} from './helpers.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISSUER = 'http://127.0.0.1:4444';
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe.each(DATABASES)('discovery, keys and operations on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  describe('GET /.well-known/openid-configuration', () => {
    it('describes the server under its ISSUER, without authentication', async () => {
      const response = await fetch(`${t.url}/.well-known/openid-configuration`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/oauth2/auth`,
        token_endpoint: `${ISSUER}/oauth2/token`,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        userinfo_endpoint: `${ISSUER}/userinfo`,
        introspection_endpoint: `${ISSUER}/oauth2/introspect`,
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
      expect(body.response_types_supported).toEqual(expect.arrayContaining(['code', 'token', 'id_token', 'code id_token', 'code id_token token']));
      expect(body.scopes_supported).toEqual(expect.arrayContaining(['offline', 'openid']));
      expect(body.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud', 'exp', 'iat']));
      expect(body.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_post', 'client_secret_basic']));
      expect(body.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials']));
    });

    it('advertises exactly the grant types the token endpoint serves', async () => {
      const { grant_types_supported: advertised } = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as {
        grant_types_supported: string[];
      };
      // Every grant type a client registration may name, served or not: each is advertised if and only if the token
      // endpoint takes it (an unserved one is unsupported_grant_type before any client authentication).
      for (const grantType of GRANT_TYPES) {
        const response = await fetch(`${t.url}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: grantType }).toString(),
        });
        const { error } = (await response.json()) as { error: string };
        // The implicit grant is completed by the authorization endpoint, never the token endpoint (RFC 6749 §4.2).
        if (grantType === 'implicit') expect(error).toBe('unsupported_grant_type');
        else expect(error === 'unsupported_grant_type', `${grantType}: ${error}`).toBe(!advertised.includes(grantType));
      }
      expect(advertised.includes('implicit')).toBe(await authorizationEndpointIssues('token'));
      expect(advertised.every((grantType) => (GRANT_TYPES as readonly string[]).includes(grantType))).toBe(true);
    });
  });

  /**
   * Whether /oauth2/auth takes the response type: a client registered for every response type asks for it, and the
   * endpoint either sends the browser on to the consent app or back with unsupported_response_type.
   */
  async function authorizationEndpointIssues(responseType: string): Promise<boolean> {
    const client = await t.root.createClient({
      redirect_uris: ['http://127.0.0.1:9/callback'],
      grant_types: ['authorization_code', 'implicit'],
      response_types: [...RESPONSE_TYPES],
      scope: 'openid',
    });
    const query = new URLSearchParams({ client_id: client.id, response_type: responseType, scope: 'openid', state: 'discovery-state', nonce: 'n-0S6_WzA2Mj' });
    const response = await fetch(`${t.url}/oauth2/auth?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    const params = new URLSearchParams(location.hash ? location.hash.slice(1) : location.search);
    if (location.origin === 'http://127.0.0.1:9') expect(params.get('error')).toBe('unsupported_response_type');
    return location.origin !== 'http://127.0.0.1:9';
  }

  it('advertises exactly the response types the authorization endpoint issues', async () => {
    const { response_types_supported: advertised } = (await (await fetch(`${t.url}/.well-known/openid-configuration`)).json()) as {
      response_types_supported: string[];
    };
    for (const responseType of RESPONSE_TYPES) expect(await authorizationEndpointIssues(responseType), responseType).toBe(advertised.includes(responseType));
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the RS256 ID-token signing key(s) without any private part', async () => {
      const response = await fetch(`${t.url}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toMatch(/^public/);
      const { keys } = (await response.json()) as { keys: Record<string, string>[] };
      expect(keys.length).toBeGreaterThanOrEqual(1);
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
        expect(key.kid).toMatch(/^public:/);
        expect(key.kid!.slice('public:'.length)).toMatch(UUID_V4);
        for (const member of PRIVATE_JWK_MEMBERS) expect(key).not.toHaveProperty(member);
        // At least 2048 bits of modulus; and it imports as a usable public key.
        expect(Buffer.from(key.n!, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
        const imported = (await importJWK(key, 'RS256')) as CryptoKey;
        expect(imported.type).toBe('public');
      }
    });

    it('keeps the private key encrypted at rest', async () => {
      const { keys } = await t.root.jwks();
      const rows = await allRows(t, 'json_web_keys');
      expect(rows.map((row) => row.kid)).toEqual(expect.arrayContaining(keys.map((key) => key.kid)));
      for (const row of rows) {
        const sealed = row.private_jwk_sealed as string;
        expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        expect(sealed).not.toContain('"d"');
        const publicJwk = JSON.parse(row.public_jwk as string) as Record<string, unknown>;
        for (const member of PRIVATE_JWK_MEMBERS) expect(publicJwk).not.toHaveProperty(member);
      }
    });
  });

  describe('health', () => {
    it('answers /health/alive and /health/ready with 200 while the database answers', async () => {
      for (const path of ['/health/alive', '/health/ready']) {
        const response = await fetch(`${t.url}${path}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ status: 'ok' });
      }
    });
  });

  describe('GET /metrics', () => {
    it('exposes Prometheus text with request durations labelled by route pattern and status', async () => {
      const missing = 'no-such-client-for-metrics';
      expect((await managementRequest(t, 'GET', `/clients/${missing}`, { token: await rootBearer(t) })).status).toBe(404);
      await fetch(`${t.url}/no/such/route/${missing}`);
      const response = await fetch(`${t.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toContain('# TYPE http_request_duration_seconds histogram');
      expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/clients\/:id",status_code="404"\} [1-9]/);
      expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} [1-9]/);
      // Route patterns, never concrete paths: the label set stays bounded.
      expect(text).not.toContain(missing);
      expect(text).toContain('# TYPE gatehouse_tokens_issued_total counter');
      expect(text).toContain('# TYPE gatehouse_client_auth_failures_total counter');
    });
  });

  describe('X-Request-ID', () => {
    it('generates a UUID per request when none is sent', async () => {
      const [a, b] = await Promise.all([fetch(`${t.url}/health/alive`), fetch(`${t.url}/health/alive`)]);
      expect(a.headers.get('x-request-id')).toMatch(UUID_V4);
      expect(b.headers.get('x-request-id')).toMatch(UUID_V4);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    });

    it('echoes a well-formed id on success and puts it in management errors', async () => {
      const id = 'trace-01HX_abc.def:42';
      const ok = await fetch(`${t.url}/.well-known/openid-configuration`, { headers: { 'x-request-id': id } });
      expect(ok.headers.get('x-request-id')).toBe(id);
      const failed = await fetch(`${t.url}/clients`, { headers: { 'x-request-id': id } });
      expect((await expectManagementError(failed, 401)).request).toBe(id);
    });

    it('echoes it on OAuth 2.0 errors, unknown routes, oversized bodies and malformed URLs', async () => {
      const headers = { 'x-request-id': 'req-oauth-1' };
      const oauth = await tokenRequest(t, { headers });
      expect(oauth.headers.get('x-request-id')).toBe('req-oauth-1');
      await expectOAuthError(oauth, 401, 'invalid_client');
      const notFound = await fetch(`${t.url}/nowhere`, { headers });
      expect((await expectManagementError(notFound, 404)).request).toBe('req-oauth-1');
      const tooLarge = await fetch(`${t.url}/clients`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ x: 'x'.repeat(70_000) }),
      });
      expect((await expectManagementError(tooLarge, 413)).request).toBe('req-oauth-1');
      const badUrl = await fetch(`${t.url}/clients/%E0%A4%A`, { headers });
      expect((await expectManagementError(badUrl, 400)).request).toBe('req-oauth-1');
    });

    it.each([
      ['with a space', 'bad id'],
      ['with a slash', 'a/b'],
      ['over 128 characters', 'r'.repeat(129)],
      ['with a quote', 'a"b'],
    ])('replaces an id %s with a generated one', async (_what, id) => {
      const response = await fetch(`${t.url}/clients`, { headers: { 'x-request-id': id } });
      const generated = response.headers.get('x-request-id');
      expect(generated).toMatch(UUID_V4);
      expect((await expectManagementError(response, 401)).request).toBe(generated);
    });
  });

  it('answers unknown routes with 404 in the management envelope', async () => {
    const error = await expectManagementError(await fetch(`${t.url}/no/such/thing`, { method: 'POST' }), 404);
    expect(error.reason).toContain('/no/such/thing');
  });

  // Node's HTTP parser refuses these before Fastify sees a request; Fastify's own answer was a body of another shape.
  describe('requests the HTTP parser refuses', () => {
    it('answers a URL longer than the header limit (16 KiB) with 431 in the management envelope', async () => {
      const error = await expectManagementError(await rawRequest(t, 'GET', `/clients?q=${'a'.repeat(20_000)}`), 431);
      expect(error.reason).toContain('URL');
    });

    it('answers a URL far longer, whose rest the server never reads, the same way rather than with a reset', async () => {
      await expectManagementError(await rawRequest(t, 'GET', `/clients/${'a'.repeat(300_000)}`), 431);
    });

    it('answers headers over the limit with 431 in the management envelope', async () => {
      await expectManagementError(await rawRequest(t, 'GET', '/health/alive', { headers: { 'x-padding': 'p'.repeat(20_000) } }), 431);
    });

    it.each([
      ['a raw non-ASCII byte', '/clients/caf\u00e9'],
      ['a raw 0xFF byte', '/clients/\u00ff'],
      ['a raw DEL byte', '/clients/a\u007fb'],
    ])('answers a path with %s with 400 in the management envelope', async (_what, path) => {
      const error = await expectManagementError(await rawRequest(t, 'GET', path), 400);
      expect(error.reason).toContain('percent-encoded');
    });

    it('keeps serving after them', async () => {
      await expectManagementError(await rawRequest(t, 'GET', '/clients/caf\u00e9'), 400);
      expect((await fetch(`${t.url}/health/alive`)).status).toBe(200);
    });
  });
});

describe.each(DATABASES)('readiness without a database on %s', (kind) => {
  it('answers /health/ready with 503 when the database is gone, while /health/alive stays 200', async () => {
    const t = await startTestServer(kind);
    try {
      await t.server.database.close();
      const ready = await fetch(`${t.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable' });
      expect((await fetch(`${t.url}/health/alive`)).status).toBe(200);
    } finally {
      await t.root.close();
      await t.server.app.close();
      if (t.databaseUrl.startsWith('sqlite://')) rmSync(dirname(t.databaseUrl.slice('sqlite://'.length)), { recursive: true, force: true });
    }
  });
});

// test/integration/logging.test.ts covers the access log on SQLite; this adds PostgreSQL and the credentials that
// only appear encoded or in places that one does not exercise (Basic header, PUT body, query string, bearer).
describe.each(DATABASES)('logs on %s', (kind) => {
  const lines: string[] = [];
  let t: TestServer;
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    t = await startTestServer(kind, {}, undefined, { logger: createLogger({ level: 'trace', format: 'json', destination }) });
  });
  afterAll(async () => t?.close());

  it('never carries a secret or token, however it was sent', async () => {
    const client = await machineClient(t, 'a');
    const token = await issueToken(t, client, 'a');
    const newSecret = 'rotated-secret-that-must-never-be-logged';
    const bearer = await rootBearer(t);
    const secrets = [client.secret, token, ...token.split('.'), newSecret, bearer, basic(client.id, client.secret).slice('Basic '.length)];

    await introspectRequest(t, { token }, ROOT_CREDENTIALS);
    await introspectRequest(t, { token }, bearer);
    await introspectRequest(t, { token, client_id: client.id, client_secret: client.secret });
    await managementRequest(t, 'PUT', `/clients/${client.id}`, { token: bearer, json: { client_secret: newSecret, grant_types: ['client_credentials'] } });
    await managementRequest(t, 'POST', '/clients', { token: bearer, json: { client_secret: newSecret.slice(0, 10) } });
    await fetch(`${t.url}/clients?access_token=${token}`, { headers: { authorization: `Bearer ${bearer}`, 'x-request-id': 'log-probe-1' } });
    await fetch(`${t.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: `grant_type=client_credentials&client_id=${client.id}&client_secret=${newSecret}`,
    });

    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(() => JSON.parse(line)).not.toThrow();
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
    const probe = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.reqId === 'log-probe-1');
    expect(probe).toHaveLength(1);
    expect(probe[0]).toMatchObject({ path: '/clients', status: 400, method: 'GET' });
  });
});

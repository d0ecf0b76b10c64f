import { readFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import {
  FORM,
  JSON_TYPE,
  allRows,
  createClient,
  expectManagementError,
  expectOAuthError,
  introspect,
  issueToken,
  machineClient,
  managementRequest,
  rootBearer,
  tokenRequest,
  uniqueId,
  withDatabase,
  type ManagementRequest,
} from './helpers.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SECRET_FIELDS = ['client_secret', 'secret', 'secret_hash', 'secretHash'];
const LONG_SECRET = 'a-supplied-secret-of-forty-characters-ok';

function expectNoSecret(client: object): void {
  for (const field of SECRET_FIELDS) expect(client).not.toHaveProperty(field);
}

describe.each(DATABASES)('/clients on %s', (kind) => {
  let t: TestServer;
  let token: string;
  const call = (method: string, path: string, request: ManagementRequest = {}) => managementRequest(t, method, path, { token, ...request });

  beforeAll(async () => {
    t = await startTestServer(kind);
    token = await rootBearer(t);
  });
  afterAll(async () => t?.close());

  describe('POST /clients', () => {
    it('answers 201 with Location, a generated UUID v4 id and a generated 256-bit secret', async () => {
      const response = await call('POST', '/clients', { json: { client_name: 'generated', grant_types: ['client_credentials'] } });
      expect(response.status).toBe(201);
      const client = (await response.json()) as OAuth2Client;
      expect(client.id).toMatch(UUID_V4);
      expect(response.headers.get('location')).toBe(`/clients/${client.id}`);
      expect(client.client_secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
      // 256 random bits, then a 72-bit check value: 41 bytes behind the prefix.
      expect(Buffer.from(client.client_secret!.slice('gatehouse_cs_'.length), 'base64url')).toHaveLength(41);
      expect(client).toMatchObject({ client_name: 'generated', grant_types: ['client_credentials'], public: false });
    });

    it('generates a different id and secret for every client', async () => {
      const [a, b] = await Promise.all([createClient(t, {}), createClient(t, {})]);
      expect(a.id).not.toBe(b.id);
      expect(a.client_secret).not.toBe(b.client_secret);
    });

    it('keeps a supplied id and secret, and the secret authenticates', async () => {
      const id = uniqueId('supplied');
      const response = await call('POST', '/clients', { json: { id, client_secret: LONG_SECRET, grant_types: ['client_credentials'], scope: 'a b' } });
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe(`/clients/${id}`);
      expect(await response.json()).toMatchObject({ id, client_secret: LONG_SECRET, scope: 'a b' });
      await issueToken(t, { id, secret: LONG_SECRET }, 'a');
    });

    it('fills in the documented defaults and echoes every field', async () => {
      const id = uniqueId('defaults');
      const bare = await createClient(t, { id });
      expect(bare).toMatchObject({
        id,
        client_name: '',
        redirect_uris: [],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: '',
        owner: '',
        policy_uri: '',
        tos_uri: '',
        client_uri: '',
        logo_uri: '',
        contacts: [],
        public: false,
      });
      const full = {
        client_name: 'Full',
        redirect_uris: ['https://app.example/cb', 'http://127.0.0.1:8080/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'implicit', 'client_credentials'],
        response_types: ['code', 'id_token code', 'token'],
        scope: 'openid offline orders.*',
        owner: 'team-a',
        policy_uri: 'https://app.example/policy',
        tos_uri: 'https://app.example/tos',
        client_uri: 'https://app.example',
        logo_uri: 'https://app.example/logo.png',
        contacts: ['ops@app.example'],
      };
      const created = await createClient(t, full);
      // Response types come back in the canonical order.
      expect(created).toMatchObject({ ...full, response_types: ['code', 'code id_token', 'token'] });
    });

    it('refuses a supplied secret shorter than 16 characters with a 400 naming client_secret', async () => {
      const error = await expectManagementError(await call('POST', '/clients', { json: { client_secret: 'x'.repeat(15) } }), 400);
      expect(error.reason).toContain('client_secret');
      expect(error.details).toContainEqual(expect.objectContaining({ field: 'client_secret' }));
    });

    it('answers 409 for a duplicate id and leaves the first client untouched', async () => {
      const id = uniqueId('dup');
      await createClient(t, { id, client_name: 'first', client_secret: LONG_SECRET, grant_types: ['client_credentials'] });
      const error = await expectManagementError(await call('POST', '/clients', { json: { id, client_name: 'second' } }), 409);
      expect(error.reason).toContain(id);
      expect((await t.root.getClient(id)).client_name).toBe('first');
      await issueToken(t, { id, secret: LONG_SECRET });
    });

    it('gives a public client no secret, and it cannot authenticate', async () => {
      const response = await call('POST', '/clients', { json: { public: true, redirect_uris: ['https://spa.example/cb'] } });
      expect(response.status).toBe(201);
      const client = (await response.json()) as OAuth2Client;
      expect(client.public).toBe(true);
      expectNoSecret(client);
      const [row] = await withDatabase(t, (query) => query(`SELECT secret_hash FROM clients WHERE id = '${client.id}'`));
      expect(row!.secret_hash).toBeNull();
    });

    it('refuses a public client with a client_secret, naming client_secret', async () => {
      const error = await expectManagementError(await call('POST', '/clients', { json: { public: true, client_secret: LONG_SECRET } }), 400);
      expect(error.reason).toContain('client_secret');
    });

    it('refuses a public client with the client_credentials grant', async () => {
      const error = await expectManagementError(await call('POST', '/clients', { json: { public: true, grant_types: ['client_credentials'] } }), 400);
      expect(error.reason).toContain('grant_types');
    });

    it('refuses unknown fields, naming them', async () => {
      const error = await expectManagementError(await call('POST', '/clients', { json: { client_name: 'x', clientSecret: LONG_SECRET, colour: 'blue' } }), 400);
      expect(error.reason).toContain('clientSecret');
      expect(error.reason).toContain('colour');
    });

    it.each<[string, Record<string, unknown>]>([
      ['scope', { scope: 5 }],
      ['redirect_uris', { redirect_uris: 'https://app.example/cb' }],
      ['public', { public: 'yes' }],
      ['grant_types', { grant_types: [1] }],
      ['contacts', { contacts: 'ops@app.example' }],
      ['id', { id: 7 }],
      ['client_name', { client_name: null }],
      ['client_secret', { client_secret: 1234567890 }],
    ])('refuses a wrong type of %s', async (field, json) => {
      const error = await expectManagementError(await call('POST', '/clients', { json }), 400);
      expect(error.reason).toContain(field);
      expect(error.details).toContainEqual(expect.objectContaining({ field: expect.stringContaining(field) }));
    });

    it.each<[string, string, Record<string, unknown>]>([
      ['a relative redirect URI', 'redirect_uris', { redirect_uris: ['/callback'] }],
      ['a redirect URI without scheme', 'redirect_uris', { redirect_uris: ['app.example/cb'] }],
      ['a redirect URI with a fragment', 'redirect_uris', { redirect_uris: ['https://app.example/cb#frag'] }],
      ['an unknown grant type', 'grant_types', { grant_types: ['password'] }],
      ['an unknown response type', 'response_types', { response_types: ['code banana'] }],
      ['a scope with a double space', 'scope', { scope: 'a  b' }],
      ['a scope with a quote', 'scope', { scope: 'a"b' }],
      ['a scope with a backslash', 'scope', { scope: 'a\\b' }],
      ['a scope with a leading space', 'scope', { scope: ' a' }],
      ['an id with a space', 'id', { id: 'has space' }],
      ['an id with a slash', 'id', { id: 'a/b' }],
      ['an id of 256 characters', 'id', { id: 'i'.repeat(256) }],
      ['an empty id', 'id', { id: '' }],
      ['a relative policy_uri', 'policy_uri', { policy_uri: 'policy.html' }],
      ['a secret over 512 characters', 'client_secret', { client_secret: 's'.repeat(513) }],
    ])('refuses %s, naming %s', async (_what, field, json) => {
      const error = await expectManagementError(await call('POST', '/clients', { json }), 400);
      expect(error.reason).toContain(field);
    });

    it.each<[string, Record<string, unknown>]>([
      ['javascript:alert(1)', {}],
      ['JavaScript:alert(1)', { public: true }],
      ['data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', { public: true }],
      ['vbscript:msgbox(1)', {}],
      ['file:///etc/passwd', {}],
      ['http://app.example/cb', {}],
      ['http://localhost@evil.example/cb', {}],
      ['https://app.example/cb#state', {}],
      ['com.example.app:/callback', {}],
      ['myapp:/callback', { public: true }],
    ])('refuses the redirect URI %s (%j) with a 400 naming redirect_uris.1, and creates nothing', async (uri, fields) => {
      const id = uniqueId('redirect');
      const error = await expectManagementError(
        await call('POST', '/clients', { json: { id, redirect_uris: ['https://app.example/cb', uri], ...fields } }),
        400,
      );
      expect(error.reason).toContain('redirect_uris.1');
      expect(error.details).toEqual([expect.objectContaining({ field: 'redirect_uris.1' })]);
      expect((await call('GET', `/clients/${id}`)).status).toBe(404);
    });

    it('accepts loopback http for any client and a private-use scheme for a public client', async () => {
      const loopback = ['http://localhost:3000/cb', 'http://127.0.0.1/cb', 'http://127.9.8.7:8080/cb', 'http://[::1]:8080/cb'];
      expect((await createClient(t, { redirect_uris: loopback })).redirect_uris).toEqual(loopback);
      const native = ['com.example.app:/oauth2redirect', 'com.example.app://callback', ...loopback];
      expect((await createClient(t, { public: true, redirect_uris: native })).redirect_uris).toEqual(native);
    });

    it('refuses on PUT what it refuses on POST, and leaves the client as it was', async () => {
      const created = await createClient(t, { redirect_uris: ['https://app.example/cb'] });
      const error = await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { redirect_uris: ['javascript:alert(1)'] } }), 400);
      expect(error.details).toEqual([expect.objectContaining({ field: 'redirect_uris.0' })]);
      // Turning public is what would allow a private-use scheme; keeping it confidential does not.
      await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { redirect_uris: ['com.example.app:/cb'] } }), 400);
      expect((await t.root.getClient(created.id)).redirect_uris).toEqual(['https://app.example/cb']);
      const turnedPublic = await call('PUT', `/clients/${created.id}`, { json: { public: true, redirect_uris: ['com.example.app:/cb'] } });
      expect(turnedPublic.status).toBe(200);
    });

    it('refuses malformed JSON with a 400', async () => {
      const error = await expectManagementError(await call('POST', '/clients', { body: '{"client_name": "x",', headers: { 'content-type': JSON_TYPE } }), 400);
      expect(error.reason).toMatch(/JSON/);
    });

    it.each([
      ['a JSON array', '[]'],
      ['a JSON string', '"client"'],
      ['JSON null', 'null'],
      ['a JSON number', '42'],
    ])('refuses %s as the body', async (_what, body) => {
      await expectManagementError(await call('POST', '/clients', { body, headers: { 'content-type': JSON_TYPE } }), 400);
    });

    it.each(['text/plain', FORM, 'application/xml', 'multipart/form-data; boundary=x'])('refuses Content-Type %s with 415', async (contentType) => {
      const error = await expectManagementError(await call('POST', '/clients', { body: '{"client_name":"x"}', headers: { 'content-type': contentType } }), 415);
      expect(error.reason).toContain('application/json');
    });

    it('refuses a body over BODY_LIMIT (64 KiB by default) with 413 and creates nothing', async () => {
      const id = uniqueId('huge');
      const json = { id, client_name: 'x'.repeat(64 * 1024) };
      const error = await expectManagementError(await call('POST', '/clients', { json }), 413);
      expect(error.reason).toContain('BODY_LIMIT');
      expect((await call('GET', `/clients/${id}`)).status).toBe(404);
    });

    it('accepts a large body under BODY_LIMIT', async () => {
      const redirect_uris = Array.from({ length: 32 }, (_, i) => `https://app.example/${i}/${'p'.repeat(1980)}`);
      const body = JSON.stringify({ redirect_uris });
      expect(body.length).toBeGreaterThan(60 * 1024);
      expect(body.length).toBeLessThan(64 * 1024);
      const response = await call('POST', '/clients', { body, headers: { 'content-type': JSON_TYPE } });
      expect(response.status).toBe(201);
      expect(((await response.json()) as OAuth2Client).redirect_uris).toEqual(redirect_uris);
    });

    it('refuses an empty body, with or without a JSON Content-Type', async () => {
      await expectManagementError(await call('POST', '/clients', { body: '', headers: { 'content-type': JSON_TYPE } }), 400);
      await expectManagementError(await call('POST', '/clients'), 400);
    });
  });

  describe('GET /clients/:id', () => {
    it('returns the client and never a secret', async () => {
      const created = await createClient(t, { client_name: 'readable', scope: 'x y', owner: 'me' });
      expect(created.client_secret).toBeDefined();
      const response = await call('GET', `/clients/${created.id}`);
      expect(response.status).toBe(200);
      const client = (await response.json()) as OAuth2Client;
      const { client_secret: _secret, ...withoutSecret } = created;
      expect(client).toEqual(withoutSecret);
      expectNoSecret(client);
    });

    it('answers 404 for an unknown id', async () => {
      const error = await expectManagementError(await call('GET', `/clients/${uniqueId('missing')}`), 404);
      expect(error.reason).toContain('missing');
    });

    it.each([
      ['a space', 'a%20b'],
      ['an encoded slash', 'a%2Fb'],
      ['256 characters', 'i'.repeat(256)],
      ['a non-ASCII character', 'caf%C3%A9'],
      ['broken percent-encoding', '%E0%A4%A'],
    ])('answers 400 for an id with %s', async (_what, id) => {
      await expectManagementError(await call('GET', `/clients/${id}`), 400);
    });

    it('reads, updates and deletes a client whose id has the maximum length and every allowed special character', async () => {
      const id = `${'Az09._~:@+-'.repeat(23)}ab`;
      expect(id).toHaveLength(255);
      await createClient(t, { id, client_name: 'long' });
      const path = `/clients/${encodeURIComponent(id)}`;
      const read = await call('GET', path);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id, client_name: 'long' });
      expect((await call('PUT', path, { json: { client_name: 'longer' } })).status).toBe(200);
      expect((await call('DELETE', path)).status).toBe(204);
      expect((await call('GET', path)).status).toBe(404);
    });

    it('answers a path that is far too long in the management envelope', async () => {
      await expectManagementError(await call('GET', `/clients/${'i'.repeat(5000)}`), 414);
    });
  });

  describe('PUT /clients/:id', () => {
    it('keeps the stored secret when none is supplied: the old secret still authenticates', async () => {
      const { id, secret } = await machineClient(t, 'orders.read');
      await issueToken(t, { id, secret }, 'orders.read'); // the verified-credential cache now knows it
      const response = await call('PUT', `/clients/${id}`, {
        json: { client_name: 'renamed', grant_types: ['client_credentials'], scope: 'orders.read orders.write' },
      });
      expect(response.status).toBe(200);
      const updated = (await response.json()) as OAuth2Client;
      expect(updated).toMatchObject({ id, client_name: 'renamed', scope: 'orders.read orders.write' });
      expectNoSecret(updated);
      await issueToken(t, { id, secret }, 'orders.write');
      expect(await t.root.getClient(id)).toMatchObject({ client_name: 'renamed', scope: 'orders.read orders.write' });
    });

    it('changes and echoes a supplied secret: the old one stops working at once, the new one works', async () => {
      const { id, secret } = await machineClient(t, 'orders.read');
      await issueToken(t, { id, secret });
      const newSecret = 'the-new-secret-with-more-than-32-chars';
      const response = await call('PUT', `/clients/${id}`, { json: { client_secret: newSecret, grant_types: ['client_credentials'], scope: 'orders.read' } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id, client_secret: newSecret });
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret } }), 401, 'invalid_client');
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret }, method: 'post' }), 401, 'invalid_client');
      await issueToken(t, { id, secret: newSecret }, 'orders.read');
      // The new secret is not shown again.
      expectNoSecret(await t.root.getClient(id));
    });

    it('replaces the client: fields left out return to their defaults', async () => {
      const created = await createClient(t, { client_name: 'full', scope: 'a', owner: 'o', contacts: ['c'], redirect_uris: ['https://x.example/cb'] });
      const response = await call('PUT', `/clients/${created.id}`, { json: { client_name: 'bare' } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        client_name: 'bare',
        scope: '',
        owner: '',
        contacts: [],
        redirect_uris: [],
        grant_types: ['authorization_code'],
      });
    });

    it('drops the secret of a client turned public, and generates one when it turns confidential again', async () => {
      const { id, secret } = await machineClient(t, 'a');
      const toPublic = await call('PUT', `/clients/${id}`, { json: { public: true } });
      expect(toPublic.status).toBe(200);
      expectNoSecret((await toPublic.json()) as object);
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret } }), 401, 'invalid_client');
      const back = await call('PUT', `/clients/${id}`, { json: { public: false, grant_types: ['client_credentials'] } });
      const generated = ((await back.json()) as OAuth2Client).client_secret;
      expect(generated).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
      await issueToken(t, { id, secret: generated! });
    });

    it('accepts a body id equal to the path id', async () => {
      const created = await createClient(t, {});
      const response = await call('PUT', `/clients/${created.id}`, { json: { id: created.id, client_name: 'same id' } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: created.id, client_name: 'same id' });
    });

    it('refuses a body id different from the path id with a 400 naming id, and changes nothing', async () => {
      const created = await createClient(t, { client_name: 'kept' });
      const error = await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { id: uniqueId('other'), client_name: 'changed' } }), 400);
      expect(error.reason).toContain('id');
      expect(error.details).toContainEqual(expect.objectContaining({ field: 'id' }));
      expect((await t.root.getClient(created.id)).client_name).toBe('kept');
    });

    it('answers 404 for an unknown client', async () => {
      await expectManagementError(await call('PUT', `/clients/${uniqueId('missing')}`, { json: { client_name: 'x' } }), 404);
    });

    it('validates the body like POST', async () => {
      const created = await createClient(t, {});
      expect((await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { client_secret: 'short' } }), 400)).reason).toContain(
        'client_secret',
      );
      expect((await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { nope: 1 } }), 400)).reason).toContain('nope');
      expect((await expectManagementError(await call('PUT', `/clients/${created.id}`, { json: { redirect_uris: ['/relative'] } }), 400)).reason).toContain(
        'redirect_uris',
      );
      await expectManagementError(await call('PUT', `/clients/${created.id}`, { body: '{', headers: { 'content-type': JSON_TYPE } }), 400);
      await expectManagementError(await call('PUT', `/clients/${created.id}`, { body: '{}', headers: { 'content-type': 'text/plain' } }), 415);
      await expectManagementError(await call('PUT', '/clients/bad%20id', { json: {} }), 400);
    });
  });

  describe('DELETE /clients/:id', () => {
    it('accepts a JSON Content-Type without a body, as some generated clients send', async () => {
      const created = await createClient(t, { grant_types: ['client_credentials'] });
      const response = await call('DELETE', `/clients/${created.id}`, { headers: { 'content-type': 'application/json' } });
      expect(response.status).toBe(204);
    });

    it('answers 204 with no body; the client is gone', async () => {
      const created = await createClient(t, {});
      const response = await call('DELETE', `/clients/${created.id}`);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
      await expectManagementError(await call('GET', `/clients/${created.id}`), 404);
      await expectManagementError(await call('DELETE', `/clients/${created.id}`), 404);
    });

    it('answers 404 for an unknown client and 400 for a malformed id', async () => {
      await expectManagementError(await call('DELETE', `/clients/${uniqueId('missing')}`), 404);
      await expectManagementError(await call('DELETE', '/clients/a%20b'), 400);
    });

    it('makes its tokens introspect inactive and its credentials stop working', async () => {
      const { id, secret } = await machineClient(t, 'orders.read');
      const accessToken = await issueToken(t, { id, secret }, 'orders.read');
      expect(await introspect(t, accessToken)).toMatchObject({ active: true, client_id: id });
      expect((await call('DELETE', `/clients/${id}`)).status).toBe(204);
      expect(await introspect(t, accessToken)).toEqual({ active: false });
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret } }), 401, 'invalid_client');
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret }, method: 'post' }), 401, 'invalid_client');
      expect(await withDatabase(t, (query) => query(`SELECT * FROM access_tokens WHERE client_id = '${id}'`))).toEqual([]);
    });

    it('does not bring the credentials back when a client of the same id is created again', async () => {
      const id = uniqueId('reborn');
      await createClient(t, { id, client_secret: LONG_SECRET, grant_types: ['client_credentials'] });
      await issueToken(t, { id, secret: LONG_SECRET });
      await t.root.deleteClient(id);
      const reborn = await createClient(t, { id, grant_types: ['client_credentials'] });
      await expectOAuthError(await tokenRequest(t, { credentials: { id, secret: LONG_SECRET } }), 401, 'invalid_client');
      await issueToken(t, { id, secret: reborn.client_secret! });
    });
  });

  describe('secrets at rest', () => {
    it('stores only salted hashes: scrypt for supplied secrets, the keyed HMAC for generated ones', async () => {
      const supplied = `plain-${'q'.repeat(40)}`;
      const a = await createClient(t, { id: uniqueId('at-rest'), client_secret: supplied });
      const b = await createClient(t, { id: uniqueId('at-rest') });
      const c = await createClient(t, { id: uniqueId('at-rest'), client_secret: supplied });
      const rows = await allRows(t, 'clients');
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(supplied);
      expect(dump).not.toContain(b.client_secret!);
      const hashOf = (id: string) => rows.find((row) => row.id === id)?.secret_hash as string;
      const hashes = [a.id, b.id, c.id].map(hashOf);
      for (const id of [a.id, c.id]) expect(hashOf(id)).toMatch(/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      expect(hashOf(b.id)).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      // Salted: the same secret hashes differently for two clients.
      expect(new Set(hashes).size).toBe(3);
    });

    it.runIf(kind === 'sqlite')('leaves no secret anywhere in the SQLite files', async () => {
      const secret = `needle-${'z'.repeat(40)}`;
      await createClient(t, { id: uniqueId('needle'), client_secret: secret });
      const generated = (await createClient(t, { id: uniqueId('needle') })).client_secret!;
      const path = t.databaseUrl.slice('sqlite://'.length);
      for (const file of [path, `${path}-wal`]) {
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file);
        expect(bytes.includes(secret)).toBe(false);
        expect(bytes.includes(generated)).toBe(false);
      }
    });
  });
});

describe('redirect URIs with ALLOW_HTTP_REDIRECT_URIS=true', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { ALLOW_HTTP_REDIRECT_URIS: 'true' });
  });
  afterAll(async () => t?.close());

  it('accepts http to any host, and still refuses dangerous schemes, fragments and private-use schemes of confidential clients', async () => {
    const uris = ['http://app.example/cb', 'http://10.0.0.7:8080/cb'];
    expect((await createClient(t, { redirect_uris: uris })).redirect_uris).toEqual(uris);
    const token = await rootBearer(t);
    for (const uri of ['javascript:alert(1)', 'http://app.example/cb#x', 'com.example.app:/cb']) {
      const error = await expectManagementError(await managementRequest(t, 'POST', '/clients', { token, json: { redirect_uris: [uri] } }), 400);
      expect(error.details).toEqual([expect.objectContaining({ field: 'redirect_uris.0' })]);
    }
  });
});

describe.each(DATABASES)('GET /clients (paging) on %s', (kind) => {
  let t: TestServer;
  let token: string;
  const BULK = 520;
  const bulkIds = Array.from({ length: BULK }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
  const allIds = [...bulkIds, 'root'].sort();
  const list = (query: string) => managementRequest(t, 'GET', `/clients${query}`, { token });
  const ids = async (response: Response) => ((await response.json()) as OAuth2Client[]).map((client) => client.id);

  beforeAll(async () => {
    t = await startTestServer(kind);
    token = await rootBearer(t);
    // Hundreds of clients through the API would cost hundreds of scrypt hashes; rows without a secret are enough here.
    const values = [...bulkIds]
      .reverse()
      .map((id) => `('${id}', '${id}', NULL, '[]', '["authorization_code"]', '["code"]', '', '', '', '', '', '', '[]', 0, 1, 1)`)
      .join(', ');
    await withDatabase(t, (query) =>
      query(
        `INSERT INTO clients (id, client_name, secret_hash, redirect_uris, grant_types, response_types, scope, owner, policy_uri, tos_uri, client_uri, logo_uri, contacts, public, created_at, updated_at) VALUES ${values}`,
      ),
    );
  });
  afterAll(async () => t?.close());

  it('answers a JSON array of at most 100 clients by default, ordered by id, with X-Total-Count', async () => {
    const response = await list('');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-total-count')).toBe(String(BULK + 1));
    const clients = (await response.json()) as OAuth2Client[];
    expect(Array.isArray(clients)).toBe(true);
    expect(clients.map((client) => client.id)).toEqual(allIds.slice(0, 100));
    for (const client of clients) expectNoSecret(client);
  });

  it('clamps the limit to 500', async () => {
    const response = await list('?limit=100000');
    expect(response.status).toBe(200);
    expect(await ids(response)).toEqual(allIds.slice(0, 500));
    expect(response.headers.get('link')).toContain('limit=500&offset=500>; rel="next"');
  });

  it('pages with limit and offset through every client exactly once, in a stable order', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < BULK + 1; offset += 200) seen.push(...(await ids(await list(`?limit=200&offset=${offset}`))));
    expect(seen).toEqual(allIds);
    expect(await ids(await list('?limit=7&offset=13'))).toEqual(allIds.slice(13, 20));
    expect(await ids(await list('?limit=7&offset=13'))).toEqual(allIds.slice(13, 20));
  });

  it('answers an empty array past the end, with the total', async () => {
    const response = await list('?offset=10000');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
    expect(response.headers.get('x-total-count')).toBe(String(BULK + 1));
  });

  it('links first, prev, next and last pages (RFC 8288)', async () => {
    const links = async (query: string) => {
      const header = (await list(query)).headers.get('link') ?? '';
      return Object.fromEntries(
        header.split(', ').map((part) => {
          const match = /^<([^>]+)>; rel="(\w+)"$/.exec(part);
          expect(match, part).not.toBeNull();
          return [match![2], match![1]];
        }),
      );
    };
    expect(await links('?limit=100&offset=0')).toEqual({
      first: '/clients?limit=100&offset=0',
      next: '/clients?limit=100&offset=100',
      last: '/clients?limit=100&offset=500',
    });
    expect(await links('?limit=100&offset=250')).toEqual({
      first: '/clients?limit=100&offset=0',
      prev: '/clients?limit=100&offset=150',
      next: '/clients?limit=100&offset=350',
      last: '/clients?limit=100&offset=500',
    });
    expect(await links('?limit=100&offset=500')).toEqual({
      first: '/clients?limit=100&offset=0',
      prev: '/clients?limit=100&offset=400',
      last: '/clients?limit=100&offset=500',
    });
    // The links lead to exactly the pages they name.
    const next = (await links('?limit=50&offset=50')).next!;
    expect(await ids(await managementRequest(t, 'GET', next, { token }))).toEqual(allIds.slice(100, 150));
  });

  it.each([
    ['limit', '?limit=0'],
    ['limit', '?limit=-1'],
    ['limit', '?limit=abc'],
    ['limit', '?limit=1.5'],
    ['limit', '?limit=1&limit=2'],
    ['offset', '?offset=-1'],
    ['offset', '?offset=x'],
    // Number() would read these as 0, 1000, 16 and 5; the document says integer.
    ['offset', '?offset='],
    ['limit', '?limit=1e3'],
    ['limit', '?limit=0x10'],
    ['limit', '?limit=%205'],
    ['page', '?page=2'],
  ])('answers 400 naming %s for %s', async (field, query) => {
    const error = await expectManagementError(await list(query), 400);
    expect(error.reason).toContain(field);
  });
});

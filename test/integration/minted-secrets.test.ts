import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedSecretHash } from '../../src/crypto/keyed-secret-hash.js';
import { deriveKey } from '../../src/crypto/keys.js';
import { hashSecret } from '../../src/crypto/secret-hash.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { DATABASES, SYSTEM_SECRET, startTestServer, type TestServer } from '../support/server.js';
import {
  JSON_TYPE,
  allRows,
  expectManagementError,
  expectOAuthError,
  issueToken,
  machineClient,
  managementRequest,
  rootBearer,
  secretHashOf,
  tokenRequest,
  uniqueId,
  withDatabase,
  type Credentials,
} from './helpers.js';

// Secrets the server mints (gatehouse_cs_ + 256 random bits + a check value keyed by SYSTEM_SECRET) are stored under
// a keyed HMAC; every other secret, however it looks, under scrypt.

const MINTED = /^gatehouse_cs_[A-Za-z0-9_-]{55}$/;
const PREFIX = 'gatehouse_cs_';
const RANDOM_CHARS = 43;
const FAST = /^\$hmac-sha256\$k=([A-Za-z0-9_-]+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const SCRYPT = /^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const MINTER = 'secret-minter';
const READER = 'clients-reader';
// Only what these tests need beside the default policies (the root client may do everything).
const POLICIES = [
  { id: 'minter', subjects: [MINTER], effect: 'allow', resources: ['rn:hydra:clients'], actions: ['create'] },
  { id: 'reader', subjects: [READER], effect: 'allow', resources: ['rn:hydra:clients'], actions: ['get'] },
];

/** The key id the fast form names for a system secret, taken from a hash made under it. */
function keyIdOf(systemSecret: string): string {
  return FAST.exec(new KeyedSecretHash([deriveKey(systemSecret, 'secret-storage')]).hash('x'))![1]!;
}

/** `secret` with the character at `index` replaced by another base64url character. */
function withCharChanged(secret: string, index: number): string {
  const replacement = secret[index] === 'A' ? 'B' : 'A';
  return secret.slice(0, index) + replacement + secret.slice(index + 1);
}

describe.each(DATABASES)('minted client secrets on %s', (kind) => {
  let t: TestServer;
  let rootToken: string;
  const tokens: Record<string, string> = {};

  const mintRequest = (token: string | undefined, request: { body?: string; headers?: Record<string, string> } = {}) =>
    managementRequest(t, 'POST', '/clients/secrets', { ...(token ? { token } : {}), ...request });

  async function mint(): Promise<string> {
    const response = await mintRequest(rootToken);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const { client_secret: secret } = JSON.parse(text) as { client_secret: string };
    expect(secret).toMatch(MINTED);
    return secret;
  }

  async function create(input: Record<string, unknown>): Promise<OAuth2Client> {
    const response = await managementRequest(t, 'POST', '/clients', { token: rootToken, json: { grant_types: ['client_credentials'], ...input } });
    const text = await response.text();
    expect(response.status, text).toBe(201);
    return JSON.parse(text) as OAuth2Client;
  }

  async function expectAuthenticates(credentials: Credentials): Promise<void> {
    await issueToken(t, credentials);
  }

  async function expectRefused(credentials: Credentials): Promise<void> {
    await expectOAuthError(await tokenRequest(t, { credentials }), 401, 'invalid_client');
  }

  const clientRows = () => withDatabase(t, (query) => query('SELECT * FROM clients ORDER BY id'));

  beforeAll(async () => {
    t = await startTestServer(kind, { POLICIES: JSON.stringify(POLICIES) });
    rootToken = await rootBearer(t);
    for (const [id, scope] of [
      [MINTER, 'hydra.clients'],
      [READER, 'hydra.clients'],
      ['no-policy', 'hydra.clients'],
      ['minter-without-scope', 'other'],
    ] as const) {
      tokens[id] = await issueToken(t, await machineClient(t, scope, { id }), scope);
    }
  });
  afterAll(async () => t?.close());

  describe('a client created without a secret', () => {
    it('gets a minted secret, stored in the fast form under the key of SYSTEM_SECRET', async () => {
      const client = await create({ id: uniqueId('generated') });
      expect(client.client_secret).toMatch(MINTED);
      const stored = await secretHashOf(t, client.id);
      expect(stored).toMatch(FAST);
      expect(FAST.exec(stored!)![1]).toBe(keyIdOf(SYSTEM_SECRET));
      await expectAuthenticates({ id: client.id, secret: client.client_secret! });
      await expectRefused({ id: client.id, secret: withCharChanged(client.client_secret!, PREFIX.length) });
    });

    it('gets a different secret each time', async () => {
      const [a, b] = await Promise.all([create({}), create({})]);
      expect(a.client_secret).not.toBe(b.client_secret);
    });

    it('leaves neither the secret nor its access token anywhere in clients or access_tokens', async () => {
      const client = await create({ id: uniqueId('leak') });
      const secret = client.client_secret!;
      const token = await issueToken(t, { id: client.id, secret });
      expect(token).toMatch(/^gatehouse_at_[0-9a-f]{12}[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const [tokenBody, signature] = token.slice('gatehouse_at_'.length).split('.') as [string, string];
      const needles = [secret, secret.slice(PREFIX.length), secret.slice(PREFIX.length, PREFIX.length + RANDOM_CHARS), token, tokenBody, signature];
      // Also the random bits in the encodings a careless store might use.
      const randomBits = Buffer.from(secret.slice(PREFIX.length, PREFIX.length + RANDOM_CHARS), 'base64url');
      needles.push(randomBits.toString('hex'), randomBits.toString('base64'));

      const rows = [...(await allRows(t, 'clients')), ...(await allRows(t, 'access_tokens'))];
      expect(rows.some((row) => row.client_id === client.id)).toBe(true);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          if (value === null || value === undefined) continue;
          const text = String(value);
          for (const needle of needles) expect(text.includes(needle), `${column} holds part of the secret or token`).toBe(false);
        }
      }
    });
  });

  describe('a supplied secret that is not minted', () => {
    it('is stored under scrypt when weak (exactly the minimum length) and authenticates', async () => {
      const id = uniqueId('weak');
      const secret = 'password'.repeat(4);
      expect(secret).toHaveLength(32);
      await create({ id, client_secret: secret });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret });
      await expectRefused({ id, secret: `${secret.slice(0, -1)}x` });
      // Used, it stays under scrypt.
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
    });

    it('is stored under scrypt when it only looks minted (right prefix and length, no valid check value)', async () => {
      const id = uniqueId('lookalike');
      const secret = `${PREFIX}${'Q'.repeat(55)}`;
      expect(secret).toMatch(MINTED);
      await create({ id, client_secret: secret });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret });
    });

    it.each([
      ['a character of its random part', PREFIX.length + 10],
      ['the last character of its random part', PREFIX.length + RANDOM_CHARS - 1],
      ['a character of its check value', PREFIX.length + RANDOM_CHARS + 3],
      ['the last character of its check value', PREFIX.length + 54],
    ])('is stored under scrypt when a minted secret has %s altered, and authenticates as itself', async (_what, index) => {
      const minted = await mint();
      const forged = withCharChanged(minted, index);
      expect(forged).toMatch(MINTED);
      expect(forged).not.toBe(minted);
      const id = uniqueId('forged');
      await create({ id, client_secret: forged });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret: forged });
      // The genuine minted secret is not the forged client's secret.
      await expectRefused({ id, secret: minted });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
    });
  });

  describe('POST /clients/secrets', () => {
    it('answers 200 with a minted secret, no-store, and stores nothing', async () => {
      const before = await clientRows();
      const response = await mintRequest(rootToken);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['client_secret']);
      expect(body.client_secret).toMatch(MINTED);
      expect(await clientRows()).toEqual(before);
      const list = await managementRequest(t, 'GET', '/clients', { token: rootToken });
      expect(list.headers.get('x-total-count')).toBe(String(before.length));
    });

    it('mints a different secret on every call, also through the SDK', async () => {
      const secrets = [await mint(), await mint(), await t.root.mintClientSecret()];
      expect(secrets[2]).toMatch(MINTED);
      expect(new Set(secrets).size).toBe(3);
    });

    it.each<[string, { body?: string; headers?: Record<string, string> }]>([
      ['no body', {}],
      ['an empty body with Content-Type application/json', { body: '', headers: { 'content-type': JSON_TYPE } }],
      ['an empty JSON object', { body: '{}', headers: { 'content-type': JSON_TYPE } }],
    ])('accepts %s', async (_what, request) => {
      const response = await mintRequest(rootToken, request);
      const text = await response.text();
      expect(response.status, text).toBe(200);
      expect((JSON.parse(text) as { client_secret: string }).client_secret).toMatch(MINTED);
    });

    it('answers 401 without a token, or with a token that is not one', async () => {
      const error = await expectManagementError(await mintRequest(undefined), 401);
      expect(error.reason).toContain('Authorization');
      await expectManagementError(await mintRequest(undefined, { body: '', headers: { 'content-type': JSON_TYPE } }), 401);
      await expectManagementError(await mintRequest('not-a-token'), 401);
    });

    it('answers 403 to a client that no policy allows to create clients', async () => {
      const error = await expectManagementError(await mintRequest(tokens['no-policy']), 403);
      expect(error.reason).toContain('create');
      expect(error.reason).toContain('rn:hydra:clients');
    });

    it('answers 403 to a client allowed only to read clients', async () => {
      const error = await expectManagementError(await mintRequest(tokens[READER]), 403);
      expect(error.reason).toContain('create');
    });

    it('answers 403 to a token without the hydra.clients scope', async () => {
      const error = await expectManagementError(await mintRequest(tokens['minter-without-scope']), 403);
      expect(error.reason).toContain('hydra.clients');
    });

    it('answers 200 to a client whose policy allows create on rn:hydra:clients', async () => {
      const response = await mintRequest(tokens[MINTER]);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { client_secret: string }).client_secret).toMatch(MINTED);
    });
  });

  describe('a minted secret supplied by the caller', () => {
    it('is stored in the fast form on create and authenticates', async () => {
      const secret = await mint();
      const id = uniqueId('premint');
      const created = await create({ id, client_secret: secret });
      expect(created.client_secret).toBe(secret);
      expect(await secretHashOf(t, id)).toMatch(FAST);
      await expectAuthenticates({ id, secret });
      await expectRefused({ id, secret: await mint() });
    });

    it('is stored in the fast form on PUT, replacing a scrypt secret, and authenticates', async () => {
      const id = uniqueId('update');
      const chosen = 'a-chosen-secret-that-is-long-enough-123';
      await create({ id, client_secret: chosen });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret: chosen });

      const secret = await mint();
      const response = await managementRequest(t, 'PUT', `/clients/${id}`, {
        token: rootToken,
        json: { client_secret: secret, grant_types: ['client_credentials'], client_name: 'updated' },
      });
      const text = await response.text();
      expect(response.status, text).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ id, client_secret: secret, client_name: 'updated' });
      expect(await secretHashOf(t, id)).toMatch(FAST);
      await expectAuthenticates({ id, secret });
      await expectRefused({ id, secret: chosen });
    });

    it('goes back to scrypt when a PUT supplies a chosen secret', async () => {
      const id = uniqueId('downgrade');
      await create({ id });
      expect(await secretHashOf(t, id)).toMatch(FAST);
      const chosen = 'another-chosen-secret-long-enough-4567';
      const response = await managementRequest(t, 'PUT', `/clients/${id}`, {
        token: rootToken,
        json: { client_secret: chosen, grant_types: ['client_credentials'] },
      });
      expect(response.status).toBe(200);
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret: chosen });
    });
  });

  describe('a minted secret stored under scrypt (before minting existed)', () => {
    it('moves to the fast form on its first successful authentication and keeps working', async () => {
      const id = uniqueId('migrate');
      const { client_secret: secret } = await create({ id });
      await withDatabase(t, async (query) => query(`UPDATE clients SET secret_hash = '${await hashSecret(secret!)}' WHERE id = '${id}'`));
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);

      // A wrong secret changes nothing.
      await expectRefused({ id, secret: await mint() });
      expect(await secretHashOf(t, id)).toMatch(SCRYPT);

      await expectAuthenticates({ id, secret: secret! });
      const migrated = await secretHashOf(t, id);
      expect(migrated).toMatch(FAST);
      expect(FAST.exec(migrated!)![1]).toBe(keyIdOf(SYSTEM_SECRET));

      await expectAuthenticates({ id, secret: secret! });
      expect(await secretHashOf(t, id)).toBe(migrated);
      await expectRefused({ id, secret: withCharChanged(secret!, PREFIX.length + 5) });
    });

    it('leaves a secret that is not minted under scrypt, unchanged, after use', async () => {
      const id = uniqueId('stays');
      const chosen = 'a-chosen-secret-that-stays-under-scrypt';
      await create({ id, client_secret: chosen });
      const stored = await secretHashOf(t, id);
      expect(stored).toMatch(SCRYPT);
      await expectAuthenticates({ id, secret: chosen });
      await expectAuthenticates({ id, secret: chosen });
      expect(await secretHashOf(t, id)).toBe(stored);
    });
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import {
  basic,
  createClient,
  expectManagementError,
  issueToken,
  machineClient,
  managementRequest,
  rootBearer,
  ROOT_CREDENTIALS,
  uniqueId,
  type Credentials,
} from './helpers.js';

// Policies from the configuration (env POLICIES), exercising regex subjects/resources, deny-wins and the three
// condition types. Subjects are client ids, which the tests choose when they create the clients.
const POLICIES = [
  { id: 'readers', subjects: ['<reader-.*>'], effect: 'allow', resources: ['rn:hydra:clients', 'rn:hydra:clients:<.*>'], actions: ['get'] },
  { id: 'blocked-reader', subjects: ['reader-blocked'], effect: 'deny', resources: ['rn:hydra:<.*>'], actions: ['<.*>'] },
  {
    id: 'owners',
    subjects: ['<owner-.*>'],
    effect: 'allow',
    resources: ['rn:hydra:clients:<.*>'],
    actions: ['get', 'delete'],
    conditions: { owner: { type: 'EqualsSubjectCondition' } },
  },
  {
    id: 'team-a-readers',
    subjects: ['tenant-x'],
    effect: 'allow',
    resources: ['rn:hydra:clients:<.*>'],
    actions: ['get'],
    conditions: { owner: { type: 'StringEqualCondition', options: { equals: 'team-a' } } },
  },
  {
    id: 'loopback-only',
    subjects: ['cidr-local'],
    effect: 'allow',
    resources: ['rn:hydra:clients'],
    actions: ['get'],
    conditions: { remoteIP: { type: 'CIDRCondition', options: { cidr: '127.0.0.0/8' } } },
  },
  {
    id: 'private-network-only',
    subjects: ['cidr-remote'],
    effect: 'allow',
    resources: ['rn:hydra:clients'],
    actions: ['get'],
    conditions: { remoteIP: { type: 'CIDRCondition', options: { cidr: '10.0.0.0/8' } } },
  },
];

/** Every management endpoint of this issue, so the 401 cases are checked on all of them. */
/**
 * Every operation the OpenAPI document secures with a bearer token, with its path's {id} filled in: each must refuse
 * a caller without one, so an endpoint that declares no management rule cannot go unnoticed.
 */
function bearerOperations(): [string, string, unknown?][] {
  const document = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/openapi.json', import.meta.url)), 'utf8')) as {
    paths: Record<string, Record<string, { security?: Record<string, unknown>[]; requestBody?: unknown }>>;
  };
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(
        ([, operation]) =>
          typeof operation === 'object' && operation.security?.some((scheme) => 'bearer' in scheme) && !operation.security.some((scheme) => 'basic' in scheme),
      )
      .map(([method, operation]): [string, string, unknown?] => [method.toUpperCase(), path.replace('{id}', 'root'), operation.requestBody ? {} : undefined]),
  );
}

const ENDPOINTS: [string, string, unknown?][] = [
  ['POST', '/clients', {}],
  ['POST', '/clients/secrets'],
  ['GET', '/clients'],
  ['GET', '/clients/root'],
  ['PUT', '/clients/root', {}],
  ['DELETE', '/clients/root'],
  ['POST', '/oauth2/flush', {}],
  ['GET', '/oauth2/consent/requests/root'],
  ['PATCH', '/oauth2/consent/requests/root/accept', {}],
  ['PATCH', '/oauth2/consent/requests/root/reject', {}],
];

describe.each(DATABASES)('management authorization on %s', (kind) => {
  let t: TestServer;
  /** Bearer tokens by client id, each holding hydra.clients unless the client's setup says otherwise. */
  const tokens: Record<string, string> = {};

  const as = (subject: string, method: string, path: string, json?: unknown, headers?: Record<string, string>) =>
    managementRequest(t, method, path, { token: tokens[subject]!, ...(json === undefined ? {} : { json }), ...(headers ? { headers } : {}) });

  async function caller(id: string, scope: string, requested = scope): Promise<void> {
    const credentials: Credentials = await machineClient(t, scope, { id });
    tokens[id] = await issueToken(t, credentials, requested);
  }

  beforeAll(async () => {
    t = await startTestServer(kind, { POLICIES: JSON.stringify(POLICIES) });
    await Promise.all([
      caller('reader-1', 'hydra.clients'),
      caller('reader-wild', 'hydra.*'),
      caller('reader-blocked', 'hydra.clients'),
      caller('xreader-1', 'hydra.clients'),
      caller('owner-a', 'hydra.clients'),
      caller('tenant-x', 'hydra.clients'),
      caller('cidr-local', 'hydra.clients'),
      caller('cidr-remote', 'hydra.clients'),
      caller('no-scope', 'other'),
      caller('no-policy', 'hydra.clients'),
    ]);
    tokens.root = await rootBearer(t);
  });
  afterAll(async () => t?.close());

  describe('authentication (401)', () => {
    it('covers every bearer-secured operation of the OpenAPI document', () => {
      const listed = new Set(ENDPOINTS.map(([method, path]) => `${method} ${path}`));
      expect(
        bearerOperations()
          .map(([method, path]) => `${method} ${path}`)
          .filter((operation) => !listed.has(operation)),
      ).toEqual([]);
    });

    it.each(ENDPOINTS)('%s %s without a token is 401', async (method, path, json) => {
      const error = await expectManagementError(await managementRequest(t, method, path, json === undefined ? {} : { json }), 401);
      expect(error.reason).toContain('Authorization');
    });

    it.each([
      ['a bare scheme', 'Bearer'],
      ['an empty token', 'Bearer '],
      ['two tokens', 'Bearer a b'],
      ['another scheme', 'Token abc'],
      ['HTTP Basic with valid root credentials', basic(ROOT_CREDENTIALS.id, ROOT_CREDENTIALS.secret)],
    ])('refuses %s in the Authorization header with 401', async (_what, authorization) => {
      await expectManagementError(await managementRequest(t, 'GET', '/clients', { headers: { authorization } }), 401);
    });

    it('accepts the scheme name in any case', async () => {
      const response = await managementRequest(t, 'GET', '/clients', { headers: { authorization: `bEaReR ${tokens.root}` } });
      expect(response.status).toBe(200);
    });

    it.each([
      ['a random string', () => 'not-a-token'],
      ['a dotted random string', () => 'abc.def'],
      ['a token with a forged signature', () => `${tokens.root!.split('.')[0]}.${'A'.repeat(43)}`],
      ['a token with a swapped body', () => `${'B'.repeat(43)}.${tokens.root!.split('.')[1]}`],
      ['an over-long token', () => `${'x'.repeat(5000)}.y`],
    ])('refuses %s with 401', async (_what, token) => {
      const error = await expectManagementError(await managementRequest(t, 'GET', '/clients', { token: token() }), 401);
      expect(error.reason).toContain('invalid');
    });

    it('refuses the token of a deleted client with 401', async () => {
      const id = uniqueId('reader-doomed');
      await caller(id, 'hydra.clients');
      expect((await as(id, 'GET', '/clients')).status).toBe(200);
      await t.root.deleteClient(id);
      await expectManagementError(await as(id, 'GET', '/clients'), 401);
    });
  });

  describe('scope (403)', () => {
    it('refuses a token without the area scope', async () => {
      const error = await expectManagementError(await as('no-scope', 'GET', '/clients'), 403);
      expect(error.reason).toContain('hydra.clients');
    });

    it('checks the scope per area: a root token for introspection only may not manage clients', async () => {
      const introspectOnly = await rootBearer(t, 'hydra.introspect');
      const error = await expectManagementError(await managementRequest(t, 'GET', '/clients', { token: introspectOnly }), 403);
      expect(error.reason).toContain('hydra.clients');
      expect((await managementRequest(t, 'GET', '/clients', { token: await rootBearer(t, 'hydra.clients') })).status).toBe(200);
    });

    it('lets hydra.* cover hydra.clients', async () => {
      expect((await as('reader-wild', 'GET', '/clients')).status).toBe(200);
      expect((await as('root', 'GET', '/clients')).status).toBe(200);
    });
  });

  describe('policies (403)', () => {
    it('refuses a subject no policy allows (default deny)', async () => {
      const error = await expectManagementError(await as('no-policy', 'GET', '/clients'), 403);
      expect(error.reason).toContain('no-policy');
      expect(error.reason).toContain('rn:hydra:clients');
    });

    it('allows what a <regex> subject policy grants, and nothing more', async () => {
      expect((await as('reader-1', 'GET', '/clients')).status).toBe(200);
      const read = await as('reader-1', 'GET', '/clients/root');
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id: 'root' });
      await expectManagementError(await as('reader-1', 'POST', '/clients', { client_name: 'nope' }), 403);
      await expectManagementError(await as('reader-1', 'PUT', '/clients/root', { client_name: 'nope' }), 403);
      await expectManagementError(await as('reader-1', 'DELETE', '/clients/root'), 403);
      expect((await t.root.getClient('root')).client_name).toBe('Gatehouse root client');
    });

    it('anchors regex parts: <reader-.*> does not match xreader-1', async () => {
      await expectManagementError(await as('xreader-1', 'GET', '/clients'), 403);
    });

    it('lets a matching deny win over a matching allow', async () => {
      const error = await expectManagementError(await as('reader-blocked', 'GET', '/clients'), 403);
      expect(error.reason).toContain('blocked-reader');
      await expectManagementError(await as('reader-blocked', 'GET', '/clients/root'), 403);
    });

    it('EqualsSubjectCondition on owner: the owner may read and delete its own client, not another', async () => {
      const own = await createClient(t, { owner: 'owner-a' });
      const other = await createClient(t, { owner: 'owner-b' });
      const unowned = await createClient(t, {});
      expect((await as('owner-a', 'GET', `/clients/${own.id}`)).status).toBe(200);
      await expectManagementError(await as('owner-a', 'GET', `/clients/${other.id}`), 403);
      await expectManagementError(await as('owner-a', 'GET', `/clients/${unowned.id}`), 403);
      await expectManagementError(await as('owner-a', 'DELETE', `/clients/${other.id}`), 403);
      expect((await t.root.getClient(other.id)).id).toBe(other.id);
      // A policy on one client does not open the list or the update of it.
      await expectManagementError(await as('owner-a', 'GET', '/clients'), 403);
      await expectManagementError(await as('owner-a', 'PUT', `/clients/${own.id}`, { owner: 'owner-a' }), 403);
      expect((await as('owner-a', 'DELETE', `/clients/${own.id}`)).status).toBe(204);
      expect(await t.root.findClient(own.id)).toBeUndefined();
    });

    it('does not reveal to a conditional caller whether a client exists', async () => {
      await expectManagementError(await as('owner-a', 'GET', `/clients/${uniqueId('missing')}`), 403);
      await expectManagementError(await as('owner-a', 'DELETE', `/clients/${uniqueId('missing')}`), 403);
      // Root, allowed everything, learns that it does not exist.
      await expectManagementError(await as('root', 'GET', `/clients/${uniqueId('missing')}`), 404);
    });

    it('StringEqualCondition on owner: only clients whose owner equals the configured value', async () => {
      const teamA = await createClient(t, { owner: 'team-a' });
      const teamB = await createClient(t, { owner: 'team-b' });
      expect((await as('tenant-x', 'GET', `/clients/${teamA.id}`)).status).toBe(200);
      await expectManagementError(await as('tenant-x', 'GET', `/clients/${teamB.id}`), 403);
      await expectManagementError(await as('tenant-x', 'DELETE', `/clients/${teamA.id}`), 403);
    });

    it('CIDRCondition on remoteIP: 127.0.0.0/8 allows a loopback caller, 10.0.0.0/8 does not', async () => {
      expect((await as('cidr-local', 'GET', '/clients')).status).toBe(200);
      await expectManagementError(await as('cidr-remote', 'GET', '/clients'), 403);
    });

    it('takes remoteIP from the connection, not from a forwarded-for header', async () => {
      const spoof = { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' };
      await expectManagementError(await as('cidr-remote', 'GET', '/clients', undefined, spoof), 403);
      expect((await as('cidr-local', 'GET', '/clients', undefined, spoof)).status).toBe(200);
    });

    it('lets the root client do everything through the bootstrap admin policy', async () => {
      const id = uniqueId('root-made');
      expect((await as('root', 'POST', '/clients', { id })).status).toBe(201);
      expect((await as('root', 'PUT', `/clients/${id}`, { client_name: 'x' })).status).toBe(200);
      expect((await as('root', 'GET', `/clients/${id}`)).status).toBe(200);
      expect((await as('root', 'DELETE', `/clients/${id}`)).status).toBe(204);
    });
  });
});

describe.each(DATABASES)('RESOURCE_NAME_PREFIX on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, {
      RESOURCE_NAME_PREFIX: 'rn:acme',
      POLICIES: JSON.stringify([
        { id: 'acme-readers', subjects: ['acme-reader'], effect: 'allow', resources: ['rn:acme:clients'], actions: ['get'] },
        { id: 'hydra-readers', subjects: ['hydra-reader'], effect: 'allow', resources: ['rn:hydra:clients'], actions: ['get'] },
      ]),
    });
  });
  afterAll(async () => t?.close());

  it('names resources with the configured prefix, for configured and bootstrap policies alike', async () => {
    const [acme, hydra] = await Promise.all([
      machineClient(t, 'hydra.clients', { id: 'acme-reader' }),
      machineClient(t, 'hydra.clients', { id: 'hydra-reader' }),
    ]);
    expect((await managementRequest(t, 'GET', '/clients', { token: await issueToken(t, acme, 'hydra.clients') })).status).toBe(200);
    const error = await expectManagementError(await managementRequest(t, 'GET', '/clients', { token: await issueToken(t, hydra, 'hydra.clients') }), 403);
    expect(error.reason).toContain('rn:acme:clients');
    expect((await managementRequest(t, 'POST', '/clients', { token: await rootBearer(t), json: {} })).status).toBe(201);
  });
});

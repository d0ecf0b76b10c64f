import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, ROOT, freshDatabaseUrl, startTestServer, type TestServer } from '../support/server.js';
import { allRows, expectManagementError, issueToken, machineClient, managementRequest, rootBearer, tokenRequest, uniqueId } from './helpers.js';

// A second administrator through the configuration, and one whose policy holds only under a condition.
const SECOND_ADMIN = {
  id: 'second-admin',
  subjects: ['admin-2'],
  effect: 'allow',
  resources: ['rn:hydra:clients', 'rn:hydra:clients:<.*>'],
  actions: ['create', 'get', 'update', 'delete'],
};
const LOOPBACK_ADMIN = {
  id: 'loopback-admin',
  subjects: ['loopback-admin'],
  effect: 'allow',
  resources: ['rn:hydra:clients', 'rn:hydra:clients:<.*>'],
  actions: ['create', 'get', 'update', 'delete'],
  conditions: { remoteIP: { type: 'CIDRCondition', options: { cidr: '127.0.0.0/8' } } },
};

/** The root client as bootstrap creates it, for PUTs that keep it a manager. */
const ROOT_FIELDS = {
  client_name: 'Gatehouse root client',
  grant_types: ['client_credentials', 'authorization_code', 'implicit', 'refresh_token'],
  response_types: ['code', 'token', 'id_token', 'code id_token'],
  scope: 'hydra.* openid offline offline_access',
};

describe.each(DATABASES)('the last client that can manage clients on %s', (kind) => {
  let t: TestServer;
  let root: string;
  const asRoot = (method: string, path: string, json?: unknown) => managementRequest(t, method, path, { token: root, ...(json === undefined ? {} : { json }) });

  beforeAll(async () => {
    t = await startTestServer(kind, { POLICIES: JSON.stringify([SECOND_ADMIN, LOOPBACK_ADMIN]) });
    root = await rootBearer(t);
  });
  afterAll(async () => t?.close());

  it('refuses to delete the root client while no other client can manage clients, with a 409 saying why', async () => {
    const error = await expectManagementError(await asRoot('DELETE', `/clients/${ROOT.id}`), 409);
    expect(error.reason).toContain(`"${ROOT.id}"`);
    expect(error.reason).toContain('manage clients');
    expect((await t.root.getClient(ROOT.id)).id).toBe(ROOT.id);
    await rootBearer(t);
  });

  it.each<[string, Record<string, unknown>]>([
    ['takes hydra.clients from its scope', { ...ROOT_FIELDS, scope: 'openid offline' }],
    ['takes the client_credentials grant away', { ...ROOT_FIELDS, grant_types: ['authorization_code'] }],
    ['makes it public', { ...ROOT_FIELDS, public: true, grant_types: ['authorization_code'] }],
  ])('refuses an update of the last manager that %s, and changes nothing', async (_what, json) => {
    await expectManagementError(await asRoot('PUT', `/clients/${ROOT.id}`, json), 409);
    expect(await t.root.getClient(ROOT.id)).toMatchObject(ROOT_FIELDS);
    await issueToken(t, ROOT, 'hydra.clients');
  });

  it('allows an update of the last manager that keeps it a manager', async () => {
    const response = await asRoot('PUT', `/clients/${ROOT.id}`, { ...ROOT_FIELDS, client_name: 'renamed root' });
    expect(response.status).toBe(200);
    expect((await asRoot('PUT', `/clients/${ROOT.id}`, ROOT_FIELDS)).status).toBe(200);
  });

  it('does not count a client whose policy holds only under a condition', async () => {
    const loopback = await machineClient(t, 'hydra.clients', { id: 'loopback-admin' });
    const token = await issueToken(t, loopback, 'hydra.clients');
    // It can manage clients from here, but the condition is about the request, not the client.
    expect((await managementRequest(t, 'GET', '/clients', { token })).status).toBe(200);
    await expectManagementError(await asRoot('DELETE', `/clients/${ROOT.id}`), 409);
    await expectManagementError(await managementRequest(t, 'DELETE', `/clients/${ROOT.id}`, { token }), 409);
  });

  it('does not count a client without the scope or grant to get a management token', async () => {
    await machineClient(t, 'openid', { id: 'admin-2' });
    await expectManagementError(await asRoot('DELETE', `/clients/${ROOT.id}`), 409);
    expect((await asRoot('PUT', '/clients/admin-2', { grant_types: ['authorization_code'], scope: 'hydra.clients' })).status).toBe(200);
    await expectManagementError(await asRoot('DELETE', `/clients/${ROOT.id}`), 409);
    expect((await asRoot('DELETE', '/clients/admin-2')).status).toBe(204);
  });

  it('lets the root client go once another client can manage clients, and then keeps that one', async () => {
    const admin = await machineClient(t, 'hydra.clients', { id: 'admin-2' });
    const token = await issueToken(t, admin, 'hydra.clients');
    const as = (method: string, path: string, json?: unknown) => managementRequest(t, method, path, { token, ...(json === undefined ? {} : { json }) });

    expect((await asRoot('DELETE', `/clients/${ROOT.id}`)).status).toBe(204);
    const error = await expectManagementError(await as('DELETE', '/clients/admin-2'), 409);
    expect(error.reason).toContain('"admin-2"');
    await expectManagementError(await as('PUT', '/clients/admin-2', { grant_types: ['client_credentials'], scope: 'openid' }), 409);
    expect((await as('GET', '/clients/admin-2')).status).toBe(200);

    // Re-created under its id, the root client is allowed everything again by the default admin policy, so the
    // second administrator may now go.
    expect((await as('POST', '/clients', { id: ROOT.id, client_secret: ROOT.secret, ...ROOT_FIELDS })).status).toBe(201);
    root = await rootBearer(t);
    expect((await asRoot('DELETE', '/clients/admin-2')).status).toBe(204);
    await expectManagementError(await asRoot('DELETE', `/clients/${ROOT.id}`), 409);
  });

  it('lets only one of two managers that delete each other at the same moment succeed', async () => {
    const admin = await machineClient(t, 'hydra.clients', { id: 'admin-2' });
    const token = await issueToken(t, admin, 'hydra.clients');
    const [byRoot, byAdmin] = await Promise.all([asRoot('DELETE', '/clients/admin-2'), managementRequest(t, 'DELETE', `/clients/${ROOT.id}`, { token })]);
    // The loser is refused as the last manager, or, when the winner's deletion came first, for a token that went
    // with its client.
    expect([byRoot.status, byAdmin.status].filter((status) => status === 204)).toHaveLength(1);
    expect([byRoot.status, byAdmin.status].filter((status) => status === 409 || status === 401)).toHaveLength(1);
    if (byAdmin.status === 204) {
      const json = { id: ROOT.id, client_secret: ROOT.secret, ...ROOT_FIELDS };
      expect((await managementRequest(t, 'POST', '/clients', { token, json })).status).toBe(201);
      root = await rootBearer(t);
      expect((await asRoot('DELETE', '/clients/admin-2')).status).toBe(204);
    }
  });
});

describe.each(DATABASES)('FORCE_ROOT_CLIENT_CREDENTIALS brings back a missing root client on %s', (kind) => {
  let databaseUrl: string;
  let cleanup: () => void = () => {};
  const started: TestServer[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const t = await startTestServer(kind, env, databaseUrl);
    started.push(t);
    return t;
  };
  const stop = async (t: TestServer) => {
    started.splice(started.indexOf(t), 1);
    await t.close();
  };

  beforeAll(async () => {
    ({ url: databaseUrl, cleanup } = await freshDatabaseUrl(kind));
  });
  afterAll(async () => {
    await Promise.all(started.map((t) => t.close()));
    cleanup();
  });

  /** Deletes the root client through a second administrator that only the configuration allows; returns its id. */
  async function loseRoot(): Promise<string> {
    const t = await start({ POLICIES: JSON.stringify([{ ...SECOND_ADMIN, subjects: ['<admin-.*>'] }]) });
    const admin = await machineClient(t, 'hydra.clients', { id: uniqueId('admin') });
    const token = await issueToken(t, admin, 'hydra.clients');
    expect((await managementRequest(t, 'DELETE', `/clients/${ROOT.id}`, { token })).status).toBe(204);
    await stop(t);
    return admin.id;
  }

  it('re-creates the root client with the forced secret on the next start, even on a database with clients', async () => {
    const admin = await loseRoot();
    // Without the configured policy nobody may manage clients any more; the forced credentials are the way back.
    const t = await start();
    const token = await rootBearer(t);
    const listed = await managementRequest(t, 'GET', '/clients', { token });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { id: string }[]).map((client) => client.id).sort()).toEqual([admin, ROOT.id]);
    expect((await managementRequest(t, 'POST', '/clients', { token, json: {} })).status).toBe(201);
    await stop(t);
  });

  it('leaves an existing root client alone: its current secret stays', async () => {
    const rotated = { id: ROOT.id, secret: 'a-rotated-root-secret-of-forty-characters' };
    const rotate = async (t: TestServer, from: typeof ROOT, to: typeof ROOT) => {
      const json = { ...ROOT_FIELDS, client_secret: to.secret };
      expect((await managementRequest(t, 'PUT', `/clients/${ROOT.id}`, { token: await issueToken(t, from, 'hydra.clients'), json })).status).toBe(200);
    };
    const t = await start();
    await rotate(t, ROOT, rotated);
    await stop(t);
    const again = await start();
    expect((await tokenRequest(again, { credentials: ROOT })).status).toBe(401);
    await rotate(again, rotated, ROOT);
    await stop(again);
  });

  it('lets two replicas start at once and re-create it together', async () => {
    await loseRoot();
    const [a, b] = await Promise.all([start(), start()]);
    for (const t of [a, b]) expect((await managementRequest(t, 'GET', `/clients/${ROOT.id}`, { token: await rootBearer(t) })).status).toBe(200);
    await Promise.all([stop(a), stop(b)]);
  });

  it('gives a root client of another id its own admin policy, leaving the existing one as it was', async () => {
    const rescue = { id: 'rescue', secret: 'the-rescue-root-secret-of-40-characters' };
    await stop(await start());
    const t = await start({ FORCE_ROOT_CLIENT_CREDENTIALS: `${rescue.id}:${rescue.secret}` });
    const token = await issueToken(t, rescue, 'hydra.*');
    expect((await managementRequest(t, 'GET', '/clients', { token })).status).toBe(200);
    expect((await managementRequest(t, 'POST', '/clients', { token, json: {} })).status).toBe(201);
    const policies = (await allRows(t, 'policies')).map((row) => JSON.parse(row.document as string) as { id: string; subjects: string[] });
    expect(policies.find((policy) => policy.id === 'default-admin-policy')?.subjects).toEqual([ROOT.id]);
    expect(policies.filter((policy) => policy.subjects.includes(rescue.id))).toHaveLength(1);
    await stop(t);
  });
});

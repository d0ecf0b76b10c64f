/**
 * The OAuth2Client reconciler's decisions, against in-memory fakes of its ports (no cluster, no server).
 * Each test drives the fakes the way the world would (kubectl apply, a wiped database, a deleted Secret, …), runs
 * one reconcile and asserts what it wrote where: resources, Secrets, the authorization server, Events.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Condition } from '../../src/operator/api/common.js';
import { ServerSelectionError } from '../../src/operator/controller/ports.js';
import { FINALIZER, RetryableError, WAIT_FOR_SECRET_MS } from '../../src/operator/controller/reconciler.js';
import { CREDENTIAL_KEYS, ORPHANED_FROM } from '../../src/operator/api/common.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../src/operator/controller/secret.js';
import { LIFESPAN_FIELDS } from '../../src/contract/client-settings.js';
import { GatehouseApiError, GatehouseUnavailableError } from '../../src/sdk/errors.js';
import {
  ENDPOINTS,
  MINTED_SECRET,
  b64,
  keyOf,
  oauth2Client,
  unb64,
  userSecret,
  world,
  type ResourceOptions,
  type SpecInput,
  type World,
} from './support/operator-fakes.js';

const KEY = 'team-a/shop';
const NS = 'team-a';
const SECRET = 'shop-credentials';
const OWNER = 'gatehouse.dev/team-a/shop';
/** A user-provided secret long enough for the server (32+ characters). */
const USER_SECRET = 'user-provided-secret-0123456789abcdef';

// The condition's lastTransitionTime comes from the clock: pin it so tests can tell "kept" from "renewed".
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2025-01-01T10:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A world holding one applied resource. */
function applied(spec: SpecInput = {}, options: ResourceOptions = {}): World {
  const w = world();
  w.resources.apply(oauth2Client(spec, options));
  return w;
}

/** A world where the resource has been reconciled once (successfully); records are cleared afterwards. */
async function reconciled(spec: SpecInput = {}, options: ResourceOptions = {}): Promise<World> {
  const w = applied(spec, options);
  await w.reconciler.reconcile(KEY);
  expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
  w.clearRecords();
  return w;
}

function ready(w: World, key = KEY): Condition | undefined {
  return w.resources.current(key)?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** The managed Secret's data as text. */
function secretData(w: World, name = SECRET): Record<string, string | undefined> {
  const secret = w.secrets.current(NS, name);
  return Object.fromEntries(Object.entries(secret?.data ?? {}).map(([key, value]) => [key, unb64(value)]));
}

function statusOf(w: World, key = KEY) {
  return w.resources.current(key)?.status;
}

/** Reconciles once more and asserts that nothing at all was written: the steady state. */
async function expectQuiet(w: World, key = KEY): Promise<void> {
  w.clearRecords();
  await expect(w.reconciler.reconcile(key)).resolves.toEqual({});
  expect(w.journal).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------------

describe('first reconcile of a new resource', () => {
  it('adds the finalizer, creates the Secret and the client, reports Ready — in that order', async () => {
    const w = applied();
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    // The finalizer comes first, so no server client can exist without a finalizer to clean it up.
    expect(w.journal).toEqual([
      `resource.setFinalizers ${KEY}`,
      `secret.create ${NS}/${SECRET}`,
      'server.createClient generated-id-1',
      'event.Normal Created',
      `resource.patchStatus ${KEY}`,
    ]);
    expect(w.resources.current(KEY)?.metadata.finalizers).toEqual([FINALIZER]);
  });

  it('creates the Secret owned by the resource (controller), labelled managed, with the credentials in base64', async () => {
    const w = applied({}, { uid: 'uid-shop-1' });
    await w.reconciler.reconcile(KEY);
    const secret = w.secrets.current(NS, SECRET)!;
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', name: 'shop', uid: 'uid-shop-1', controller: true, blockOwnerDeletion: true },
    ]);
    expect(secret.metadata?.labels).toEqual({ [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['CLIENT_ID', 'CLIENT_SECRET']);
    expect(secret.data?.CLIENT_ID).toBe(b64('generated-id-1'));
    // 32 random bytes, base64url: 43 characters of the URL-safe alphabet.
    expect(secretData(w).CLIENT_SECRET).toMatch(MINTED_SECRET);
  });

  it('creates the client on the server with the Secret’s id and secret, owned by gatehouse.dev/<ns>/<name>', async () => {
    const w = applied({ scope: 'orders:read', clientName: 'Shop' });
    await w.reconciler.reconcile(KEY);
    const [create] = w.server.writes;
    expect(w.server.writes).toHaveLength(1);
    expect(create?.body).toEqual({
      id: 'generated-id-1',
      client_secret: secretData(w).CLIENT_SECRET,
      client_name: 'Shop',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: ['code'],
      scope: 'orders:read',
      owner: OWNER,
      policy_uri: '',
      tos_uri: '',
      client_uri: '',
      logo_uri: '',
      contacts: [],
      public: false,
      audience: [],
      allowed_cors_origins: [],
      post_logout_redirect_uris: [],
      skip_consent: false,
      ...Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, null])),
    });
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(secretData(w).CLIENT_SECRET);
  });

  it('carries hydra-maester’s fields the server has: audience, CORS origins, post-logout URIs, skip consent, lifespans, scopeArray', async () => {
    const w = applied({
      scope: 'read',
      scopeArray: ['write', 'read'],
      audience: ['https://api.example'],
      allowedCorsOrigins: ['https://app.example'],
      postLogoutRedirectUris: ['https://app.example/bye'],
      skipConsent: true,
      tokenLifespans: { client_credentials_grant_access_token_lifespan: '5m' },
    });
    await w.reconciler.reconcile(KEY);
    expect(w.server.writes[0]?.body).toMatchObject({
      scope: 'read write',
      audience: ['https://api.example'],
      allowed_cors_origins: ['https://app.example'],
      post_logout_redirect_uris: ['https://app.example/bye'],
      skip_consent: true,
      client_credentials_grant_access_token_lifespan: '5m',
      refresh_token_grant_access_token_lifespan: null,
    });
    expect(statusOf(w)?.conditions?.find((condition) => condition.type === 'Warnings')).toBeUndefined();
  });

  it('reports Ready=True Reconciled with clientId, secretName, secretRevision and observedGeneration', async () => {
    const w = applied({}, { generation: 4 });
    await w.reconciler.reconcile(KEY);
    const secret = w.secrets.current(NS, SECRET)!;
    expect(statusOf(w)).toEqual({
      clientId: 'generated-id-1',
      secretName: SECRET,
      secretRevision: `${secret.metadata?.uid}/${secret.metadata?.resourceVersion}`,
      observedGeneration: 4,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 4,
          lastTransitionTime: '2025-01-01T10:00:00Z',
          reason: 'Reconciled',
          message: expect.stringContaining('generated-id-1'),
        },
      ],
    });
    expect(w.resources.writes.filter((write) => write.op === 'patchStatus')).toHaveLength(1);
  });

  it('records one Normal event, Created, for the Secret and the client together, and no warning', async () => {
    const w = applied();
    await w.reconciler.reconcile(KEY);
    expect(w.events.recorded).toEqual([
      { object: KEY, type: 'Normal', reason: 'Created', message: `created client generated-id-1 on the server and Secret ${SECRET} with its credentials` },
    ]);
  });

  it('asks the server to mint the secret, and generates one itself when the server has no minting call (404, 405)', async () => {
    const minted = applied();
    await minted.reconciler.reconcile(KEY);
    expect(minted.server.reads).toContain('(mint secret)');
    expect(secretData(minted).CLIENT_SECRET).toMatch(MINTED_SECRET);
    for (const status of [404, 405]) {
      const w = applied();
      w.server.failures.mintClientSecret = new GatehouseApiError(status, { error: { reason: 'no such route' } }, undefined);
      await w.reconciler.reconcile(KEY);
      expect(ready(w)?.status).toBe('True');
      const secret = secretData(w).CLIENT_SECRET!;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(w.server.stored('generated-id-1')?.client_secret).toBe(secret);
    }
  });

  it('retries when minting fails otherwise, before anything is written to the Secret', async () => {
    const w = applied();
    w.server.failures.mintClientSecret = new GatehouseUnavailableError('connection refused');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    expect(ready(w)?.reason).toBe('ServerUnavailable');
  });

  it('records SecretCreated when a later step fails after the Secret was created (retiring the old client)', async () => {
    const w = applied({ clientId: 'new-id' }, { status: { clientId: 'old-id' } });
    w.server.seed({ id: 'old-id', owner: OWNER, grant_types: ['client_credentials'] });
    w.server.failures.deleteClient = new GatehouseUnavailableError('connection reset');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(w.events.reasons()).toEqual(['Normal/SecretCreated', 'Warning/ServerUnavailable']);
  });

  it('records SecretCreated on its own when the client cannot be created yet, and Created alone once it is', async () => {
    const w = applied();
    w.server.failures.createClient = new GatehouseUnavailableError('connection refused');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(w.events.reasons()).toEqual(['Normal/SecretCreated', 'Warning/ServerUnavailable']);
    delete w.server.failures.createClient;
    w.clearRecords();
    await w.reconciler.reconcile(KEY);
    expect(w.events.recorded).toEqual([{ object: KEY, type: 'Normal', reason: 'Created', message: 'created client generated-id-1 on the server' }]);
  });

  it('uses a fixed spec.clientId instead of generating one', async () => {
    const w = applied({ clientId: 'shop-backend' });
    await w.reconciler.reconcile(KEY);
    expect(secretData(w).CLIENT_ID).toBe('shop-backend');
    expect(w.server.stored('shop-backend')).toBeDefined();
    expect(statusOf(w)?.clientId).toBe('shop-backend');
  });

  it('writes the Secret as the template says: key names, labels, annotations, extra keys with the server endpoints', async () => {
    const w = applied({
      clientName: 'Shop',
      scope: 'orders:read',
      secretTemplate: {
        clientIdKey: 'client-id',
        clientSecretKey: 'client-secret',
        labels: { team: 'a' },
        annotations: { 'reloader.stakater.com/match': 'true' },
        extraKeys: { ISSUER: 'issuerUrl', TOKEN_URL: 'tokenEndpoint', NAME: 'clientName', SCOPE: 'scope' },
      },
    });
    await w.reconciler.reconcile(KEY);
    const secret = w.secrets.current(NS, SECRET)!;
    expect(secret.metadata?.labels).toEqual({ team: 'a', [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(secret.metadata?.annotations).toEqual({ 'reloader.stakater.com/match': 'true', [CREDENTIAL_KEYS]: 'client-id,client-secret' });
    const data = secretData(w);
    expect(data).toEqual({
      'client-id': 'generated-id-1',
      'client-secret': expect.stringMatching(MINTED_SECRET),
      ISSUER: ENDPOINTS.issuerUrl,
      TOKEN_URL: ENDPOINTS.tokenEndpoint,
      NAME: 'Shop',
      SCOPE: 'orders:read',
    });
    // The server got the secret that is under the renamed key.
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(data['client-secret']);
  });

  it('does nothing for a resource that is gone from the cache', async () => {
    const w = world();
    await expect(w.reconciler.reconcile('team-a/missing')).resolves.toEqual({});
    expect(w.journal).toEqual([]);
    expect(w.servers.calls).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('steady state: nothing changed means nothing is written', () => {
  // The most important property: with 1,000 resources and a resync every few minutes, any write here multiplies.
  it('a second reconcile writes nothing: no status, Secret, server, finalizer or event', async () => {
    const w = await reconciled();
    await expectQuiet(w);
    // It did look: the server was asked, so drift would have been seen.
    expect(w.server.reads).toEqual(['generated-id-1']);
  });

  it('stays quiet over many reconciles, with the clock moving on', async () => {
    const w = await reconciled();
    for (let i = 0; i < 5; i++) {
      vi.setSystemTime(new Date(Date.UTC(2025, 0, 2 + i)));
      await expectQuiet(w);
    }
  });

  it.each<[string, SpecInput]>([
    ['a public client', { tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: ['https://shop.example/cb'] }],
    [
      'a full template',
      {
        secretTemplate: {
          clientIdKey: 'id',
          clientSecretKey: 'secret',
          labels: { a: 'b' },
          annotations: { c: 'd' },
          extraKeys: { ISSUER: 'issuerUrl', SCOPE: 'scope', NAME: 'clientName' },
        },
      },
    ],
    [
      'every field set',
      {
        clientId: 'fixed',
        clientName: 'N',
        grantTypes: ['authorization_code', 'refresh_token'],
        responseTypes: ['code', 'code id_token'],
        redirectUris: ['https://b.example/cb', 'https://a.example/cb'],
        policyUri: 'https://a.example/p',
        tosUri: 'https://a.example/t',
        clientUri: 'https://a.example',
        logoUri: 'https://a.example/l.png',
        contacts: ['x@a.example'],
        metadata: { any: 1 },
      },
    ],
    // The server dedupes these lists; the CRD allows duplicates. Comparing by length made this write forever.
    [
      'duplicate list entries the server drops',
      {
        grantTypes: ['authorization_code', 'authorization_code'],
        redirectUris: ['https://a.example/cb', 'https://a.example/cb'],
        responseTypes: ['code', 'code'],
      },
    ],
    ['deletionPolicy orphan', { deletionPolicy: 'orphan' }],
  ])('also for %s', async (_name, spec) => {
    const w = await reconciled(spec);
    await expectQuiet(w);
  });

  it('keeps extra labels and annotations others put on the Secret without a write (only its resourceVersion changes → one push)', async () => {
    const w = await reconciled();
    w.secrets.userEdit(NS, SECRET, (s) => {
      s.metadata!.labels = { ...s.metadata!.labels, 'argocd.argoproj.io/instance': 'shop' };
      s.metadata!.annotations = { ...s.metadata!.annotations, note: 'hello' };
    });
    await w.reconciler.reconcile(KEY);
    // The Secret is not rewritten (its metadata from others is fine) …
    expect(w.secrets.writes).toEqual([]);
    expect(w.secrets.current(NS, SECRET)?.metadata?.labels?.['argocd.argoproj.io/instance']).toBe('shop');
    // … but its new resourceVersion stands for "maybe another secret": it is pushed once (the same value) and
    // recorded, and from then on all is quiet.
    expect(w.server.writes).toEqual([
      expect.objectContaining({ op: 'updateClient', body: expect.objectContaining({ client_secret: secretData(w).CLIENT_SECRET }) }),
    ]);
    expect(w.resources.writes.map((write) => write.op)).toEqual(['patchStatus']);
    await expectQuiet(w);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('spec changes', () => {
  it('sends one updateClient without client_secret, names the drifted fields, and follows the generation', async () => {
    const w = await reconciled({ grantTypes: ['authorization_code'], redirectUris: ['https://shop.example/cb'] });
    const before = ready(w)!;
    vi.setSystemTime(new Date('2025-01-01T11:00:00Z'));
    w.resources.editSpec(KEY, (spec) => {
      spec.scope = 'orders:read';
      spec.redirectUris = ['https://shop.example/callback'];
    });

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    expect(w.server.writes).toHaveLength(1);
    const [update] = w.server.writes;
    expect(update).toMatchObject({
      op: 'updateClient',
      target: 'generated-id-1',
      body: { scope: 'orders:read', redirect_uris: ['https://shop.example/callback'], owner: OWNER },
    });
    // The secret did not change, so it is not sent (the server keeps the one it has).
    expect(update?.body).not.toHaveProperty('client_secret');
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(secretData(w).CLIENT_SECRET);
    expect(w.events.recorded).toEqual([
      { object: KEY, type: 'Normal', reason: 'Updated', message: 'updated client generated-id-1 on the server: corrected redirect_uris, scope' },
    ]);
    expect(w.secrets.writes).toEqual([]);
    // Status: observedGeneration follows; the condition keeps its transition time (still True).
    expect(statusOf(w)?.observedGeneration).toBe(2);
    expect(ready(w)).toEqual({ ...before, observedGeneration: 2 });
    expect(w.resources.writes.map((write) => write.op)).toEqual(['patchStatus']);
    await expectQuiet(w);
  });

  it('a change that also shows in the Secret (extra key scope) updates both, keeping the credentials', async () => {
    const w = await reconciled({ secretTemplate: { extraKeys: { SCOPE: 'scope' } } });
    const credentials = secretData(w);
    w.resources.editSpec(KEY, (spec) => (spec.scope = 'orders:read'));
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ ...credentials, SCOPE: 'orders:read' });
    expect(w.events.reasons()).toEqual(['Normal/SecretUpdated', 'Normal/Updated']);
    expect(w.server.stored('generated-id-1')).toMatchObject({ scope: 'orders:read', client_secret: credentials.CLIENT_SECRET });
    await expectQuiet(w);
  });

  it('renamed keys on a Secret written before the names were recorded: the credentials are found under the defaults', async () => {
    const w = await reconciled();
    const { CLIENT_ID: clientId, CLIENT_SECRET: clientSecret } = secretData(w);
    const old = w.secrets.current(NS, SECRET)!;
    w.secrets.put({ ...old, metadata: { ...old.metadata, annotations: {} } });
    w.resources.editSpec(KEY, (spec) => (spec.secretTemplate = { clientIdKey: 'username', clientSecretKey: 'password' }));
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ username: clientId, password: clientSecret });
    expect(w.server.stored(clientId!)?.client_secret).toBe(clientSecret);
  });

  it('renamed Secret keys: the same credentials move to the new names, nothing is minted and the server keeps its secret', async () => {
    const w = await reconciled();
    const { CLIENT_ID: clientId, CLIENT_SECRET: clientSecret } = secretData(w);
    const mints = () => w.server.reads.filter((read) => read === '(mint secret)').length;
    const mintsBefore = mints();
    w.resources.editSpec(KEY, (spec) => (spec.secretTemplate = { clientIdKey: 'username', clientSecretKey: 'password' }));
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ username: clientId, password: clientSecret });
    expect(w.secrets.current(NS, SECRET)?.metadata?.annotations?.[CREDENTIAL_KEYS]).toBe('username,password');
    expect(mints()).toBe(mintsBefore);
    expect(w.server.stored(clientId!)?.client_secret).toBe(clientSecret);
    expect(statusOf(w)?.clientId).toBe(clientId);
    await expectQuiet(w);
  });

  it('confidential → public: the secret leaves the Secret and the server client becomes public', async () => {
    const w = await reconciled({ grantTypes: ['authorization_code'], redirectUris: ['https://shop.example/cb'] });
    w.resources.editSpec(KEY, (spec) => (spec.tokenEndpointAuthMethod = 'none'));
    await w.reconciler.reconcile(KEY);
    expect(Object.keys(secretData(w))).toEqual(['CLIENT_ID']);
    const update = w.server.writes.at(-1);
    expect(update?.body).toMatchObject({ public: true });
    expect(update?.body).not.toHaveProperty('client_secret');
    expect(w.server.stored('generated-id-1')).toMatchObject({ public: true });
    expect(w.server.stored('generated-id-1')?.client_secret).toBeUndefined();
    expect(ready(w)?.status).toBe('True');
    await expectQuiet(w);
  });

  it('public → confidential: a secret is generated, put in the Secret and set on the server', async () => {
    const w = await reconciled({ tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: ['https://shop.example/cb'] });
    w.resources.editSpec(KEY, (spec) => (spec.tokenEndpointAuthMethod = 'client_secret_basic'));
    await w.reconciler.reconcile(KEY);
    const secret = secretData(w).CLIENT_SECRET;
    expect(secret).toMatch(MINTED_SECRET);
    expect(w.server.writes.at(-1)?.body).toMatchObject({ public: false, client_secret: secret });
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(secret);
    await expectQuiet(w);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('drift and loss on the server, and changes to the Secret', () => {
  it('reverts a change made directly on the server (scope, name), without touching the secret or the status', async () => {
    const w = await reconciled();
    const secret = w.server.stored('generated-id-1')?.client_secret;
    w.server.tamper('generated-id-1', { scope: 'admin', client_name: 'pwned' });

    await w.reconciler.reconcile(KEY);

    expect(w.server.writes).toHaveLength(1);
    expect(w.server.writes[0]?.body).not.toHaveProperty('client_secret');
    expect(w.server.stored('generated-id-1')).toMatchObject({ scope: 'orders:read orders:write', client_name: 'Shop backend', client_secret: secret });
    expect(w.events.recorded).toEqual([
      { object: KEY, type: 'Normal', reason: 'Updated', message: 'updated client generated-id-1 on the server: corrected client_name, scope' },
    ]);
    expect(w.resources.writes).toEqual([]);
    expect(w.secrets.writes).toEqual([]);
    await expectQuiet(w);
  });

  it('does not treat a reordered list on the server as drift', async () => {
    const w = await reconciled({ grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['https://a.example/cb', 'https://b.example/cb'] });
    w.server.tamper('generated-id-1', {
      grant_types: ['refresh_token', 'authorization_code'],
      redirect_uris: ['https://b.example/cb', 'https://a.example/cb'],
    });
    await expectQuiet(w);
  });

  it('re-creates a client the server lost with the SAME id and the secret from the Secret', async () => {
    const w = await reconciled();
    const { CLIENT_ID, CLIENT_SECRET } = secretData(w);
    w.server.wipe();

    await w.reconciler.reconcile(KEY);

    expect(w.server.writes).toEqual([
      expect.objectContaining({
        op: 'createClient',
        target: CLIENT_ID,
        body: expect.objectContaining({ id: CLIENT_ID, client_secret: CLIENT_SECRET, owner: OWNER }),
      }),
    ]);
    expect(w.server.stored(CLIENT_ID!)?.client_secret).toBe(CLIENT_SECRET);
    // The Secret and the status are already right.
    expect(w.secrets.writes).toEqual([]);
    expect(w.resources.writes).toEqual([]);
    // Said as what it is: the client came back, it is not a new one.
    expect(w.events.recorded.map(({ reason, message }) => ({ reason, message }))).toEqual([
      { reason: 'Restored', message: `re-created client ${CLIENT_ID} on the server, where it had been deleted; the credentials are unchanged` },
    ]);
    await expectQuiet(w);
  });

  it('re-creates a deleted Secret with a NEW secret and sets it on the server for the same client id', async () => {
    const w = await reconciled();
    const old = secretData(w);
    w.secrets.userDelete(NS, SECRET);

    await w.reconciler.reconcile(KEY);

    const now = secretData(w);
    expect(now.CLIENT_ID).toBe(old.CLIENT_ID);
    expect(now.CLIENT_SECRET).toMatch(MINTED_SECRET);
    expect(now.CLIENT_SECRET).not.toBe(old.CLIENT_SECRET);
    // The old secret cannot be recovered from the server (it stores a hash), so the new one is pushed.
    expect(w.server.writes).toEqual([
      expect.objectContaining({ op: 'updateClient', target: old.CLIENT_ID, body: expect.objectContaining({ client_secret: now.CLIENT_SECRET }) }),
    ]);
    expect(w.server.stored(old.CLIENT_ID!)?.client_secret).toBe(now.CLIENT_SECRET);
    expect(w.server.count()).toBe(1);
    const secret = w.secrets.current(NS, SECRET)!;
    expect(statusOf(w)?.secretRevision).toBe(`${secret.metadata?.uid}/${secret.metadata?.resourceVersion}`);
    expect(w.events.reasons()).toEqual(['Normal/SecretCreated', 'Normal/Updated']);
    expect(w.events.recorded[1]?.message).toContain('set the secret from the Secret');
    await expectQuiet(w);
  });

  it('pushes the secret again when someone edited the Secret (another resourceVersion)', async () => {
    const w = await reconciled();
    const edited = 'rotated-by-hand-0123456789abcdefghijkl';
    w.secrets.userEdit(NS, SECRET, (s) => (s.data!.CLIENT_SECRET = b64(edited)));

    await w.reconciler.reconcile(KEY);

    // The edited value is kept (it is a valid credential) and becomes the server's secret.
    expect(w.secrets.writes).toEqual([]);
    expect(secretData(w).CLIENT_SECRET).toBe(edited);
    expect(w.server.writes).toEqual([expect.objectContaining({ op: 'updateClient', body: expect.objectContaining({ client_secret: edited }) })]);
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(edited);
    expect(w.resources.writes.map((write) => write.op)).toEqual(['patchStatus']);
    await expectQuiet(w);
  });

  it('restores a CLIENT_ID someone changed in the Secret (the status keeps the id), with a new secret pushed', async () => {
    const w = await reconciled();
    w.secrets.userEdit(NS, SECRET, (s) => (s.data!.CLIENT_ID = b64('hijacked')));
    await w.reconciler.reconcile(KEY);
    expect(secretData(w).CLIENT_ID).toBe('generated-id-1');
    expect(w.server.stored('hijacked')).toBeUndefined();
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(secretData(w).CLIENT_SECRET);
    await expectQuiet(w);
  });

  it('removes data keys someone added to the managed Secret', async () => {
    const w = await reconciled();
    w.secrets.userEdit(NS, SECRET, (s) => (s.data!.EXTRA = b64('x')));
    await w.reconciler.reconcile(KEY);
    expect(Object.keys(secretData(w)).sort()).toEqual(['CLIENT_ID', 'CLIENT_SECRET']);
    expect(w.events.reasons()).toContain('Normal/SecretUpdated');
    await expectQuiet(w);
  });

  it('when the status was lost (restore from a backup), takes the id from its own Secret instead of generating one', async () => {
    const w = await reconciled();
    const { CLIENT_ID, CLIENT_SECRET } = secretData(w);
    const current = w.resources.current(KEY)!;
    delete current.status;
    await w.reconciler.reconcile(KEY);
    expect(statusOf(w)?.clientId).toBe(CLIENT_ID);
    expect(w.server.count()).toBe(1);
    expect(w.server.stored(CLIENT_ID!)?.client_secret).toBe(CLIENT_SECRET);
    expect(w.secrets.writes).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('conflicts', () => {
  it('a client on the server owned by someone else: Ready=False ClientConflict, the client left untouched', async () => {
    const w = applied({ clientId: 'shared' });
    w.server.seed({ id: 'shared', owner: 'gatehouse.dev/team-b/other', scope: 'theirs', client_secret: 'their-secret-0123456789abcdefghijklmn' });

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    expect(w.server.writes).toEqual([]);
    expect(w.server.stored('shared')).toMatchObject({
      owner: 'gatehouse.dev/team-b/other',
      scope: 'theirs',
      client_secret: 'their-secret-0123456789abcdefghijklmn',
    });
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'ClientConflict', message: expect.stringContaining('"gatehouse.dev/team-b/other"') });
    expect(w.events.recorded.filter((e) => e.type === 'Warning')).toEqual([
      { object: KEY, type: 'Warning', reason: 'ClientConflict', message: ready(w)!.message },
    ]);
    // Retrying does not write again nor warn again.
    await expectQuiet(w);
  });

  it('a client without owner counts as someone else’s too', async () => {
    const w = applied({ clientId: 'hand-made' });
    w.server.seed({ id: 'hand-made', client_secret: 'their-secret-0123456789abcdefghijklmn' });
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ reason: 'ClientConflict', message: expect.stringContaining('(no owner)') });
    expect(w.server.writes).toEqual([]);
  });

  it('a conflict that goes away (the other owner deletes its client) resolves on the next reconcile', async () => {
    const w = applied({ clientId: 'shared' });
    w.server.seed({ id: 'shared', owner: 'someone', client_secret: 'their-secret-0123456789abcdefghijklmn' });
    await w.reconciler.reconcile(KEY);
    w.server.wipe();
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(w.server.stored('shared')).toMatchObject({ owner: OWNER, client_secret: secretData(w).CLIENT_SECRET });
  });

  it('an existing Secret the resource does not control: SecretConflict, nothing written to it, no server write', async () => {
    const w = applied();
    const theirs = w.secrets.put(userSecret(SECRET, { password: 'hunter2' }));

    await w.reconciler.reconcile(KEY);

    expect(ready(w)).toMatchObject({ status: 'False', reason: 'SecretConflict', message: expect.stringContaining('adoptSecret') });
    expect(w.secrets.writes).toEqual([]);
    expect(w.secrets.current(NS, SECRET)).toEqual(theirs);
    expect(w.server.writes).toEqual([]);
    expect(w.events.reasons()).toEqual(['Warning/SecretConflict']);
    await expectQuiet(w);
  });

  it('a Secret controlled by another resource is a conflict as well', async () => {
    const w = applied();
    w.secrets.put(
      userSecret(
        SECRET,
        { CLIENT_ID: 'x' },
        { ownerReferences: [{ apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', name: 'other', uid: 'uid-other', controller: true }] },
      ),
    );
    await w.reconciler.reconcile(KEY);
    expect(ready(w)?.reason).toBe('SecretConflict');
    expect(w.secrets.writes).toEqual([]);
  });

  it('with adoptSecret: true the Secret is taken over: controller reference added, data set, others’ labels kept', async () => {
    const w = applied({ adoptSecret: true });
    const unrelatedOwner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-cm' };
    w.secrets.put(userSecret(SECRET, { password: 'hunter2' }, { labels: { app: 'shop' }, ownerReferences: [unrelatedOwner] }));

    await w.reconciler.reconcile(KEY);

    const secret = w.secrets.current(NS, SECRET)!;
    expect(w.secrets.writes.map((write) => write.op)).toEqual(['replace']);
    expect(secret.metadata?.ownerReferences).toEqual([unrelatedOwner, expect.objectContaining({ uid: 'uid-shop-1', controller: true })]);
    expect(secret.metadata?.labels).toEqual({ app: 'shop', [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(Object.keys(secretData(w)).sort()).toEqual(['CLIENT_ID', 'CLIENT_SECRET']);
    expect(w.server.stored(secretData(w).CLIENT_ID!)?.client_secret).toBe(secretData(w).CLIENT_SECRET);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(w.events.recorded.map(({ reason, message }) => ({ reason, message }))).toEqual([
      { reason: 'Adopted', message: `took over Secret ${SECRET} (adoptSecret: true)` },
      expect.objectContaining({ reason: 'Created' }),
    ]);
    await expectQuiet(w);
  });

  it('adoptSecret: true does not take over a Secret another OAuth2Client controls: SecretConflict, nothing written', async () => {
    const w = applied({ adoptSecret: true });
    const other = { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', name: 'other', uid: 'uid-other', controller: true };
    const theirs = w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'other-id', CLIENT_SECRET: USER_SECRET }, { ownerReferences: [other] }));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)?.reason).toBe('SecretConflict');
    expect(w.secrets.writes).toEqual([]);
    expect(w.secrets.current(NS, SECRET)).toEqual(theirs);
    expect(w.server.writes).toEqual([]);
  });

  it('a secretName changed to a conflicting Secret, then to a free name, still carries the credentials over', async () => {
    const w = applied();
    await w.reconciler.reconcile(KEY);
    const original = secretData(w);
    const taken = w.secrets.put(userSecret('taken', { password: 'hunter2' }));
    w.resources.editSpec(KEY, (spec) => (spec.secretName = 'taken'));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)?.reason).toBe('SecretConflict');
    expect(statusOf(w)?.secretName).toBe(SECRET);

    w.resources.editSpec(KEY, (spec) => (spec.secretName = 'third'));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(secretData(w, 'third')).toEqual(original);
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    expect(w.secrets.current(NS, 'taken')).toEqual(taken);
    expect(w.server.stored(original.CLIENT_ID!)?.client_secret).toBe(original.CLIENT_SECRET);
  });

  it('adopting a Secret that already holds credentials keeps them', async () => {
    const w = applied({ adoptSecret: true });
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'legacy-id', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ CLIENT_ID: 'legacy-id', CLIENT_SECRET: USER_SECRET });
    expect(w.server.stored('legacy-id')).toMatchObject({ owner: OWNER, client_secret: USER_SECRET });
    await expectQuiet(w);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('a Secret created before the resource (hydra-maester users’ pattern)', () => {
  it('is the client: its id and secret are registered and the Secret is never written, under CLIENT_ID/CLIENT_SECRET', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'pre-made', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled', message: expect.stringContaining('created before the resource') });
    expect(w.server.stored('pre-made')).toMatchObject({ owner: OWNER, client_secret: USER_SECRET });
    expect(w.secrets.writes).toEqual([]);
    expect(statusOf(w)?.clientId).toBe('pre-made');
    await expectQuiet(w);
  });

  it('reads hydra-maester’s lowercase client_id/client_secret when the template names no keys', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { client_id: '00900900', client_secret: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(w.server.stored('00900900')).toMatchObject({ client_secret: USER_SECRET });
    expect(w.secrets.writes).toEqual([]);
  });

  it('stays the user’s when it is deleted: the resource waits for it, nothing is minted, the server keeps the secret', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'pre-made', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(statusOf(w)?.userSecret).toBe(true);
    await w.secrets.delete(NS, SECRET);
    const writesBefore = w.server.writes.length;
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'WaitingForSecret', message: expect.stringContaining('set adoptSecret: true') });
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    expect(w.server.writes.length).toBe(writesBefore);
    expect(w.server.stored('pre-made')?.client_secret).toBe(USER_SECRET);

    // As the message says: adoptSecret lets the operator make its own Secret for the same client.
    w.resources.editSpec(KEY, (spec) => (spec.adoptSecret = true));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(secretData(w).CLIENT_ID).toBe('pre-made');
    expect(statusOf(w)?.userSecret).toBe(false);
    // false stays false: a status that flipped back to absent would be written on every reconcile.
    await expectQuiet(w);
  });

  it('is found under CLIENT_ID/CLIENT_SECRET even when a KeyPolicy names other keys for the operator’s Secrets', async () => {
    const w = applied({ secretTemplate: { clientIdKey: 'APP_ID', clientSecretKey: 'APP_SECRET' } });
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'pre-made', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(w.server.stored('pre-made')?.client_secret).toBe(USER_SECRET);
    expect(w.secrets.writes).toEqual([]);
  });

  it('carrying another tool’s managed-by label (Helm) is still the user’s Secret', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'from-helm', CLIENT_SECRET: USER_SECRET }, { labels: { [MANAGED_BY_LABEL]: 'Helm' } }));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(w.server.stored('from-helm')?.client_secret).toBe(USER_SECRET);
  });

  it('a Secret the operator wrote for another resource stays a SecretConflict', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'theirs', CLIENT_SECRET: USER_SECRET }, { labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'SecretConflict' });
    expect(w.server.stored('theirs')).toBeUndefined();
  });

  it('a secret the server refuses ends as SecretRefused, naming the Secret and the server’s reason', async () => {
    const w = applied();
    w.secrets.put(userSecret(SECRET, { client_id: 'short', client_secret: 'too-short' }));
    w.server.failures.createClient = new GatehouseApiError(400, { error: { reason: 'client_secret: must be at least 16 characters' } }, undefined);
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({
      status: 'False',
      reason: 'SecretRefused',
      message: expect.stringMatching(new RegExp(`^the server refused the client secret in Secret ${SECRET}: .*at least 16 characters`)),
    });
    expect(w.events.reasons()).toEqual(['Warning/SecretRefused']);
  });
});

describe('warnings about the spec', () => {
  it('names response types the client’s grants can never serve, and still registers the client (hydra-maester accepted them)', async () => {
    const w = applied({ grantTypes: ['client_credentials'], responseTypes: ['code', 'token'] });
    await w.reconciler.reconcile(KEY);
    expect(ready(w)?.status).toBe('True');
    expect(statusOf(w)?.conditions?.find((condition) => condition.type === 'Warnings')).toMatchObject({
      reason: 'UnusableResponseTypes',
      message: 'response types code, token can never be used: code needs the authorization_code grant; token needs the implicit grant',
    });
  });

  it('names hydra-maester fields without effect and plain-http redirects to other hosts, in a condition and one Event each', async () => {
    const w = applied({
      grantTypes: ['authorization_code'],
      redirectUris: ['http://app.example/cb', 'http://localhost:8080/cb'],
      hydraAdmin: { url: 'http://hydra-admin', port: 4445 },
      jwksUri: 'https://app.example/jwks',
      backChannelLogoutSessionRequired: false,
    });
    w.server.failures.createClient = new GatehouseApiError(400, { error: { reason: 'redirect_uris.0: must use https' } }, undefined);
    await w.reconciler.reconcile(KEY);
    const warnings = statusOf(w)?.conditions?.find((condition) => condition.type === 'Warnings');
    expect(warnings).toMatchObject({ status: 'True', reason: 'SeveralWarnings' });
    expect(warnings?.message).toContain('hydra-maester fields hydraAdmin, jwksUri have no effect');
    expect(warnings?.message).toContain('redirect URI http://app.example/cb uses plain http');
    expect(warnings?.message).not.toContain('localhost');
    expect(w.events.reasons()).toEqual(expect.arrayContaining(['Warning/FieldsIgnored', 'Warning/InsecureRedirectUris']));

    // Said once: the next reconcile of the same spec adds no Event; a spec without them drops the condition.
    await w.reconciler.reconcile(KEY);
    expect(w.events.recorded.filter((event) => ['FieldsIgnored', 'InsecureRedirectUris'].includes(event.reason)).length).toBe(2);
    delete w.server.failures.createClient;
    w.resources.editSpec(KEY, (spec) => {
      spec.redirectUris = ['https://app.example/cb'];
      delete spec.hydraAdmin;
      delete spec.jwksUri;
    });
    await w.reconciler.reconcile(KEY);
    expect(statusOf(w)?.conditions?.find((condition) => condition.type === 'Warnings')).toBeUndefined();
    expect(ready(w)?.status).toBe('True');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('existingSecret: waiting for a user Secret', () => {
  it('no Secret yet: WaitingForSecret with a requeue, and only the finalizer and status are written', async () => {
    const w = applied({ existingSecret: true });
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({ requeueAfterMs: WAIT_FOR_SECRET_MS });
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'WaitingForSecret', message: expect.stringContaining('does not exist yet') });
    expect(w.secrets.writes).toEqual([]);
    expect(w.server.writes).toEqual([]);
    expect(w.server.reads).toEqual([]);
    expect(w.resources.writes.map((write) => write.op)).toEqual(['setFinalizers', 'patchStatus']);
    // Waiting is the expected state of this mode, not a failure: a Normal event.
    expect(w.events.reasons()).toEqual(['Normal/WaitingForSecret']);

    // Polling while waiting costs nothing but the requeue.
    w.clearRecords();
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({ requeueAfterMs: WAIT_FOR_SECRET_MS });
    expect(w.journal).toEqual([]);
  });

  it('a Secret without the secret key keeps waiting and says which key it lacks', async () => {
    const w = applied({ existingSecret: true, secretTemplate: { clientSecretKey: 'password' } });
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'x' }));
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({ requeueAfterMs: WAIT_FOR_SECRET_MS });
    expect(ready(w)).toMatchObject({ reason: 'WaitingForSecret', message: expect.stringContaining('has no password key') });
    expect(w.secrets.writes).toEqual([]);
  });

  it('when the user Secret appears, its credentials are registered and the Secret is never written', async () => {
    const w = applied({ existingSecret: true });
    await w.reconciler.reconcile(KEY);
    const theirs = w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'from-vault', CLIENT_SECRET: USER_SECRET }));

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    expect(w.server.writes).toEqual([
      expect.objectContaining({ op: 'createClient', body: expect.objectContaining({ id: 'from-vault', client_secret: USER_SECRET, owner: OWNER }) }),
    ]);
    expect(w.secrets.writes).toEqual([]);
    expect(w.secrets.current(NS, SECRET)).toEqual(theirs);
    expect(statusOf(w)).toMatchObject({
      clientId: 'from-vault',
      secretName: SECRET,
      secretRevision: `${theirs.metadata?.uid}/${theirs.metadata?.resourceVersion}`,
    });
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    await expectQuiet(w);
  });

  it('a user Secret with only CLIENT_SECRET gets a generated id, kept in the status (the Secret stays theirs)', async () => {
    const w = applied({ existingSecret: true });
    w.secrets.put(userSecret(SECRET, { CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(statusOf(w)?.clientId).toBe('generated-id-1');
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(USER_SECRET);
    expect(w.secrets.writes).toEqual([]);
    // The id is not generated again on the next reconcile.
    await expectQuiet(w);
  });

  it('a rotation of the user Secret (new value, new resourceVersion) is pushed to the server', async () => {
    const w = applied({ existingSecret: true });
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'from-vault', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    w.clearRecords();
    const rotated = 'rotated-by-external-secrets-0123456789';
    w.secrets.userEdit(NS, SECRET, (s) => (s.data!.CLIENT_SECRET = b64(rotated)));
    await w.reconciler.reconcile(KEY);
    expect(w.server.writes).toEqual([expect.objectContaining({ op: 'updateClient', body: expect.objectContaining({ client_secret: rotated }) })]);
    expect(w.secrets.writes).toEqual([]);
    await expectQuiet(w);
  });

  it('spec.clientId wins over the CLIENT_ID in the user Secret', async () => {
    const w = applied({ existingSecret: true, clientId: 'declared' });
    w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'from-vault', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    expect(w.server.stored('declared')?.client_secret).toBe(USER_SECRET);
    expect(w.server.stored('from-vault')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('public clients', () => {
  it('Secret holds only CLIENT_ID; the server client is public and gets no client_secret', async () => {
    const w = applied({ tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['https://spa.example/cb'] });
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ CLIENT_ID: 'generated-id-1' });
    const [create] = w.server.writes;
    expect(create?.body).toMatchObject({ id: 'generated-id-1', public: true });
    expect(create?.body).not.toHaveProperty('client_secret');
    expect(w.server.stored('generated-id-1')?.client_secret).toBeUndefined();
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
  });

  it('a re-created Secret of a public client pushes nothing to the server', async () => {
    const w = await reconciled({ tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: ['https://spa.example/cb'] });
    w.secrets.userDelete(NS, SECRET);
    await w.reconciler.reconcile(KEY);
    expect(secretData(w)).toEqual({ CLIENT_ID: 'generated-id-1' });
    expect(w.server.writes).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('invalid specs the CRD schema cannot catch', () => {
  it('an unknown field: Ready=False InvalidSpec naming the field; no Secret, no server call, no retry', async () => {
    const w = world();
    const resource = oauth2Client();
    (resource.spec as Record<string, unknown>).clientSecret = 'plain-text';
    w.resources.apply(resource);

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    expect(ready(w)).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('clientSecret') });
    // A spec-level issue is reported at "spec", not "spec." with an empty path.
    expect(ready(w)?.message).toMatch(/^spec: /);
    expect(w.servers.calls).toBe(0);
    expect(w.server.reads).toEqual([]);
    expect(w.secrets.writes).toEqual([]);
    expect(w.events.recorded).toEqual([{ object: KEY, type: 'Warning', reason: 'InvalidSpec', message: ready(w)!.message }]);
    await expectQuiet(w);
  });

  it('names the path of a nested field', async () => {
    const w = applied({ scope: 'two  spaces', redirectUris: ['https://ok.example/cb', 'not a uri'] });
    await w.reconciler.reconcile(KEY);
    expect(ready(w)?.message).toContain('spec.scope: must be scope tokens separated by single spaces');
    expect(ready(w)?.message).toContain('spec.redirectUris.1: must be an absolute URI');
    expect(w.servers.calls).toBe(0);
  });

  it('fixing the spec turns the resource Ready', async () => {
    const w = applied({ scope: 'two  spaces' });
    await w.reconciler.reconcile(KEY);
    vi.setSystemTime(new Date('2025-01-01T10:05:00Z'));
    w.resources.editSpec(KEY, (spec) => (spec.scope = 'two spaces'));
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled', observedGeneration: 2, lastTransitionTime: '2025-01-01T10:05:00Z' });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('server failures', () => {
  it.each<[string, unknown]>([
    ['GatehouseUnavailableError', new GatehouseUnavailableError('connect ECONNREFUSED 10.0.0.1:4444')],
    ['HTTP 503', new GatehouseApiError(503, { error: { reason: 'database unavailable' } }, 'req-1')],
    ['HTTP 502', new GatehouseApiError(502, 'Bad Gateway', undefined)],
  ])('%s from findClient: ServerUnavailable and a RetryableError', async (_name, error) => {
    const w = applied();
    w.server.failures.findClient = error;

    const attempt = w.reconciler.reconcile(KEY);
    await expect(attempt).rejects.toBeInstanceOf(RetryableError);
    await expect(attempt).rejects.toThrow((error as Error).message);

    expect(ready(w)).toMatchObject({ status: 'False', reason: 'ServerUnavailable', message: expect.stringContaining((error as Error).message) });
    expect(w.server.writes).toEqual([]);
    // The server is asked whether the id is free before anything is written, so nothing but the status is.
    expect(w.secrets.writes).toEqual([]);
    expect(statusOf(w)).toMatchObject({ secretName: SECRET });
    expect(statusOf(w)?.clientId).toBeUndefined();
    expect(w.events.reasons()).toEqual(['Warning/ServerUnavailable']);
  });

  it('retries while down: the status is written and the warning recorded once, not on every retry', async () => {
    const w = applied();
    w.server.failures.findClient = new GatehouseUnavailableError('connect ECONNREFUSED');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    for (let i = 0; i < 3; i++) {
      w.clearRecords();
      vi.setSystemTime(new Date(Date.UTC(2025, 0, 1, 11 + i)));
      await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
      expect(w.journal).toEqual([]);
    }
  });

  it('converges with no manual step when the server is back', async () => {
    const w = applied();
    w.server.failures.findClient = new GatehouseUnavailableError('connect ECONNREFUSED');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    delete w.server.failures.findClient;
    vi.setSystemTime(new Date('2025-01-01T10:01:00Z'));

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled', lastTransitionTime: '2025-01-01T10:01:00Z' });
    const { clientId } = statusOf(w)!;
    expect(w.server.stored(clientId!)?.client_secret).toBe(secretData(w).CLIENT_SECRET);
    // Nothing was written during the outage, so the Secret is created once, after it.
    expect(w.secrets.writes.map((write) => write.op)).toEqual(['create']);
    await expectQuiet(w);
  });

  it('a client the server created although the answer was lost is completed, not duplicated', async () => {
    const w = applied();
    w.server.failures.createClient = new GatehouseUnavailableError('socket hang up');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    // Simulate the request having reached the server anyway, with its own secret.
    delete w.server.failures.createClient;
    w.server.seed({
      id: 'generated-id-1',
      owner: OWNER,
      client_name: 'Shop backend',
      grant_types: ['client_credentials'],
      scope: 'orders:read orders:write',
      client_secret: 'lost-answer-secret-0123456789abcdefghij',
    });
    await w.reconciler.reconcile(KEY);
    // No secretRevision in the status yet, so the Secret's secret is pushed.
    expect(w.server.writes.at(-1)).toMatchObject({ op: 'updateClient', body: { client_secret: secretData(w).CLIENT_SECRET } });
    expect(w.server.stored('generated-id-1')?.client_secret).toBe(secretData(w).CLIENT_SECRET);
    await expectQuiet(w);
  });

  it('server discovery failing in ServerPort.for is ServerUnavailable too', async () => {
    const w = applied();
    w.servers.failure = new GatehouseUnavailableError('getaddrinfo ENOTFOUND gatehouse');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(ready(w)?.reason).toBe('ServerUnavailable');
    expect(w.secrets.writes).toEqual([]);
  });

  it('a new failure message is a new warning', async () => {
    const w = applied();
    w.server.failures.findClient = new GatehouseUnavailableError('connect ECONNREFUSED');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    w.server.failures.findClient = new GatehouseApiError(503, { error: { reason: 'database unavailable' } }, undefined);
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    expect(w.events.recorded.filter((e) => e.type === 'Warning').map((e) => e.message)).toEqual([
      'the authorization server is unavailable: connect ECONNREFUSED',
      'the authorization server is unavailable: HTTP 503: database unavailable',
    ]);
  });

  it('HTTP 400 on create: InvalidSpec with the server’s reason, no throw (retrying would not help)', async () => {
    const w = applied();
    w.server.failures.createClient = new GatehouseApiError(400, { error: 'invalid_request', error_description: 'scope: too long' }, undefined);
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    expect(ready(w)).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'the server refused the client: HTTP 400: invalid_request: scope: too long',
    });
    expect(w.events.reasons()).toContain('Warning/InvalidSpec');
  });

  it('a spec the server refuses on its own (public client with client_credentials) ends as InvalidSpec', async () => {
    // The CRD's CEL rule refuses this at apply time; if it slipped through, the server's 400 is reported.
    const w = applied({ tokenEndpointAuthMethod: 'none', grantTypes: ['client_credentials'] });
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    expect(ready(w)).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('client_credentials needs a confidential client') });
    expect(w.server.count()).toBe(0);
  });

  it('HTTP 409 on create (someone created the id in between): ClientConflict and a RetryableError', async () => {
    const w = applied();
    w.server.failures.createClient = new GatehouseApiError(409, { error: { reason: 'client "generated-id-1" already exists' } }, undefined);
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'ClientConflict', message: expect.stringContaining('already exists') });
  });

  it.each([401, 403])('HTTP %i (the operator’s own credentials): ServerRejected and a RetryableError', async (status) => {
    const w = applied();
    w.server.failures.findClient = new GatehouseApiError(status, { error: 'invalid_client', error_description: 'bad credentials' }, undefined);
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(ready(w)).toMatchObject({ reason: 'ServerRejected', message: expect.stringContaining('invalid_client') });
  });

  it('ServerSelectionError from ServerPort.for: InvalidSpec with a requeue, no throw, nothing else written', async () => {
    const w = applied({
      server: { url: 'https://other.example', credentialsSecretRef: { name: 'other-creds', clientIdKey: 'CLIENT_ID', clientSecretKey: 'CLIENT_SECRET' } },
    });
    w.servers.failure = new ServerSelectionError('spec.server.credentialsSecretRef: Secret other-creds does not exist');
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({ requeueAfterMs: 30_000 });
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'spec.server.credentialsSecretRef: Secret other-creds does not exist' });
    expect(w.secrets.writes).toEqual([]);
    expect(w.server.reads).toEqual([]);
    expect(w.events.reasons()).toEqual(['Warning/InvalidSpec']);
    // Looking again while it is still missing writes nothing.
    w.clearRecords();
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({ requeueAfterMs: 30_000 });
    expect(w.journal).toEqual([]);
  });

  it('an unexpected error (e.g. from the Kubernetes API) is retried', async () => {
    const w = applied();
    w.secrets.create = async () => {
      throw Object.assign(new Error('secrets is forbidden'), { code: 403 });
    };
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(ready(w)).toMatchObject({ status: 'False', message: expect.stringContaining('secrets is forbidden') });
    expect(w.server.writes).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('deletion', () => {
  it('deletionPolicy delete: deletes the client it owns and the Secret, then removes the finalizer', async () => {
    const w = await reconciled();
    w.resources.markDeleted(KEY);

    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

    // Order matters: the client and the Secret go before the finalizer does.
    expect(w.journal).toEqual(['server.deleteClient generated-id-1', 'event.Normal Deleted', `secret.delete ${NS}/${SECRET}`, `resource.setFinalizers ${KEY}`]);
    expect(w.server.count()).toBe(0);
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    // The last finalizer gone, the API server removes the object.
    expect(w.resources.current(KEY)).toBeUndefined();
    expect(w.events.recorded).toEqual([{ object: KEY, type: 'Normal', reason: 'Deleted', message: 'deleted client generated-id-1 from the server' }]);
  });

  it('keeps finalizers of others', async () => {
    const w = applied({}, { finalizers: ['example.com/other'] });
    await w.reconciler.reconcile(KEY);
    expect(w.resources.current(KEY)?.metadata.finalizers).toEqual(['example.com/other', FINALIZER]);
    w.resources.markDeleted(KEY);
    await w.reconciler.reconcile(KEY);
    expect(w.resources.current(KEY)?.metadata.finalizers).toEqual(['example.com/other']);
  });

  it('deletionPolicy delete never deletes a client now owned by someone else', async () => {
    const w = await reconciled();
    w.server.tamper('generated-id-1', { owner: 'gatehouse.dev/team-b/thief' });
    w.resources.markDeleted(KEY);
    await w.reconciler.reconcile(KEY);
    expect(w.server.writes).toEqual([]);
    expect(w.server.stored('generated-id-1')).toBeDefined();
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('deletes the client whose id only its Secret holds, when the status write after creating it was lost', async () => {
    const w = applied();
    w.resources.statusPatchFailure = new Error('etcdserver: request timed out');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow('request timed out');
    w.resources.statusPatchFailure = undefined;
    expect(statusOf(w)?.clientId).toBeUndefined();
    expect(w.server.stored('generated-id-1')).toBeDefined();

    w.resources.markDeleted(KEY);
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    expect(w.server.count()).toBe(0);
    expect(w.secrets.current(NS, SECRET)).toBeUndefined();
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('a client already gone from the server is not an error', async () => {
    const w = await reconciled();
    w.server.wipe();
    w.resources.markDeleted(KEY);
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    expect(w.server.writes).toEqual([]);
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('a Secret the resource does not control (existingSecret) is left alone on deletion', async () => {
    const w = applied({ existingSecret: true });
    const theirs = w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'from-vault', CLIENT_SECRET: USER_SECRET }));
    await w.reconciler.reconcile(KEY);
    w.clearRecords();
    w.resources.markDeleted(KEY);
    await w.reconciler.reconcile(KEY);
    expect(w.secrets.writes).toEqual([]);
    expect(w.secrets.current(NS, SECRET)).toEqual(theirs);
    expect(w.server.stored('from-vault')).toBeUndefined();
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('a resource that never got a client id (invalid spec) just loses its finalizer', async () => {
    const w = applied({ scope: 'two  spaces' });
    await w.reconciler.reconcile(KEY);
    w.clearRecords();
    w.resources.markDeleted(KEY);
    await w.reconciler.reconcile(KEY);
    expect(w.servers.calls).toBe(0);
    expect(w.journal).toEqual(['resource.setFinalizers team-a/shop']);
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('the server being down during deletion keeps the finalizer, so the cleanup is retried', async () => {
    const w = await reconciled();
    w.resources.markDeleted(KEY);
    w.server.failures.findClient = new GatehouseUnavailableError('connect ECONNREFUSED');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow('ECONNREFUSED');
    expect(w.resources.current(KEY)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(w.secrets.current(NS, SECRET)).toBeDefined();
    delete w.server.failures.findClient;
    await w.reconciler.reconcile(KEY);
    expect(w.server.count()).toBe(0);
    expect(w.resources.current(KEY)).toBeUndefined();
  });

  it('does nothing for a resource being deleted without our finalizer', async () => {
    const w = applied({}, { finalizers: ['example.com/other'], deletionTimestamp: '2025-01-01T00:00:00Z' });
    await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});
    expect(w.journal).toEqual([]);
    expect(w.servers.calls).toBe(0);
  });

  describe('deletionPolicy orphan', () => {
    it('keeps the client and the Secret, releases the Secret (no owner reference, orphaned-from annotation)', async () => {
      const w = await reconciled({ deletionPolicy: 'orphan', secretTemplate: { annotations: { keep: 'me' } } });
      const credentials = secretData(w);
      w.resources.markDeleted(KEY);

      await w.reconciler.reconcile(KEY);

      expect(w.server.writes).toEqual([]);
      expect(w.servers.calls).toBe(0);
      expect(w.server.stored(credentials.CLIENT_ID!)).toMatchObject({ owner: OWNER, client_secret: credentials.CLIENT_SECRET });
      const secret = w.secrets.current(NS, SECRET)!;
      expect(secret.metadata?.ownerReferences ?? []).toEqual([]);
      expect(secret.metadata?.annotations).toEqual({ keep: 'me', [ORPHANED_FROM]: OWNER, [CREDENTIAL_KEYS]: 'CLIENT_ID,CLIENT_SECRET' });
      expect(secretData(w)).toEqual(credentials);
      expect(w.resources.current(KEY)).toBeUndefined();
      expect(w.events.recorded.at(-1)).toMatchObject({
        reason: 'Orphaned',
        message: `left client ${credentials.CLIENT_ID} on the server and Secret ${SECRET} in place (deletionPolicy: orphan); applying this resource again takes them back`,
      });
    });

    it('the same resource applied again (new uid) adopts the orphaned Secret and client without conflict', async () => {
      const w = await reconciled({ deletionPolicy: 'orphan' }, { uid: 'uid-first' });
      const credentials = secretData(w);
      w.resources.markDeleted(KEY);
      await w.reconciler.reconcile(KEY);
      expect(w.resources.current(KEY)).toBeUndefined();

      w.resources.apply(oauth2Client({ deletionPolicy: 'orphan' }, { uid: 'uid-second' }));
      w.clearRecords();
      await expect(w.reconciler.reconcile(KEY)).resolves.toEqual({});

      expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled' });
      expect(statusOf(w)?.clientId).toBe(credentials.CLIENT_ID);
      // Same credentials, now controlled by the new resource, the orphan mark gone.
      expect(secretData(w)).toEqual(credentials);
      const secret = w.secrets.current(NS, SECRET)!;
      expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ uid: 'uid-second', controller: true })]);
      expect(secret.metadata?.annotations?.[ORPHANED_FROM]).toBeUndefined();
      // The same client on the server, still working with the same secret; no new client.
      expect(w.server.count()).toBe(1);
      expect(w.server.stored(credentials.CLIENT_ID!)).toMatchObject({ owner: OWNER, client_secret: credentials.CLIENT_SECRET });
      expect(w.events.recorded.filter((e) => e.type === 'Warning')).toEqual([]);
      await expectQuiet(w);
    });

    it('a Secret orphaned from another resource is not adopted', async () => {
      const w = applied();
      w.secrets.put(userSecret(SECRET, { CLIENT_ID: 'x', CLIENT_SECRET: USER_SECRET }, { annotations: { [ORPHANED_FROM]: 'gatehouse.dev/team-a/other' } }));
      await w.reconciler.reconcile(KEY);
      expect(ready(w)?.reason).toBe('SecretConflict');
      expect(w.secrets.writes).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('status and event hygiene', () => {
  it('keeps lastTransitionTime while the status stays False, renews it when it turns True', async () => {
    const w = applied({ scope: 'two  spaces' });
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'InvalidSpec', lastTransitionTime: '2025-01-01T10:00:00Z' });

    vi.setSystemTime(new Date('2025-01-01T10:10:00Z'));
    w.resources.editSpec(KEY, (spec) => (spec.scope = 'ok'));
    w.server.failures.findClient = new GatehouseUnavailableError('down');
    await expect(w.reconciler.reconcile(KEY)).rejects.toBeInstanceOf(RetryableError);
    expect(ready(w)).toMatchObject({ status: 'False', reason: 'ServerUnavailable', lastTransitionTime: '2025-01-01T10:00:00Z', observedGeneration: 2 });

    vi.setSystemTime(new Date('2025-01-01T10:20:00Z'));
    delete w.server.failures.findClient;
    await w.reconciler.reconcile(KEY);
    expect(ready(w)).toMatchObject({ status: 'True', reason: 'Reconciled', lastTransitionTime: '2025-01-01T10:20:00Z' });
  });

  it('keeps conditions of other types', async () => {
    const other: Condition = { type: 'PolicyResolved', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'Single', message: 'one policy' };
    const w = applied({}, { status: { conditions: [other] } });
    await w.reconciler.reconcile(KEY);
    expect(statusOf(w)?.conditions?.map((c) => c.type)).toEqual(['PolicyResolved', 'Ready']);
    await expectQuiet(w);
  });

  it('does not re-write a status whose keys come back in another order (the comparison is by value)', async () => {
    const w = await reconciled();
    const current = w.resources.current(KEY)!;
    const { conditions, observedGeneration, secretRevision, secretName, clientId } = current.status!;
    current.status = {
      conditions: conditions!.map((c) => ({
        message: c.message,
        reason: c.reason,
        lastTransitionTime: c.lastTransitionTime,
        observedGeneration: c.observedGeneration,
        status: c.status,
        type: c.type,
      })),
      secretRevision,
      clientId,
      secretName,
      observedGeneration,
    };
    await expectQuiet(w);
  });

  it('a status write for another reason (new generation) does not repeat the same warning', async () => {
    const w = applied();
    w.server.failures.findClient = new GatehouseUnavailableError('down');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    w.resources.editSpec(KEY, (spec) => (spec.scope = 'orders:read'));
    w.clearRecords();
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    // observedGeneration moved, so the status is written, but the failure is the one already reported.
    expect(w.journal).toEqual([`resource.patchStatus ${KEY}`]);
    expect(statusOf(w)?.observedGeneration).toBe(2);
  });

  it('warns again when a failure returns after a recovery, but not on each retry', async () => {
    // One warning per transition into a failure: down, up, down again → two warnings, not one per retry.
    const w = applied();
    w.server.failures.findClient = new GatehouseUnavailableError('down');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    delete w.server.failures.findClient;
    await w.reconciler.reconcile(KEY);
    w.server.failures.findClient = new GatehouseUnavailableError('down');
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    await expect(w.reconciler.reconcile(KEY)).rejects.toThrow();
    expect(w.events.recorded.filter((e) => e.type === 'Warning').map((e) => e.reason)).toEqual(['ServerUnavailable', 'ServerUnavailable']);
  });

  it('several resources are independent (one failing does not touch the other)', async () => {
    const w = world();
    w.resources.apply(oauth2Client({ clientId: 'a-id', secretName: 'a-creds' }, { name: 'a', uid: 'uid-a' }));
    w.resources.apply(oauth2Client({ clientId: 'b-id', secretName: 'b-creds', scope: 'bad  scope' }, { name: 'b', uid: 'uid-b' }));
    await w.reconciler.reconcile('team-a/a');
    await w.reconciler.reconcile('team-a/b');
    expect(ready(w, 'team-a/a')?.reason).toBe('Reconciled');
    expect(ready(w, 'team-a/b')?.reason).toBe('InvalidSpec');
    expect(w.server.stored('a-id')?.owner).toBe('gatehouse.dev/team-a/a');
    expect(w.events.recorded.filter((e) => e.object === keyOf(oauth2Client({}, { name: 'b' }))).map((e) => e.reason)).toEqual(['InvalidSpec']);
  });
});

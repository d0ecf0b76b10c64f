// The Secrets side of the operator, against the real control plane and server: a user's own Secret (wait mode), a
// deleted Secret, a Secret the operator did not create, the Secret template; then the steady state (nothing written
// while nothing changes) and the printer columns in `kubectl get`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envtestBinDir, freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, counterSum, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import {
  authenticates,
  clientsOwnedBy,
  credentialsOf,
  decoded,
  eventually,
  kubectl,
  mergePatch,
  operatorWrites,
  readyOf,
  Resources,
  serverClientWrites,
  sleep,
  tokenFor,
  tokenStatus,
} from './helpers.js';

describe('operator: Secrets', () => {
  const kc = kubeConfig();
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let namespace: string;
  let resources: Resources;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'op-secrets');
    resources = new Resources(kc, namespace);
    // A 5 s resync: user Secrets (not watched) are re-read on each one, and the steady-state check below sees
    // several resyncs in its idle window.
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace], resync: '5s' });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  const reconciles = async (result: string) => counterSum(await operator.metrics(), 'controller_runtime_reconcile_total', `result="${result}"`);

  it('existingSecret: nothing happens until the user Secret appears; then its credentials are registered and the Secret is left alone', async () => {
    const writesBefore = operatorWrites(await operator.metrics(), 'server');
    const waitsBefore = await reconciles('requeue_after');
    await resources.create('byo', { grantTypes: ['client_credentials'], scope: 'byo.read', secretName: 'byo-credentials', existingSecret: true });
    const waiting = await resources.waitFor('byo', 'False', 'WaitingForSecret');
    expect(readyOf(waiting)?.message).toBe('Secret byo-credentials does not exist yet; waiting for it (existingSecret: true)');
    // Let the operator look again (it re-checks every 5 s): still nothing may happen.
    await eventually('a second look for the Secret', async () => ((await reconciles('requeue_after')) >= waitsBefore + 2 ? true : undefined), 15_000);
    expect(await resources.secret('byo-credentials'), 'the operator generated no Secret').toBeUndefined();
    expect(await clientsOwnedBy(server, namespace, 'byo'), 'no client on the server').toEqual([]);
    expect(await server.root.findClient('byo-client')).toBeUndefined();
    expect(operatorWrites(await operator.metrics(), 'server')).toBe(writesBefore);
    expect(readyOf(await resources.get('byo'))?.reason).toBe('WaitingForSecret');

    // The user's Secret appears (as External Secrets or Sealed Secrets would create it).
    const userSecret = await resources.createSecret('byo-credentials', { CLIENT_ID: 'byo-client', CLIENT_SECRET: 'byo-secret-from-the-vault-0123456789' });
    const ready = await resources.waitReady('byo', 20_000);
    expect(ready.status?.clientId).toBe('byo-client');
    const token = await tokenFor(server.url, { clientId: 'byo-client', clientSecret: 'byo-secret-from-the-vault-0123456789' }, 'byo.read');
    expect(await server.root.introspect(token)).toMatchObject({ active: true, client_id: 'byo-client' });
    expect(await server.root.getClient('byo-client')).toMatchObject({ owner: `gatehouse.dev/${namespace}/byo`, scope: 'byo.read' });
    // The server did not mint this secret and cannot vouch for it, so it sits under the slow hash.
    expect(server.storedSecretHash('byo-client')).toMatch(/^\$scrypt\$/);
    // The Secret is the user's: not one byte, label, annotation or owner reference changed.
    const after = await resources.secret('byo-credentials');
    expect(after!.metadata?.resourceVersion).toBe(userSecret.metadata?.resourceVersion);
    expect(after!.data).toEqual(userSecret.data);
    expect(after!.metadata?.ownerReferences).toBeUndefined();
    expect(after!.metadata?.labels).toBeUndefined();

    // The user rotates the secret in their Secret: the server follows (at the next resync: the Secret is not watched).
    await resources.core.patchNamespacedSecret(
      { namespace, name: 'byo-credentials', body: { stringData: { CLIENT_SECRET: 'byo-rotated-secret-0123456789abcdef' } } },
      mergePatch,
    );
    await eventually(
      'the rotated user secret to work',
      async () => (await authenticates(server.url, { clientId: 'byo-client', clientSecret: 'byo-rotated-secret-0123456789abcdef' })) || undefined,
      15_000,
    );
    expect(await tokenStatus(server.url, { clientId: 'byo-client', clientSecret: 'byo-secret-from-the-vault-0123456789' })).toBe(401);
  });

  it('a deleted Secret is re-created with the same client id and a new, working secret', async () => {
    await resources.create('recreate', { grantTypes: ['client_credentials'], scope: 're.read', secretName: 'recreate-credentials' });
    await resources.waitReady('recreate');
    const original = await resources.secret('recreate-credentials');
    const old = credentialsOf(original);
    await tokenFor(server.url, old, 're.read');

    await resources.deleteSecret('recreate-credentials');
    const recreated = await eventually('the Secret re-created', async () => {
      const secret = await resources.secret('recreate-credentials');
      return secret && secret.metadata?.uid !== original!.metadata?.uid ? secret : undefined;
    });
    const fresh = credentialsOf(recreated);
    expect(fresh.clientId).toBe(old.clientId);
    // The old secret cannot be read back from the server (it keeps only a hash), so a new one is set there.
    expect(fresh.clientSecret).not.toBe(old.clientSecret);
    await eventually('the new secret to work', async () => tokenFor(server.url, fresh, 're.read'));
    expect(await tokenStatus(server.url, old)).toBe(401);
    expect(recreated.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'OAuth2Client', name: 'recreate', controller: true })]);
    const ready = await resources.waitReady('recreate');
    expect(ready.status?.clientId).toBe(old.clientId);
    expect(await clientsOwnedBy(server, namespace, 'recreate')).toHaveLength(1);
  });

  it('a Secret the operator did not create, without credentials, is never overwritten (SecretConflict) unless adoptSecret: true', async () => {
    // Say, a database password that happens to have the name. (A Secret that holds client credentials is used as the
    // client's instead, as hydra-maester users pre-create them: test/e2e/hydra-maester.test.ts.)
    const foreign = await resources.createSecret('shared-credentials', { username: 'app', password: 'db-password', NOTE: 'hands off' });
    await resources.create('intruder', { grantTypes: ['client_credentials'], scope: 'in.read', secretName: 'shared-credentials' });
    const conflict = await resources.waitFor('intruder', 'False', 'SecretConflict');
    expect(readyOf(conflict)?.message).toBe(
      'Secret shared-credentials exists and was not created for this resource; set adoptSecret: true to take it over, or choose another secretName',
    );
    // Another reconcile (an edit) changes nothing either.
    await resources.patchSpec('intruder', { scope: 'in.read in.write' });
    await resources.waitFor('intruder', 'False', 'SecretConflict');
    await sleep(1_000);
    const untouched = await resources.secret('shared-credentials');
    expect(untouched!.metadata?.resourceVersion).toBe(foreign.metadata?.resourceVersion);
    expect(untouched!.data).toEqual(foreign.data);
    expect(await clientsOwnedBy(server, namespace, 'intruder')).toEqual([]);
    expect(await resources.events('intruder')).toContainEqual(expect.stringMatching(/^Warning SecretConflict: Secret shared-credentials exists/));

    // Adoption asked for: the Secret becomes the resource's and holds the client's credentials.
    await resources.patchSpec('intruder', { adoptSecret: true });
    const ready = await resources.waitReady('intruder');
    const adopted = await resources.secret('shared-credentials');
    expect(adopted!.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'OAuth2Client', name: 'intruder', uid: ready.metadata.uid, controller: true }),
    ]);
    expect(adopted!.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('gatehouse-operator');
    const credentials = credentialsOf(adopted);
    expect(ready.status?.clientId).toBe(credentials.clientId);
    await tokenFor(server.url, credentials, 'in.write');
    expect((await clientsOwnedBy(server, namespace, 'intruder')).map((client) => client.id)).toEqual([credentials.clientId]);
    expect(await resources.events('intruder')).toContainEqual(expect.stringMatching(/^Normal Adopted: took over Secret shared-credentials/));
  });

  it('the Secret template: key names, extra keys (issuer, token endpoint, scope), labels and annotations', async () => {
    await resources.create('templated', {
      clientName: 'Templated',
      grantTypes: ['client_credentials'],
      scope: 'shop.read',
      secretName: 'templated-credentials',
      secretTemplate: {
        clientIdKey: 'client-id',
        clientSecretKey: 'client-secret',
        extraKeys: { ISSUER_URL: 'issuerUrl', TOKEN_ENDPOINT: 'tokenEndpoint', SCOPE: 'scope', NAME: 'clientName' },
        labels: { 'app.kubernetes.io/part-of': 'shop' },
        annotations: { 'example.com/team': 'payments' },
      },
    });
    await resources.waitReady('templated');
    const secret = await resources.secret('templated-credentials');
    const wellKnown = await server.root.wellKnown();
    expect(Object.keys(secret!.data ?? {}).sort()).toEqual(['ISSUER_URL', 'NAME', 'SCOPE', 'TOKEN_ENDPOINT', 'client-id', 'client-secret']);
    expect(decoded(secret, 'ISSUER_URL')).toBe(wellKnown.issuer);
    expect(decoded(secret, 'ISSUER_URL')).toBe(server.url);
    expect(decoded(secret, 'TOKEN_ENDPOINT')).toBe(wellKnown.token_endpoint);
    expect(decoded(secret, 'SCOPE')).toBe('shop.read');
    expect(decoded(secret, 'NAME')).toBe('Templated');
    expect(secret!.metadata?.labels).toEqual({ 'app.kubernetes.io/part-of': 'shop', 'app.kubernetes.io/managed-by': 'gatehouse-operator' });
    expect(secret!.metadata?.annotations).toEqual({ 'example.com/team': 'payments', 'gatehouse.dev/credential-keys': 'client-id,client-secret' });
    // The credentials under the template's key names work against the token endpoint the Secret names.
    const credentials = credentialsOf(secret, 'client-id', 'client-secret');
    const app = await fetch(decoded(secret, 'TOKEN_ENDPOINT')!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=shop.read',
    });
    expect(app.status).toBe(200);

    // A template edit follows into the Secret; the credentials stay.
    await resources.patchSpec('templated', {
      scope: 'shop.read shop.write',
      secretTemplate: { labels: { 'app.kubernetes.io/part-of': 'shop', tier: 'backend' } },
    });
    const updated = await eventually('the Secret to follow the template edit', async () => {
      const now = await resources.secret('templated-credentials');
      return decoded(now, 'SCOPE') === 'shop.read shop.write' && now?.metadata?.labels?.tier === 'backend' ? now : undefined;
    });
    expect(credentialsOf(updated, 'client-id', 'client-secret')).toEqual(credentials);
    await resources.waitReady('templated');
  });

  it('steady state: 20 idle seconds (with four resyncs) write nothing to Kubernetes or to the server', async () => {
    const names = ['byo', 'recreate', 'intruder', 'templated'];
    for (const name of names) await resources.waitReady(name);
    // Settle: the last writes (status, events) of the tests above have landed once the counter stops moving.
    let settled = operatorWrites(await operator.metrics());
    await eventually('the operator to go quiet', async () => {
      await sleep(2_000);
      const now = operatorWrites(await operator.metrics());
      const quiet = now === settled;
      settled = now;
      return quiet || undefined;
    });
    const before = await operator.metrics();
    const serverWritesBefore = await serverClientWrites(server);
    const serverReadsBefore = counterSum(
      await (await fetch(`${server.url}/metrics`)).text(),
      'http_request_duration_seconds_count',
      'method="GET",route="/clients"',
    );
    const resourceVersions = await Promise.all(names.map(async (name) => (await resources.get(name)).metadata.resourceVersion));

    await sleep(20_000);

    const after = await operator.metrics();
    const serverMetrics = await (await fetch(`${server.url}/metrics`)).text();
    console.log(
      `steady state: operator writes ${operatorWrites(before)} -> ${operatorWrites(after)}, server client writes ${serverWritesBefore} -> ${await serverClientWrites(server)}, ` +
        `reconciles ${counterSum(before, 'controller_runtime_reconcile_total')} -> ${counterSum(after, 'controller_runtime_reconcile_total')}`,
    );
    expect(operatorWrites(after), 'gatehouse_operator_writes_total').toBe(operatorWrites(before));
    expect(await serverClientWrites(server), 'POST/PUT/DELETE /clients on the server').toBe(serverWritesBefore);
    expect(await Promise.all(names.map(async (name) => (await resources.get(name)).metadata.resourceVersion))).toEqual(resourceVersions);
    // Not idle because asleep: the resyncs listed the server's clients and re-checked resources meanwhile.
    expect(counterSum(serverMetrics, 'http_request_duration_seconds_count', 'method="GET",route="/clients"')).toBeGreaterThanOrEqual(serverReadsBefore + 3);
    expect(counterSum(after, 'controller_runtime_reconcile_total')).toBeGreaterThan(counterSum(before, 'controller_runtime_reconcile_total'));
  }, 60_000);

  it('kubectl get o2c shows the printer columns (and the gatehouse category finds the resources)', async () => {
    const table = await kubectl(envtestBinDir(), kubeconfigPath(), ['get', 'o2c', '-n', namespace]);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'CLIENT ID', 'SECRET', 'AGE']);
    const templated = rows.find((row) => row.startsWith('templated '));
    const clientId = (await resources.get('templated')).status!.clientId!;
    expect(templated?.split(/\s+/).slice(0, 4)).toEqual(['templated', 'True', clientId, 'templated-credentials']);
    expect(rows.map((row) => row.split(/\s+/)[0]).sort()).toEqual(['byo', 'intruder', 'recreate', 'templated']);

    const wide = await kubectl(envtestBinDir(), kubeconfigPath(), ['get', 'oauth2clients', '-n', namespace, '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'REASON', 'CLIENT ID', 'SECRET', 'AGE']);
    expect(wide.stdout).toMatch(/^byo\s+True\s+Reconciled\s+byo-client\s+byo-credentials\s+/m);

    const category = await kubectl(envtestBinDir(), kubeconfigPath(), ['get', 'gatehouse', '-n', namespace, '-o', 'name']);
    expect(category.stdout.trim().split('\n').sort()).toEqual(['byo', 'intruder', 'recreate', 'templated'].map((name) => `oauth2client.gatehouse.dev/${name}`));
  });
});

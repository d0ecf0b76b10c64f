// The operator repairs what happens to the authorization server behind its back: a wiped database, changes made
// directly on the server, and an outage. Real `gatehouse serve` and `gatehouse operator` processes, real control plane.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, counterSum, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { authenticates, credentialsOf, eventually, readyOf, Resources, sleep, tokenFor } from './helpers.js';

const kc = kubeConfig();
beforeAll(() => applyCrds(kc));

describe('operator: the server database wiped, and changes made directly on the server', () => {
  // A short resync, so "within one resync" is seconds: the resync is what notices a client the server lost or a
  // change made on the server (neither sends the operator an event).
  const RESYNC_MS = 5_000;
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    server = await startServer();
    const namespace = await freshNamespace(kc, 'op-wipe');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace], resync: '5s' });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  const specs = {
    generated: { clientName: 'Generated', grantTypes: ['client_credentials'], scope: 'a.read', secretName: 'generated-credentials' },
    fixed: {
      clientName: 'Fixed',
      grantTypes: ['client_credentials', 'refresh_token'],
      clientId: 'fixed-id-wipe',
      scope: 'b.read b.write',
      secretName: 'fixed-credentials',
    },
    web: {
      clientName: 'Web',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://web.example/callback'],
      scope: 'openid offline',
      secretName: 'web-credentials',
    },
    spa: {
      clientName: 'SPA',
      grantTypes: ['authorization_code'],
      redirectUris: ['https://spa.example/callback'],
      tokenEndpointAuthMethod: 'none',
      secretName: 'spa-credentials',
    },
  };

  it('every client comes back with the same id and a working secret within one resync', async () => {
    for (const [name, spec] of Object.entries(specs)) await resources.create(name, spec);
    const before = new Map<string, { id: string; secretResourceVersion: string; client: unknown; secret?: string }>();
    for (const name of Object.keys(specs)) {
      const ready = await resources.waitReady(name);
      const secret = await resources.secret(`${name}-credentials`);
      const id = ready.status!.clientId!;
      const { client_secret: _none, ...client } = await server.root.getClient(id);
      before.set(name, {
        id,
        secretResourceVersion: secret!.metadata!.resourceVersion!,
        client,
        secret: name === 'spa' ? undefined : credentialsOf(secret).clientSecret,
      });
    }
    expect(before.get('fixed')!.id).toBe('fixed-id-wipe');
    await tokenFor(server.url, credentialsOf(await resources.secret('generated-credentials')), 'a.read');
    expect(await authenticates(server.url, { clientId: before.get('web')!.id, clientSecret: before.get('web')!.secret! })).toBe(true);

    await server.wipe();
    // Really empty but for the operator's own (root) client.
    const left: string[] = [];
    for await (const client of server.root.allClients(100)) left.push(client.id);
    expect(left).toEqual(['operator-root']);
    const wipedAt = Date.now();

    await eventually(
      'every client back on the server',
      async () => {
        for (const [name, { id }] of before) if (!(await server.root.findClient(id))) throw new Error(`${name} (${id}) is still missing`);
        return true;
      },
      // One resync period, plus a reconcile's worth of slack.
      RESYNC_MS + 5_000,
    );
    const tookMs = Date.now() - wipedAt;
    for (const [name, { id, secret, client, secretResourceVersion }] of before) {
      const { client_secret: _none, ...now } = await server.root.getClient(id);
      expect(now, `${name} as it was`).toEqual(client);
      // The Secret is the source of the secret: untouched, and its secret authenticates again.
      const current = await resources.secret(`${name}-credentials`);
      expect(current!.metadata!.resourceVersion, `${name}'s Secret untouched`).toBe(secretResourceVersion);
      if (secret) expect(await authenticates(server.url, { clientId: id, clientSecret: secret }), `${name}'s secret works`).toBe(true);
      expect(readyOf(await resources.get(name))?.status).toBe('True');
    }
    console.log(`wipe: all ${before.size} clients back ${tookMs} ms after the server came back (resync ${RESYNC_MS} ms)`);
  });

  it('reverts a change made directly on the server within one resync', async () => {
    const id = (await resources.get('fixed')).status!.clientId!;
    const original = await server.root.getClient(id);
    await server.root.updateClient(id, { ...original, scope: 'tampered', client_name: 'Tampered', grant_types: ['client_credentials'] });
    expect((await server.root.getClient(id)).scope).toBe('tampered');
    const changedAt = Date.now();
    await eventually(
      'the server-side change to be reverted',
      async () => {
        const now = await server.root.getClient(id);
        if (now.scope !== 'b.read b.write' || now.client_name !== 'Fixed' || now.grant_types.length !== 2) throw new Error(`still ${JSON.stringify(now)}`);
        return now;
      },
      RESYNC_MS + 5_000,
    );
    expect(await server.root.getClient(id)).toEqual(original);
    console.log(`drift: reverted ${Date.now() - changedAt} ms after the change (resync ${RESYNC_MS} ms)`);
    expect(await resources.events('fixed')).toContainEqual(
      expect.stringMatching(/^Normal Updated: updated client fixed-id-wipe on the server: corrected .*scope/),
    );
    // The secret was not touched by the correction.
    await tokenFor(server.url, credentialsOf(await resources.secret('fixed-credentials')), 'b.read');
  });
});

describe('operator: self-heal with default settings', () => {
  // No resync or drift-check override: what a user gets out of the box. The drift check (30 s) lists the server's
  // clients and queues only what is missing or drifted, so a lost client is back within a minute and a quiet
  // cluster sees no writes at all.
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    server = await startServer();
    const namespace = await freshNamespace(kc, 'op-heal');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  it('restores a client deleted on the server within 60 s, with a minted secret, and writes nothing while nothing drifted', async () => {
    await resources.create('healed', { clientName: 'Healed', grantTypes: ['client_credentials'], scope: 'h.read', secretName: 'healed-credentials' });
    const id = (await resources.waitReady('healed')).status!.clientId!;
    const credentials = credentialsOf(await resources.secret('healed-credentials'));
    // The operator asked the server to mint the secret, so the server stores it under its fast hash.
    expect(credentials.clientSecret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
    expect(server.storedSecretHash(id)).toMatch(/^\$hmac-sha256\$/);

    // Quiet: one full drift check (30 s) passes without a single write, to the API server or to the server.
    const quietFrom = counterSum(await operator.metrics(), 'gatehouse_operator_writes_total');
    await sleep(32_000);
    expect(counterSum(await operator.metrics(), 'gatehouse_operator_writes_total'), 'writes during a quiet drift check').toBe(quietFrom);

    await server.root.deleteClient(id);
    const deletedAt = Date.now();
    // Within a minute: the promise of the default drift check (30 s), with room for the reconcile itself.
    await eventually('the deleted client back on the server', () => server.root.findClient(id), 60_000);
    const tookMs = Date.now() - deletedAt;
    // Back with the secret from the Secret, which was not touched.
    await tokenFor(server.url, credentialsOf(await resources.secret('healed-credentials')), 'h.read');
    console.log(`self-heal with default settings: client back ${tookMs} ms after its deletion on the server`);
  }, 150_000);
});

describe('operator: the authorization server stopped for a while', () => {
  // The issue asks for a minute; 22 s keeps the suite short and is long enough to see the exponential backoff
  // (200 ms doubling) go from retries every fraction of a second to one per 10+ s. The operator runs with its
  // default 5 minute resync, so convergence comes from the backoff retries alone.
  const OUTAGE_MS = 22_000;
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    server = await startServer();
    const namespace = await freshNamespace(kc, 'op-outage');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });
  afterEach(async () => {
    // Whatever happened, the next test must not find the server down.
    await server.start();
  });

  const errors = async () => {
    const text = await operator.metrics();
    return {
      reconcileErrors: counterSum(text, 'controller_runtime_reconcile_total', 'result="error"'),
      retries: counterSum(text, 'workqueue_retries_total'),
    };
  };

  it('reports ServerUnavailable, backs off, and converges after the server returns with no manual step', async () => {
    await resources.create('existing', { grantTypes: ['client_credentials'], scope: 'before', secretName: 'existing-credentials' });
    await resources.waitReady('existing');
    const existingId = (await resources.get('existing')).status!.clientId!;
    const baseline = await errors();

    await server.stop();
    const stoppedAt = Date.now();
    // Created and edited while the server is away.
    await resources.create('newcomer', { grantTypes: ['client_credentials'], scope: 'during', secretName: 'newcomer-credentials' });
    await resources.patchSpec('existing', { scope: 'before after' });
    const newcomer = await resources.waitFor('newcomer', 'False', 'ServerUnavailable', 10_000);
    expect(readyOf(newcomer)?.message).toMatch(/^the authorization server is unavailable: /);
    const existing = await resources.waitFor('existing', 'False', 'ServerUnavailable', 10_000);
    expect(existing.status?.observedGeneration).toBe(2);
    // Nothing half-done: no Secret before the server said the id is free.
    expect(await resources.secret('newcomer-credentials')).toBeUndefined();
    expect(await resources.events('newcomer')).toContainEqual(expect.stringMatching(/^Warning ServerUnavailable: /));

    // Backoff: errors grow, but fewer and fewer. Sample the middle and the end of the outage.
    await sleep(Math.max(0, stoppedAt + OUTAGE_MS / 2 - Date.now()));
    const middle = await errors();
    await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
    const end = await errors();
    const firstHalf = middle.reconcileErrors - baseline.reconcileErrors;
    const secondHalf = end.reconcileErrors - middle.reconcileErrors;
    console.log(
      `outage ${Date.now() - stoppedAt} ms: reconcile errors ${firstHalf} in the first half, ${secondHalf} in the second; retries ${end.retries - baseline.retries}`,
    );
    expect(firstHalf).toBeGreaterThanOrEqual(4);
    // Two keys with per-item 200 ms·2^n backoff: at most ~8 attempts each in 22 s, whatever the events. Without
    // backoff (a retry every 200 ms) it would be over 200.
    expect(end.reconcileErrors - baseline.reconcileErrors).toBeLessThanOrEqual(24);
    expect(secondHalf).toBeLessThanOrEqual(4);
    expect(end.retries).toBeGreaterThan(baseline.retries);
    expect(operator.child.exitCode, 'the operator is still running').toBeNull();

    await server.start();
    const backAt = Date.now();
    // The next backoff retry is at most about as far away as the outage was long.
    const convergedNewcomer = await resources.waitReady('newcomer', OUTAGE_MS + 10_000);
    await resources.waitReady('existing', OUTAGE_MS + 10_000);
    console.log(`outage: converged ${Date.now() - backAt} ms after the server returned`);
    expect((await server.root.getClient(existingId)).scope).toBe('before after');
    const credentials = credentialsOf(await resources.secret('newcomer-credentials'));
    expect(convergedNewcomer.status?.clientId).toBe(credentials.clientId);
    await tokenFor(server.url, credentials, 'during');
    // Converged means quiet: no more errors.
    const after = await errors();
    await sleep(2_000);
    expect((await errors()).reconcileErrors).toBe(after.reconcileErrors);
  }, 90_000);
});

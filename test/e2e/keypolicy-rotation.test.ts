// KeyPolicy rotation against the real control plane, a real `gatehouse serve` and a real operator process: an
// application that requests a token every 100 ms with whatever its Secret holds (re-read each second, as a mounted
// file changes) runs through three scheduled rotations without one failed request; the replaced secret is refused
// once its grace period is over; a rotation is asked for with an annotation; two policies selecting one client agree
// on which governs it and both say so.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, mergePatch, Resources, runApplication, sleep, tokenStatus } from './helpers.js';

const POLICY = { group: 'gatehouse.dev', version: 'v1alpha1', plural: 'keypolicies' } as const;
const ROTATED_AT = 'gatehouse.dev/rotated-at';
const GRACE_MS = 4_000;

interface PolicyStatus {
  clientsGoverned?: number;
  nextRotation?: string;
  clients?: { name: string; clientId?: string; lastRotation?: string; nextRotation?: string }[];
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

describe('KeyPolicy rotation', () => {
  const kc = kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let namespace: string;
  let resources: Resources;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'kp-rotate');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  /** The documented on-demand rotation: a new value of the rotate annotation on the OAuth2Client. */
  const requestRotation = (name: string, value: string) =>
    resources.custom.patchNamespacedCustomObject(
      {
        group: 'gatehouse.dev',
        version: 'v1alpha1',
        plural: 'oauth2clients',
        namespace,
        name,
        body: { metadata: { annotations: { 'gatehouse.dev/rotate': value } } },
      },
      mergePatch,
    );

  const createPolicy = (name: string, spec: object) =>
    custom.createNamespacedCustomObject({ ...POLICY, namespace, body: { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'KeyPolicy', metadata: { name }, spec } });
  const policyStatus = async (name: string) => ((await custom.getNamespacedCustomObject({ ...POLICY, namespace, name })) as { status?: PolicyStatus }).status;
  const rotatedAt = async (secretName: string) => (await resources.secret(secretName))?.metadata?.annotations?.[ROTATED_AT];

  it('runs an application through three scheduled rotations without a failed token request, and refuses each replaced secret after its grace period', async () => {
    await resources.create('app', { grantTypes: ['client_credentials'], scope: 'read', secretName: 'app-credentials' }, { rotation: 'fast' });
    await resources.waitReady('app');
    const credentials = credentialsOf(await resources.secret('app-credentials'));
    await createPolicy('fast', { selector: { matchLabels: { rotation: 'fast' } }, rotationInterval: '12s', gracePeriod: '4s' });

    const application = runApplication(resources, 'app-credentials', server.url, credentials);
    let ran: Awaited<ReturnType<typeof application.stop>> = { failures: ['not run'], requests: 0, seen: [] };

    const rotations: string[] = [];
    try {
      await eventually(
        'three rotations',
        async () => {
          const at = await rotatedAt('app-credentials');
          if (at && !rotations.includes(at)) rotations.push(at);
          if (rotations.length < 3) throw new Error(`${rotations.length} rotations so far`);
          return true;
        },
        90_000,
      );
      // Long enough for the application to have read the last new secret and used it.
      await sleep(2_000);
    } finally {
      ran = await application.stop();
    }
    expect(ran.failures).toEqual([]);
    expect(ran.requests).toBeGreaterThan(100);
    expect(ran.seen.length).toBeGreaterThanOrEqual(4);

    // Every secret but the current one is refused once the last grace period is over.
    await sleep(GRACE_MS + 500);
    const current = credentialsOf(await resources.secret('app-credentials'));
    for (const old of ran.seen.filter((secret) => secret !== current.clientSecret)) {
      expect(await tokenStatus(server.url, { clientId: current.clientId, clientSecret: old })).toBe(401);
    }
    expect(await tokenStatus(server.url, current)).toBe(200);

    const status = await policyStatus('fast');
    expect(status?.clientsGoverned).toBe(1);
    expect(status?.clients?.[0]).toMatchObject({ name: 'app', clientId: current.clientId });
    expect(Date.parse(status!.nextRotation!)).toBeGreaterThan(Date.parse(status!.clients![0]!.lastRotation!));
    expect(status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Reconciled' });
  });

  it('governs a client created after its policy as soon as the client has its id on the server', async () => {
    await createPolicy('first', { selector: { matchLabels: { rotation: 'first' } }, rotationInterval: '720h', gracePeriod: '1h' });
    await eventually('the empty policy reconciled', async () => {
      if ((await policyStatus('first'))?.clientsGoverned !== 0) throw new Error('not reconciled yet');
      return true;
    });
    await resources.create('late', { grantTypes: ['client_credentials'], secretName: 'late-credentials' }, { rotation: 'first' });
    await resources.waitReady('late');
    const { clientId } = credentialsOf(await resources.secret('late-credentials'));
    const status = await eventually(
      'the policy governing the new client',
      async () => {
        const now = await policyStatus('first');
        if (now?.clientsGoverned !== 1) throw new Error(`clientsGoverned ${now?.clientsGoverned}`);
        return now;
      },
      15_000,
    );
    expect(status.clients?.[0]).toMatchObject({ name: 'late', clientId });
  });

  it('rotates now when the rotate annotation gets a new value, and records an Event', async () => {
    await resources.create('on-demand', { grantTypes: ['client_credentials'], secretName: 'on-demand-credentials' }, { rotation: 'manual' });
    await resources.waitReady('on-demand');
    const before = credentialsOf(await resources.secret('on-demand-credentials'));
    await createPolicy('manual', { selector: { matchLabels: { rotation: 'manual' } }, rotationInterval: '720h', gracePeriod: '1h' });
    await sleep(2_000);
    expect(credentialsOf(await resources.secret('on-demand-credentials')).clientSecret).toBe(before.clientSecret);

    await requestRotation('on-demand', 'first');
    const after = await eventually('the on-demand rotation', async () => {
      const now = credentialsOf(await resources.secret('on-demand-credentials'));
      if (now.clientSecret === before.clientSecret) throw new Error('not rotated yet');
      return now;
    });
    // Within the hour of grace both work.
    expect(await tokenStatus(server.url, after)).toBe(200);
    expect(await tokenStatus(server.url, before)).toBe(200);
    const events = (await resources.core.listNamespacedEvent({ namespace })).items;
    expect(events.some((event) => event.involvedObject.name === 'on-demand' && event.reason === 'SecretRotated')).toBe(true);

    // The same value again asks for nothing.
    await sleep(2_000);
    expect(credentialsOf(await resources.secret('on-demand-credentials')).clientSecret).toBe(after.clientSecret);
  });

  it('writes a governed client’s Secret with the policy’s key names, and rotates under them', async () => {
    await resources.create('templated', { grantTypes: ['client_credentials'], secretName: 'templated-credentials' }, { keys: 'policy' });
    await resources.waitReady('templated');
    const original = credentialsOf(await resources.secret('templated-credentials'));
    await createPolicy('keys', {
      selector: { matchLabels: { keys: 'policy' } },
      rotationInterval: '720h',
      gracePeriod: '1h',
      secretTemplate: { clientIdKey: 'APP_ID', clientSecretKey: 'APP_SECRET', extraKeys: { TOKEN_URL: 'tokenEndpoint' }, labels: { rotated: 'by-policy' } },
    });
    const rewritten = await eventually('the Secret under the policy’s key names', async () => {
      const secret = await resources.secret('templated-credentials');
      if (!secret?.data?.APP_SECRET) throw new Error(`keys ${Object.keys(secret?.data ?? {}).join(', ')}`);
      return secret;
    });
    expect(Object.keys(rewritten.data!).sort()).toEqual(['APP_ID', 'APP_SECRET', 'TOKEN_URL']);
    expect(rewritten.metadata?.labels?.rotated).toBe('by-policy');
    const before = credentialsOf(rewritten, 'APP_ID', 'APP_SECRET');
    // Moved, not replaced: an application still holding the credentials it read under the old names keeps working.
    expect(before).toEqual(original);
    expect(await tokenStatus(server.url, before)).toBe(200);

    await requestRotation('templated', 'now');
    const after = await eventually('a rotation under the policy’s keys', async () => {
      const now = credentialsOf(await resources.secret('templated-credentials'), 'APP_ID', 'APP_SECRET');
      if (now.clientSecret === before.clientSecret) throw new Error('not rotated yet');
      return now;
    });
    expect(await tokenStatus(server.url, after)).toBe(200);
    await resources.waitReady('templated');
  });

  it('lets the oldest of two policies selecting one client govern it, and says so on both', async () => {
    await resources.create('contested', { grantTypes: ['client_credentials'], secretName: 'contested-credentials' }, { tier: 'gold' });
    await resources.waitReady('contested');
    await createPolicy('older', { selector: { matchLabels: { tier: 'gold' } }, rotationInterval: '720h', gracePeriod: '1h' });
    await sleep(1_100);
    await createPolicy('newer', { selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, rotationInterval: '24h', gracePeriod: '1h' });
    const conflictOf = async (name: string) =>
      eventually(`a Conflict condition on ${name}`, async () => {
        const condition = (await policyStatus(name))?.conditions?.find((c) => c.type === 'Conflict' && c.status === 'True');
        if (!condition) throw new Error('none yet');
        return condition;
      });
    expect((await conflictOf('older')).message).toContain('contested is also selected by newer; this policy governs it (the oldest)');
    expect((await conflictOf('newer')).message).toContain('contested is also selected by older; older governs it (the oldest)');
    expect((await policyStatus('older'))?.clients?.map((client) => client.name)).toEqual(['contested']);
    expect((await policyStatus('newer'))?.clientsGoverned).toBe(0);
  });
});

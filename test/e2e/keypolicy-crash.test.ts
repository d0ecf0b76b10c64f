// KeyPolicy rotations while the leading operator replica is killed outright (SIGKILL) at the moment a rotation is
// due, and again the moment after one wrote the Secret: another replica takes over once the Lease runs out (up to
// 20 s, longer than the 3 s grace period) and finishes what was started. An application requesting a token every
// 100 ms with whatever its Secret holds never fails, no due time is rotated twice, and every replaced secret is
// refused in the end.
import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, Resources, runApplication, sleep, tokenStatus } from './helpers.js';

const LEASE = 'gatehouse-operator';
const ROTATED_AT = 'gatehouse.dev/rotated-at';
const INTERVAL_MS = 10_000;

describe('KeyPolicy rotation with the leader killed', () => {
  const kc = kubeConfig();
  const leases = kc.makeApiClient(CoordinationV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let server: ServerUnderTest;
  let namespace: string;
  let resources: Resources;
  const replicas = new Map<string, OperatorProcess>();
  let started = 0;

  const replica = async (): Promise<void> => {
    const identity = `replica-${++started}`;
    replicas.set(
      identity,
      await startOperatorProcess({
        kubeconfigPath: kubeconfigPath(),
        serverUrl: server.url,
        namespaces: [namespace],
        leaderElect: true,
        identity,
        leaseNamespace: namespace,
      }),
    );
  };
  const leader = () =>
    eventually('a leader', async () => {
      const holder = (await leases.readNamespacedLease({ name: LEASE, namespace })).spec?.holderIdentity;
      if (!holder || !replicas.has(holder)) throw new Error(`the holder is ${JSON.stringify(holder)}`);
      return holder;
    });
  /** Kills the leader without letting it release the Lease, and starts a replacement so that two replicas remain. */
  const killLeader = async () => {
    const identity = await leader();
    await replicas.get(identity)!.stop('SIGKILL');
    replicas.delete(identity);
    await replica();
  };
  const rotatedAt = async () => (await resources.secret('chaos-credentials'))?.metadata?.annotations?.[ROTATED_AT];

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'kp-crash');
    resources = new Resources(kc, namespace);
    await replica();
    await leader();
    await replica();
  });
  afterAll(async () => {
    for (const running of replicas.values()) await running.stop('SIGKILL');
    await server?.stop();
  });

  it('loses no token request and rotates each due time once', { timeout: 240_000 }, async () => {
    await resources.create('chaos', { grantTypes: ['client_credentials'], scope: 'read', secretName: 'chaos-credentials' }, { rotation: 'chaos' });
    await resources.waitReady('chaos');
    await custom.createNamespacedCustomObject({
      group: 'gatehouse.dev',
      version: 'v1alpha1',
      plural: 'keypolicies',
      namespace,
      body: {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'KeyPolicy',
        metadata: { name: 'chaos' },
        spec: { selector: { matchLabels: { rotation: 'chaos' } }, rotationInterval: '10s', gracePeriod: '3s' },
      },
    });

    const application = runApplication(resources, 'chaos-credentials', server.url, credentialsOf(await resources.secret('chaos-credentials')));
    let ran: Awaited<ReturnType<typeof application.stop>> = { failures: ['not run'], requests: 0, seen: [] };
    const rotations: number[] = [];
    const nextRotation = (timeoutMs: number) =>
      eventually(
        'the next rotation',
        async () => {
          const at = Date.parse((await rotatedAt()) ?? '');
          if (Number.isNaN(at) || rotations.includes(at)) throw new Error('not yet');
          rotations.push(at);
          return at;
        },
        timeoutMs,
      );
    try {
      const created = Date.parse(String((await resources.secret('chaos-credentials'))!.metadata!.creationTimestamp));
      // 1. Killed just as the first rotation falls due: whatever step it reached, the next leader finishes it.
      await sleep(Math.max(0, created + INTERVAL_MS - Date.now() - 50));
      await killLeader();
      await nextRotation(60_000);
      // 2. Killed the moment the Secret of a rotation is written, possibly before the old secret's life was shortened.
      await nextRotation(60_000);
      await killLeader();
      // 3. Rotations go on under the new leader.
      await nextRotation(60_000);
      await sleep(2_000);
    } finally {
      ran = await application.stop();
    }

    expect(ran.failures).toEqual([]);
    // About ten a second when the machine keeps up; half that is still an application that never stopped asking.
    expect(ran.requests).toBeGreaterThan(150);
    // One rotation per due time: never two within an interval of each other.
    const gaps = rotations.slice(1).map((at, index) => at - rotations[index]!);
    expect(
      gaps.every((gap) => gap >= INTERVAL_MS - 1_000),
      JSON.stringify(gaps),
    ).toBe(true);

    // In the end every replaced secret is refused, the one left behind by the second kill included.
    const current = credentialsOf(await resources.secret('chaos-credentials'));
    await eventually(
      'every replaced secret to be refused',
      async () => {
        for (const old of ran.seen.filter((secret) => secret !== current.clientSecret)) {
          if ((await tokenStatus(server.url, { clientId: current.clientId, clientSecret: old })) !== 401) throw new Error('an old secret still works');
        }
        return true;
      },
      30_000,
    );
    expect(await tokenStatus(server.url, current)).toBe(200);
  });
});

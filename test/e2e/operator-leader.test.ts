// Two and then three `gatehouse operator` replicas with leader election over one coordination.k8s.io/v1 Lease
// (15 s lease, 10 s renew deadline, 2 s retry: the operator's defaults): only the leader writes; a leader killed
// outright is replaced once its lease runs out, one stopped with SIGTERM hands over at once, and no resource is lost.
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, counterSum, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, operatorWrites, Resources, tokenFor } from './helpers.js';

const LEASE = 'gatehouse-operator';

describe('operator: leader election between replicas', () => {
  const kc = kubeConfig();
  const leases = kc.makeApiClient(CoordinationV1Api);
  let server: ServerUnderTest;
  let namespace: string;
  let resources: Resources;
  const replicas: OperatorProcess[] = [];

  const replica = async (identity: string): Promise<OperatorProcess> => {
    // The Lease lives in this file's namespace, so no other test's operator competes for it.
    const started = await startOperatorProcess({
      kubeconfigPath: kubeconfigPath(),
      serverUrl: server.url,
      namespaces: [namespace],
      leaderElect: true,
      identity,
      leaseNamespace: namespace,
    });
    replicas.push(started);
    return started;
  };
  const lease = (): Promise<V1Lease> => leases.readNamespacedLease({ name: LEASE, namespace });
  const holder = async (): Promise<string | undefined> => (await lease()).spec?.holderIdentity;
  const leading = async (replica: OperatorProcess): Promise<number> => counterSum(await replica.metrics(), 'leader_election_master_status', `name="${LEASE}"`);
  const waitForHolder = (identity: string, timeoutMs: number) =>
    eventually(
      `${identity} to hold the Lease`,
      async () => {
        const now = await holder();
        if (now !== identity) throw new Error(`the holder is ${JSON.stringify(now)}`);
        return true;
      },
      timeoutMs,
    );

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'op-leader');
    resources = new Resources(kc, namespace);
  });
  afterAll(async () => {
    for (const running of replicas) await running.stop('SIGKILL');
    await server?.stop();
  });

  it('only the leader writes; SIGKILL hands over within 20 s; SIGTERM releases the Lease at once; nothing is lost', async () => {
    const a = await replica('replica-a');
    await waitForHolder('replica-a', 10_000);
    const b = await replica('replica-b');
    expect(await leading(a)).toBe(1);

    await resources.create('first', { grantTypes: ['client_credentials'], scope: 'one', secretName: 'first-credentials' });
    await resources.create('second', { grantTypes: ['client_credentials'], scope: 'two', secretName: 'second-credentials' });
    await resources.waitReady('first');
    await resources.waitReady('second');
    // The standby watches nothing and writes nothing, to Kubernetes or to the server; the leader did all of it.
    const aMetrics = await a.metrics();
    expect(operatorWrites(aMetrics, 'server')).toBeGreaterThanOrEqual(2);
    expect(operatorWrites(aMetrics, 'kubernetes')).toBeGreaterThanOrEqual(4);
    expect(operatorWrites(await b.metrics())).toBe(0);
    expect(await leading(b)).toBe(0);
    expect(await holder()).toBe('replica-a');
    const transitions = (await lease()).spec?.leaseTransitions ?? 0;

    // The leader dies without a chance to release the Lease.
    await a.stop('SIGKILL');
    const killedAt = Date.now();
    // Work arriving while nobody leads: a new resource and an edit.
    await resources.create('during-failover', { grantTypes: ['client_credentials'], scope: 'three', secretName: 'during-failover-credentials' });
    await resources.patchSpec('first', { scope: 'one more' });
    expect(operatorWrites(await b.metrics()), 'the standby writes nothing before it holds the Lease').toBe(0);

    await waitForHolder('replica-b', 20_000);
    const tookOverMs = Date.now() - killedAt;
    console.log(`SIGKILL: replica-b took over ${tookOverMs} ms after replica-a was killed`);
    expect(tookOverMs).toBeLessThanOrEqual(20_000);
    expect((await lease()).spec?.leaseTransitions).toBe(transitions + 1);

    // Nothing lost: what arrived meanwhile is done, and what was done before is intact.
    const failover = await resources.waitReady('during-failover');
    const credentials = credentialsOf(await resources.secret('during-failover-credentials'));
    expect(failover.status?.clientId).toBe(credentials.clientId);
    await tokenFor(server.url, credentials, 'three');
    await resources.waitReady('first');
    const first = credentialsOf(await resources.secret('first-credentials'));
    await eventually('the edit made during the failover on the server', async () =>
      (await server.root.getClient(first.clientId)).scope === 'one more' ? true : undefined,
    );
    await tokenFor(server.url, first, 'one');
    await tokenFor(server.url, credentialsOf(await resources.secret('second-credentials')), 'two');
    expect(await leading(b)).toBe(1);
    expect(operatorWrites(await b.metrics(), 'server')).toBeGreaterThanOrEqual(2);

    // Graceful: a third replica waits; SIGTERM to the leader finishes its work and releases the Lease.
    const c = await replica('replica-c');
    // A standby is ready (healthy and campaigning) although it does not lead.
    expect((await fetch(`http://127.0.0.1:${c.healthPort}/readyz`)).status).toBe(200);
    expect(await leading(c)).toBe(0);
    const cWritesBefore = operatorWrites(await c.metrics());
    expect(cWritesBefore).toBe(0);
    const terminatedAt = Date.now();
    expect(await b.stop('SIGTERM'), 'exit code after SIGTERM').toBe(0);
    expect(b.output()).toContain('released the lease');
    const afterRelease = await lease();
    expect(afterRelease.spec?.holderIdentity, 'the Lease was released, not left to expire').not.toBe('replica-b');
    // A released Lease is taken at the standby's next attempt (retry period 2 s plus jitter), far below the 15 s
    // a killed leader costs.
    await waitForHolder('replica-c', 6_000);
    console.log(`SIGTERM: replica-c took over ${Date.now() - terminatedAt} ms after replica-b was told to stop`);
    await resources.create('after-handover', { grantTypes: ['client_credentials'], scope: 'four', secretName: 'after-handover-credentials' });
    await resources.waitReady('after-handover');
    await tokenFor(server.url, credentialsOf(await resources.secret('after-handover-credentials')), 'four');
    expect(operatorWrites(await c.metrics(), 'server')).toBeGreaterThanOrEqual(1);
  }, 90_000);
});

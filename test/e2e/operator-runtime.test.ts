// The operator's runtime against a real kube-apiserver + etcd: the informer follows a collection and survives an
// API server restart, two LeaderElectors share one Lease the way client-go replicas do, and the event recorder
// writes and aggregates real core/v1 Events.
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Lease,
} from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { KubeEventRecorder } from '../../src/operator/runtime/events.js';
import { Informer } from '../../src/operator/runtime/informer.js';
import { LeaderElector, type LeaderElectorOptions } from '../../src/operator/runtime/leader-election.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { freshNamespace, kubeClient, kubeConfig } from '../support/e2e.js';
import { loadKubeClient, type KubeClient } from '../../src/operator/runtime/kube-client.js';
import { Manager } from '../../src/operator/manager/manager.js';
import pino from 'pino';
import { Registry } from 'prom-client';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Every handler call as a line, e.g. "update a 1->2" for data.v going from 1 to 2. */
function recordCalls(informer: Informer<V1ConfigMap>): string[] {
  const calls: string[] = [];
  const v = (o: V1ConfigMap): string => o.data?.v ?? '-';
  informer.onAdd((o) => calls.push(`add ${o.metadata?.name} ${v(o)}`));
  informer.onUpdate((a, b) => calls.push(`update ${b.metadata?.name} ${v(a)}->${v(b)}`));
  informer.onDelete((o) => calls.push(`delete ${o.metadata?.name}`));
  return calls;
}

const cachedNames = (informer: Informer<V1ConfigMap>): string[] =>
  informer
    .list()
    .map((o) => o.metadata?.name ?? '')
    .sort();

async function serverNames(core: CoreV1Api, namespace: string, labelSelector?: string): Promise<string[]> {
  const list = await core.listNamespacedConfigMap({ namespace, labelSelector });
  return list.items.map((o) => o.metadata?.name ?? '').sort();
}

/** client-node 1.4 types MicroTime/Time fields as Date, but MicroTimes arrive as the server's string. */
const ms = (time: Date | string | undefined): number => (time instanceof Date ? time.getTime() : Date.parse(String(time)));

function configMap(name: string, v: string, labels?: Record<string, string>): V1ConfigMap {
  return { metadata: { name, labels }, data: { v } };
}

describe('Informer on the shared control plane', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let informer: Informer<V1ConfigMap> | undefined;

  beforeAll(() => {
    kc = kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
  });

  test('lists in pages, then sees ConfigMaps added, updated and deleted', async () => {
    namespace = await freshNamespace(kc);
    for (let i = 0; i < 7; i++) await core.createNamespacedConfigMap({ namespace, body: configMap(`pre-${i}`, '1') });
    informer = new Informer<V1ConfigMap>({ name: 'configmaps', kube: await kubeClient(), path: `/api/v1/namespaces/${namespace}/configmaps`, pageSize: 3 });
    const calls = recordCalls(informer);
    await informer.start();

    expect(informer.hasSynced()).toBe(true);
    expect(cachedNames(informer)).toEqual(await serverNames(core, namespace));
    expect(calls).toEqual([...Array(7).keys()].map((i) => `add pre-${i} 1`));
    // Items of a typed list come without apiVersion/kind; the cache has them like watched objects do.
    expect(informer.get(namespace, 'pre-0')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { v: '1' } });
    calls.length = 0;

    await core.createNamespacedConfigMap({ namespace, body: configMap('a', '1') });
    await vi.waitFor(() => expect(informer?.get(namespace, 'a')?.data).toEqual({ v: '1' }), { timeout: 10_000 });
    await core.patchNamespacedConfigMap({ namespace, name: 'a', body: { data: { v: '2' } } }, mergePatch);
    await vi.waitFor(() => expect(informer?.get(namespace, 'a')?.data).toEqual({ v: '2' }), { timeout: 10_000 });
    // A patch that changes nothing writes nothing, so no update reaches the handlers.
    await core.patchNamespacedConfigMap({ namespace, name: 'a', body: { data: { v: '2' } } }, mergePatch);
    await core.deleteNamespacedConfigMap({ namespace, name: 'a' });
    await vi.waitFor(() => expect(informer?.get(namespace, 'a')).toBeUndefined(), { timeout: 10_000 });

    expect(calls).toEqual(['add a 1', 'update a 1->2', 'delete a']);
    expect(informer.get(namespace, 'a')).toBeUndefined();
    expect(cachedNames(informer)).toEqual(await serverNames(core, namespace));
    expect(informer.stats).toEqual({ lists: 1, watchRestarts: 0, watchdogTimeouts: 0, gone: 0 });
  });

  test('with a label selector, an object that stops matching is a delete and one that starts matching an add', async () => {
    namespace = await freshNamespace(kc);
    informer = new Informer<V1ConfigMap>({
      name: 'selected',
      kube: await kubeClient(),
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      labelSelector: 'gatehouse.dev/managed=true',
    });
    const calls = recordCalls(informer);
    await core.createNamespacedConfigMap({ namespace, body: configMap('in', '1', { 'gatehouse.dev/managed': 'true' }) });
    await core.createNamespacedConfigMap({ namespace, body: configMap('out', '1') });
    await informer.start();
    expect(cachedNames(informer)).toEqual(['in']);

    await core.patchNamespacedConfigMap({ namespace, name: 'in', body: { metadata: { labels: { 'gatehouse.dev/managed': null } } } }, mergePatch);
    await core.patchNamespacedConfigMap({ namespace, name: 'out', body: { metadata: { labels: { 'gatehouse.dev/managed': 'true' } } } }, mergePatch);
    await vi.waitFor(() => expect(cachedNames(informer!)).toEqual(['out']), { timeout: 10_000 });
    expect(calls).toEqual(['add in 1', 'delete in', 'add out 1']);
  });
});

describe('Informer across a kube-apiserver restart (a control plane of its own)', () => {
  let controlPlane: ControlPlane;
  let informer: Informer<V1ConfigMap> | undefined;

  beforeAll(async () => {
    controlPlane = await startControlPlane();
  });

  afterAll(async () => {
    await informer?.stop();
    await controlPlane?.stop();
  });

  test('recovers its watch and catches up on changes made while it was disconnected', async () => {
    const kc = controlPlane.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await freshNamespace(kc);
    for (const name of ['stays', 'changes', 'doomed']) await core.createNamespacedConfigMap({ namespace, body: configMap(name, '1') });
    informer = new Informer<V1ConfigMap>({
      name: 'restart',
      kube: await loadKubeClient(controlPlane.kubeconfigPath),
      path: `/api/v1/namespaces/${namespace}/configmaps`,
    });
    const calls = recordCalls(informer);
    await informer.start();
    expect(cachedNames(informer)).toEqual(['changes', 'doomed', 'stays']);
    calls.length = 0;

    await controlPlane.restartApiServer({ downtimeMs: 1_000 });
    // Changed right after the restart, most likely before the informer's backoff lets it reconnect; either way it
    // must learn about them, from the resumed watch or from a re-list after 410.
    await core.deleteNamespacedConfigMap({ namespace, name: 'doomed' });
    await core.patchNamespacedConfigMap({ namespace, name: 'changes', body: { data: { v: '2' } } }, mergePatch);
    await core.createNamespacedConfigMap({ namespace, body: configMap('born', '1') });
    await vi.waitFor(() => expect(cachedNames(informer!)).toEqual(['born', 'changes', 'stays']), { timeout: 40_000, interval: 200 });
    expect(informer.get(namespace, 'changes')?.data).toEqual({ v: '2' });
    expect([...calls].sort()).toEqual(['add born 1', 'delete doomed', 'update changes 1->2']);

    // And the new watch keeps working.
    await core.createNamespacedConfigMap({ namespace, body: configMap('later', '1') });
    await vi.waitFor(() => expect(informer?.get(namespace, 'later')).toBeDefined(), { timeout: 10_000 });
    expect(cachedNames(informer)).toEqual(await serverNames(core, namespace));
    expect(informer.stats.watchRestarts).toBeGreaterThanOrEqual(1);
    expect(informer.stats.watchdogTimeouts).toBe(0);
    // Each 410 (the restarted server's watch cache starts at the current version) costs exactly one re-list.
    expect(informer.stats.lists).toBe(1 + informer.stats.gone);
  }, 120_000);
});

describe('LeaderElector', () => {
  let kc: KubeConfig;
  let kube: KubeClient;
  let leases: CoordinationV1Api;
  const electors: LeaderElector[] = [];

  beforeAll(async () => {
    kc = kubeConfig();
    kube = await kubeClient();
    leases = kc.makeApiClient(CoordinationV1Api);
  });

  afterEach(async () => {
    await Promise.all(electors.splice(0).map((elector) => elector.stop()));
  });

  interface Replica {
    identity: string;
    elector: LeaderElector;
    stoppedLeading: number;
  }

  function replica(namespace: string, identity: string, timings: Partial<LeaderElectorOptions> = {}): Replica {
    const r: Replica = { identity, stoppedLeading: 0, elector: undefined as unknown as LeaderElector };
    r.elector = new LeaderElector({
      kube,
      namespace,
      name: 'gatehouse-operator',
      identity,
      onStoppedLeading: () => r.stoppedLeading++,
      ...timings,
    });
    electors.push(r.elector);
    void r.elector.run();
    return r;
  }

  /** Samples both replicas until stopped, remembering whether they were ever leaders at the same time. */
  function watchForSplitBrain(replicas: Replica[]): { stop(): boolean } {
    let both = false;
    const timer = setInterval(() => {
      if (replicas.filter((r) => r.elector.isLeader()).length > 1) both = true;
    }, 20);
    return {
      stop: () => {
        clearInterval(timer);
        return both;
      },
    };
  }

  async function leaderOf(replicas: Replica[]): Promise<{ leader: Replica; standby: Replica }> {
    await vi.waitFor(() => expect(replicas.filter((r) => r.elector.isLeader())).toHaveLength(1), { timeout: 15_000, interval: 50 });
    const leader = replicas.find((r) => r.elector.isLeader())!;
    return { leader, standby: replicas.find((r) => r !== leader)! };
  }

  const readLease = (namespace: string): Promise<V1Lease> => leases.readNamespacedLease({ name: 'gatehouse-operator', namespace });

  test('of two replicas exactly one leads and keeps renewing; releasing hands over at the next attempt', async () => {
    const namespace = await freshNamespace(kc);
    const replicas = [replica(namespace, 'replica-a'), replica(namespace, 'replica-b')];
    const split = watchForSplitBrain(replicas);
    const { leader, standby } = await leaderOf(replicas);

    const first = await readLease(namespace);
    expect(first.spec?.holderIdentity).toBe(leader.identity);
    expect(first.spec?.leaseDurationSeconds).toBe(15);
    expect(first.spec?.leaseTransitions).toBe(0);
    await vi.waitFor(async () => expect(ms((await readLease(namespace)).spec?.renewTime)).toBeGreaterThan(ms(first.spec?.renewTime)), {
      timeout: 10_000,
      interval: 250,
    });
    const renewed = await readLease(namespace);
    expect(renewed.spec?.holderIdentity).toBe(leader.identity);
    expect(ms(renewed.spec?.acquireTime)).toBe(ms(first.spec?.acquireTime));
    expect(standby.elector.isLeader()).toBe(false);
    // A standby that lost the race to create the Lease only reads it at its next attempt.
    await vi.waitFor(() => expect(standby.elector.observedRecord?.holderIdentity).toBe(leader.identity), { timeout: 6_000, interval: 50 });

    await leader.elector.stop();
    const released = await readLease(namespace);
    expect(released.spec?.holderIdentity ?? '').toBe('');
    expect(released.spec?.leaseDurationSeconds).toBe(1);
    expect(leader.elector.isLeader()).toBe(false);

    // The standby only has to notice: its next attempt comes within retryPeriod·1.2, far below leaseDuration.
    await vi.waitFor(() => expect(standby.elector.isLeader()).toBe(true), { timeout: 6_000, interval: 50 });
    const taken = await readLease(namespace);
    expect(taken.spec?.holderIdentity).toBe(standby.identity);
    expect(taken.spec?.leaseDurationSeconds).toBe(15);
    expect(taken.spec?.leaseTransitions).toBe(1);
    expect(ms(taken.spec?.acquireTime)).toBeGreaterThan(ms(first.spec?.acquireTime));
    expect(split.stop()).toBe(false);
    // A graceful stop is not a loss of leadership.
    expect(leader.stoppedLeading).toBe(0);
    expect(standby.stoppedLeading).toBe(0);
  });

  test('a leader that stops renewing without releasing is replaced only once the lease expired, within 20 s', async () => {
    const namespace = await freshNamespace(kc);
    const replicas = [replica(namespace, 'replica-a'), replica(namespace, 'replica-b')];
    const { leader, standby } = await leaderOf(replicas);
    const split = watchForSplitBrain(replicas);

    await leader.elector.stop({ release: false });
    const abandoned = await readLease(namespace);
    expect(abandoned.spec?.holderIdentity).toBe(leader.identity);
    expect(abandoned.spec?.leaseDurationSeconds).toBe(15);

    await vi.waitFor(() => expect(standby.elector.isLeader(), 'the standby took over within 20 s').toBe(true), { timeout: 20_000, interval: 50 });
    const taken = await readLease(namespace);
    expect(taken.spec?.holderIdentity).toBe(standby.identity);
    expect(taken.spec?.leaseTransitions).toBe((abandoned.spec?.leaseTransitions ?? 0) + 1);
    // Both timestamps come from clocks on this machine: the takeover waited out the whole lease.
    expect(ms(taken.spec?.acquireTime) - ms(abandoned.spec?.renewTime)).toBeGreaterThanOrEqual(15_000);
    expect(split.stop()).toBe(false);
  }, 45_000);

  test('expiry is judged by when the record last changed here, so a holder with a clock an hour behind keeps its lease', async () => {
    const namespace = await freshNamespace(kc);
    const skewed = (): V1MicroTime => new V1MicroTime(Date.now() - 3_600_000);
    let current = await leases.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: 'gatehouse-operator' },
        spec: { holderIdentity: 'skewed', leaseDurationSeconds: 3, acquireTime: skewed(), renewTime: skewed() },
      },
    });
    // The skewed holder renews every second; by its renewTime the lease looks expired for an hour.
    const renewals = setInterval(() => {
      void leases.replaceNamespacedLease({ name: 'gatehouse-operator', namespace, body: { ...current, spec: { ...current.spec, renewTime: skewed() } } }).then(
        (lease) => (current = lease),
        () => undefined,
      );
    }, 1_000);
    try {
      const standby = replica(namespace, 'replica-a', { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 });
      await vi.waitFor(() => expect(standby.elector.observedRecord?.holderIdentity).toBe('skewed'), { timeout: 5_000, interval: 50 });
      for (let i = 0; i < 25; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(standby.elector.isLeader(), 'took a lease that was being renewed').toBe(false);
      }
      clearInterval(renewals);
      await vi.waitFor(() => expect(standby.elector.isLeader()).toBe(true), { timeout: 10_000, interval: 50 });
      expect((await readLease(namespace)).spec?.holderIdentity).toBe('replica-a');
    } finally {
      clearInterval(renewals);
    }
  });

  test('a leader whose renewals keep failing gives up after renewDeadline and reports it', async () => {
    const namespace = await freshNamespace(kc);
    const timings = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
    const solo = replica(namespace, 'replica-a', timings);
    await vi.waitFor(() => expect(solo.elector.isLeader()).toBe(true), { timeout: 10_000, interval: 50 });
    const run = solo.elector.run();

    // Someone else takes the Lease by force; every renewal now conflicts or finds a valid foreign holder.
    const current = await readLease(namespace);
    const now = new V1MicroTime();
    await leases.replaceNamespacedLease({
      name: 'gatehouse-operator',
      namespace,
      body: { ...current, spec: { holderIdentity: 'intruder', leaseDurationSeconds: 60, acquireTime: now, renewTime: now, leaseTransitions: 7 } },
    });

    await vi.waitFor(() => expect(solo.stoppedLeading).toBe(1), { timeout: 15_000, interval: 50 });
    expect(solo.elector.isLeader()).toBe(false);
    await run;
    const after = await readLease(namespace);
    expect(after.spec?.holderIdentity).toBe('intruder');
    expect(after.spec?.leaseTransitions).toBe(7);
  });
});

describe('Manager', () => {
  test('reports a lost Lease at once, while a reconcile begun as leader is still running, so the process can exit', async () => {
    const kc = kubeConfig();
    const namespace = await freshNamespace(kc);
    const leases = kc.makeApiClient(CoordinationV1Api);
    // A reconcile that runs until the test ends: a KeyPolicy rotating many clients, as the leader saw it.
    let reconciling = false;
    let finish: () => void = () => {};
    const manager = new Manager({
      kube: await kubeClient(),
      namespaces: [namespace],
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      leaderElection: { namespace, name: 'gatehouse-operator', identity: 'replica-a', leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    });
    manager.add({
      name: 'slow',
      workers: 1,
      watches: [],
      initialKeys: () => [`${namespace}/rotation`],
      reconcile: () => {
        reconciling = true;
        return new Promise((resolve) => (finish = () => resolve({})));
      },
      onError: () => {},
      periodic: [],
    });
    let lost = false;
    void manager.lostLeadership.then(() => (lost = true));
    try {
      await manager.start();
      await vi.waitFor(() => expect(reconciling).toBe(true), { timeout: 15_000, interval: 50 });

      const current = await leases.readNamespacedLease({ name: 'gatehouse-operator', namespace });
      const now = new V1MicroTime();
      await leases.replaceNamespacedLease({
        name: 'gatehouse-operator',
        namespace,
        body: { ...current, spec: { holderIdentity: 'intruder', leaseDurationSeconds: 60, acquireTime: now, renewTime: now } },
      });
      // Within renewDeadline and a few retries; the reconcile has not finished and never will on its own.
      await vi.waitFor(() => expect(lost, 'lostLeadership resolved while a reconcile was in flight').toBe(true), { timeout: 15_000, interval: 50 });
      expect(manager.isLeader()).toBe(false);
    } finally {
      finish();
      await manager.stop();
    }
  }, 45_000);
});

describe('KubeEventRecorder', () => {
  test('creates an Event for an object and aggregates an identical repeat into count 2', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await freshNamespace(kc);
    const created = await core.createNamespacedConfigMap({ namespace, body: configMap('subject', '1') });
    const subject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace, uid: created.metadata?.uid ?? '' } };
    const recorder = new KubeEventRecorder({ kube: await kubeClient() });

    recorder.record(subject, 'Normal', 'Created', 'created client abc on the server');
    recorder.record(subject, 'Normal', 'Created', 'created client abc on the server');
    recorder.record(subject, 'Warning', 'ServerUnavailable', 'connect ECONNREFUSED');
    await recorder.flush();

    const events = (await core.listNamespacedEvent({ namespace })).items.sort((a, b) => (a.reason ?? '').localeCompare(b.reason ?? ''));
    expect(events).toHaveLength(2);
    const [normal, warning] = events;
    expect(normal).toMatchObject({
      involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name: 'subject', namespace, uid: subject.metadata.uid },
      reason: 'Created',
      message: 'created client abc on the server',
      type: 'Normal',
      source: { component: 'gatehouse-operator' },
      count: 2,
    });
    expect(normal?.metadata?.name).toMatch(/^subject\.[0-9a-f]+$/);
    expect(ms(normal?.lastTimestamp)).toBeGreaterThanOrEqual(ms(normal?.firstTimestamp));
    expect(warning).toMatchObject({ reason: 'ServerUnavailable', type: 'Warning', message: 'connect ECONNREFUSED', count: 1 });
  });

  test('a failing write is logged, never thrown, and later events still go out', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await freshNamespace(kc);
    const recorder = new KubeEventRecorder({ kube: await kubeClient() });
    const nowhere = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ghost', namespace: 'no-such-namespace', uid: 'u' } };

    expect(() => recorder.record(nowhere, 'Warning', 'Lost', 'no namespace to write into')).not.toThrow();
    recorder.record({ ...nowhere, metadata: { ...nowhere.metadata, namespace } }, 'Normal', 'Found', 'this one lands');
    await recorder.flush();

    const events = (await core.listNamespacedEvent({ namespace })).items;
    expect(events.map((e) => [e.reason, e.count])).toEqual([['Found', 1]]);
  });
});

// The event recorder's aggregation, rate limit and failure handling against a fake Events API on a fake clock; the
// e2e suite checks the same recorder against a real API server.
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { KubeEventRecorder, type EventsApi, type InvolvedObject } from '../../src/operator/runtime/events.js';
import { KubeApiError, type KubeClient } from '../../src/operator/runtime/kube-client.js';

/** The recorder is given its calls (api); the connection itself is never used. */
const UNUSED_KUBE: KubeClient = {
  server: 'https://unused.invalid',
  request: () => Promise.reject(new Error('not used')),
  open: () => Promise.reject(new Error('not used')),
};

type Call = { verb: 'create'; namespace: string; body: CoreV1Event } | { verb: 'patch'; namespace: string; name: string; body: unknown };

function fakeApi(): { api: EventsApi; calls: Call[]; failNext: unknown[] } {
  const calls: Call[] = [];
  const failNext: unknown[] = [];
  const api = {
    createNamespacedEvent: async ({ namespace, body }: { namespace: string; body: CoreV1Event }) => {
      calls.push({ verb: 'create', namespace, body });
      const failure = failNext.shift();
      if (failure) throw failure;
      return body;
    },
    patchNamespacedEvent: async ({ namespace, name, body }: { namespace: string; name: string; body: unknown }) => {
      calls.push({ verb: 'patch', namespace, name, body });
      const failure = failNext.shift();
      if (failure) throw failure;
      return {} as CoreV1Event;
    },
  };
  return { api, calls, failNext };
}

const client: InvolvedObject = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'OAuth2Client',
  metadata: { name: 'web', namespace: 'team-a', uid: 'uid-1' },
};

describe('KubeEventRecorder', () => {
  let fake: ReturnType<typeof fakeApi>;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    fake = fakeApi();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const recorder = (options: Partial<ConstructorParameters<typeof KubeEventRecorder>[0]> = {}): KubeEventRecorder =>
    new KubeEventRecorder({ kube: UNUSED_KUBE, api: fake.api, ...options });

  test('creates a complete core/v1 Event, then patches count and lastTimestamp for identical repeats', async () => {
    const events = recorder({ host: 'operator-0' });
    events.record(client, 'Normal', 'Created', 'created client web');
    events.record(client, 'Normal', 'Created', 'created client web');
    vi.setSystemTime(new Date('2030-01-01T00:05:00Z'));
    events.record(client, 'Normal', 'Created', 'created client web');
    await events.flush();

    expect(fake.calls).toHaveLength(3);
    const [create, firstPatch, secondPatch] = fake.calls;
    expect(create).toEqual({
      verb: 'create',
      namespace: 'team-a',
      body: {
        metadata: { name: expect.stringMatching(/^web\.[0-9a-f]+$/), namespace: 'team-a' },
        involvedObject: { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', name: 'web', namespace: 'team-a', uid: 'uid-1' },
        reason: 'Created',
        message: 'created client web',
        type: 'Normal',
        source: { component: 'gatehouse-operator', host: 'operator-0' },
        firstTimestamp: new Date('2030-01-01T00:00:00Z'),
        lastTimestamp: new Date('2030-01-01T00:00:00Z'),
        count: 1,
      },
    });
    const name = (create as { body: CoreV1Event }).body.metadata?.name;
    expect(firstPatch).toEqual({ verb: 'patch', namespace: 'team-a', name, body: { count: 2, lastTimestamp: '2030-01-01T00:00:00.000Z' } });
    expect(secondPatch).toEqual({ verb: 'patch', namespace: 'team-a', name, body: { count: 3, lastTimestamp: '2030-01-01T00:05:00.000Z' } });
  });

  test('a different type, reason, message or object starts a new series', async () => {
    const events = recorder();
    events.record(client, 'Normal', 'Created', 'm');
    events.record(client, 'Warning', 'Created', 'm');
    events.record(client, 'Normal', 'Updated', 'm');
    events.record(client, 'Normal', 'Created', 'other');
    events.record({ ...client, metadata: { ...client.metadata, uid: 'uid-2' } }, 'Normal', 'Created', 'm');
    await events.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'create', 'create', 'create', 'create']);
  });

  test('a repeat after the 10-minute window, or after the Event vanished, creates a new Event', async () => {
    const events = recorder();
    events.record(client, 'Warning', 'ServerUnavailable', 'down');
    await events.flush();
    vi.setSystemTime(new Date('2030-01-01T00:10:00Z'));
    events.record(client, 'Warning', 'ServerUnavailable', 'down');
    await events.flush();
    fake.failNext.push(new KubeApiError(404, { reason: 'NotFound' }, 'HTTP 404: Not Found'));
    events.record(client, 'Warning', 'ServerUnavailable', 'down');
    await events.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'create', 'patch', 'create']);
    expect((fake.calls[3] as { body: CoreV1Event }).body.count).toBe(1);
  });

  test('a cluster-scoped object gets its Events in the default namespace', async () => {
    const events = recorder();
    events.record({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'ns-uid' } }, 'Normal', 'Seen', 'm');
    await events.flush();
    expect(fake.calls[0]).toMatchObject({ verb: 'create', namespace: 'default', body: { involvedObject: { kind: 'Namespace', name: 'team-a' } } });
  });

  test('over the rate limit events are dropped and counted; tokens come back with time', async () => {
    const events = recorder({ ratePerSecond: 2, burst: 3 });
    for (let i = 0; i < 5; i++) events.record(client, 'Normal', 'Tick', `tick ${i}`);
    await events.flush();
    expect(fake.calls).toHaveLength(3);
    expect(events.dropped).toBe(2);

    await vi.advanceTimersByTimeAsync(1_000);
    for (let i = 5; i < 9; i++) events.record(client, 'Normal', 'Tick', `tick ${i}`);
    await events.flush();
    expect(fake.calls).toHaveLength(5);
    expect(events.dropped).toBe(4);
  });

  test('API failures are swallowed: record() never throws and flush() still resolves', async () => {
    const events = recorder();
    fake.failNext.push(new KubeApiError(403, { reason: 'Forbidden' }, 'HTTP 403: Forbidden'), new Error('ECONNREFUSED'));
    expect(() => events.record(client, 'Normal', 'A', 'a')).not.toThrow();
    expect(() => events.record(client, 'Normal', 'B', 'b')).not.toThrow();
    events.record(client, 'Normal', 'C', 'c');
    await expect(events.flush()).resolves.toBeUndefined();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'create', 'create']);
    // The failed series were never remembered, so their repeats create again instead of patching nothing.
    events.record(client, 'Normal', 'A', 'a');
    await events.flush();
    expect(fake.calls.at(-1)?.verb).toBe('create');
  });
});

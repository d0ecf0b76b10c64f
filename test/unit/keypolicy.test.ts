// The KeyPolicy controller's decisions without a cluster: selectors, which policy governs a client, when a rotation is
// due, and a rotation's steps against in-memory ports, with a crash between each two of them.
import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KeyPolicySpec, KeyPolicyStatus } from '../../src/operator/api/keypolicy.js';
import type { OAuth2ClientResource } from '../../src/operator/api/oauth2client.js';
import type { EventPort, SecretPort, ServerApi, ServerPort } from '../../src/operator/controller/ports.js';
import {
  byPrecedence,
  governingPolicy,
  rotationDue,
  rotationStateOf,
  selects,
  withPolicyTemplate,
  type KeyPolicyResource,
} from '../../src/operator/keypolicy/decide.js';
import { ROTATED_AT, ROTATION_ANSWERED } from '../../src/operator/api/common.js';
import { KeyPolicyReconciler } from '../../src/operator/keypolicy/reconciler.js';
import type { OAuth2Client, OAuth2ClientInput, SecretRotationInput } from '../../src/sdk/types.js';
import { ENDPOINTS, b64, oauth2Client, unb64 } from './support/operator-fakes.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-29T12:00:00Z');

/** An OAuth2Client of namespace team with these labels. */
function governable(name: string, spec: Parameters<typeof oauth2Client>[0], labels: Record<string, string> = { rotate: 'yes' }): OAuth2ClientResource {
  // Ready: the OAuth2Client controller registered it under the id its Secret holds.
  const resource = oauth2Client(spec, { name, namespace: 'team', uid: `uid-${name}`, status: { clientId: `${name}-id` } });
  resource.metadata.labels = labels;
  return resource;
}

function policy(name: string, spec: Partial<KeyPolicySpec> = {}, created = '2026-11-01T00:00:00Z'): KeyPolicyResource {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'KeyPolicy',
    metadata: { name, namespace: 'team', uid: `uid-${name}`, generation: 1, creationTimestamp: created },
    spec: { selector: { matchLabels: { rotate: 'yes' } }, rotationInterval: '24h', gracePeriod: '1h', whenReleased: 'keep', ...spec },
  };
}

describe('selects (metav1.LabelSelector)', () => {
  it.each([
    [{ matchLabels: { a: '1' } }, { a: '1', b: '2' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In' as const, values: ['1', '2'] }] }, { a: '2' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'In' as const, values: ['1'] }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' as const, values: ['1'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' as const, values: ['1'] }] }, { a: '1' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' as const }] }, { a: '' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' as const }] }, { a: '' }, false],
    [{ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' as const }] }, { a: '1' }, false],
  ])('%j over %j is %s', (selector, labels, expected) => {
    expect(selects(selector, labels)).toBe(expected);
  });
});

describe('which policy governs a client', () => {
  it('is the oldest, then the first by name, whatever order they are listed in', () => {
    const oldest = policy('zeta', {}, '2026-01-01T00:00:00Z');
    const twinA = policy('alpha', {}, '2026-02-01T00:00:00Z');
    const twinB = policy('beta', {}, '2026-02-01T00:00:00Z');
    expect([twinB, twinA, oldest].sort(byPrecedence).map((p) => p.metadata.name)).toEqual(['zeta', 'alpha', 'beta']);
  });
});

describe('a governed client’s Secret template', () => {
  it('is the oldest selecting policy’s laid over the client’s own: its key names win, extra keys, labels and annotations add up', () => {
    const client = governable('app', { secretName: 'app-credentials', secretTemplate: { extraKeys: { ISSUER: 'issuerUrl' }, labels: { team: 'a' } } });
    const older = policy(
      'older',
      { secretTemplate: { clientSecretKey: 'TOKEN_SECRET', extraKeys: { TOKEN_URL: 'tokenEndpoint' }, annotations: { note: 'x' } } },
      '2026-01-01T00:00:00Z',
    );
    const newer = policy('newer', { secretTemplate: { clientSecretKey: 'OTHER' } }, '2026-06-01T00:00:00Z');
    const governed = withPolicyTemplate(client, governingPolicy(client, [newer, older]));
    expect(governed.spec.secretTemplate).toEqual({
      clientIdKey: 'CLIENT_ID',
      clientSecretKey: 'TOKEN_SECRET',
      extraKeys: { ISSUER: 'issuerUrl', TOKEN_URL: 'tokenEndpoint' },
      labels: { team: 'a' },
      annotations: { note: 'x' },
    });
    // The resource itself is not changed.
    expect(client.spec.secretTemplate?.clientSecretKey).toBe('CLIENT_SECRET');
  });

  it('is the client’s own when no policy governs it, and keeps its own key names where the policy’s would collide', () => {
    const client = governable('app', { secretName: 'app-credentials' }, { other: 'label' });
    expect(withPolicyTemplate(client, governingPolicy(client, [policy('rotator')]))).toBe(client);
    const colliding = policy('colliding', { secretTemplate: { clientIdKey: 'CLIENT_SECRET' } });
    const labelled = governable('app', { secretName: 'app-credentials' });
    expect(withPolicyTemplate(labelled, colliding).spec.secretTemplate).toMatchObject({ clientIdKey: 'CLIENT_ID', clientSecretKey: 'CLIENT_SECRET' });
  });

  it('leaves an existingSecret client’s template alone: the Secret and its key names are the user’s', () => {
    const client = governable('app', { secretName: 'app-credentials', existingSecret: true });
    expect(withPolicyTemplate(client, policy('renamer', { secretTemplate: { clientSecretKey: 'APP_SECRET' } }))).toBe(client);
  });
});

describe('when a rotation is due', () => {
  const secretWith = (annotations: Record<string, string>, created = '2026-11-29T00:00:00Z'): V1Secret => ({
    metadata: { annotations, creationTimestamp: created as unknown as Date },
  });

  it('counts from the last rotation, or from the Secret’s creation when there was none', () => {
    expect(rotationStateOf(secretWith({ [ROTATED_AT]: '2026-11-29T10:00:00Z' }))).toEqual({
      rotatedAt: Date.parse('2026-11-29T10:00:00Z'),
      rotated: true,
      answered: undefined,
    });
    expect(rotationStateOf(secretWith({}))).toMatchObject({ rotatedAt: Date.parse('2026-11-29T00:00:00Z'), rotated: false });
  });

  it('is due once the interval has passed, and says when otherwise', () => {
    const state = { rotatedAt: T0, rotated: true, answered: undefined };
    expect(rotationDue(state, undefined, 24 * HOUR, T0 + 24 * HOUR)).toEqual({ due: true, reason: 'scheduled' });
    expect(rotationDue(state, undefined, 24 * HOUR, T0 + HOUR)).toEqual({ due: false, nextAt: T0 + 24 * HOUR });
  });

  it('is due at once for a rotate annotation value not answered yet, and not again for the same value', () => {
    expect(rotationDue({ rotatedAt: T0, rotated: true, answered: 'one' }, 'two', 24 * HOUR, T0)).toEqual({ due: true, reason: 'requested' });
    expect(rotationDue({ rotatedAt: T0, rotated: true, answered: 'two' }, 'two', 24 * HOUR, T0).due).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A rotation against in-memory ports

/** The server's rotation rules (src/server/client/service.ts), enough to tell whether an application is locked out. */
class RotatingServer implements ServerApi {
  readonly secrets = new Map<string, { current: string; previous?: { secret: string; until: number } }>();
  failNext: 'mintClientSecret' | 'updateClient' | undefined;
  updates = 0;
  constructor(private readonly now: () => number) {}

  authenticates(id: string, secret: string): boolean {
    const held = this.secrets.get(id);
    return held?.current === secret || (held?.previous?.secret === secret && held.previous.until > this.now());
  }

  async mintClientSecret(): Promise<string> {
    this.fail('mintClientSecret');
    return `gatehouse_cs_${Math.random().toString(36).slice(2)}${'x'.repeat(40)}`;
  }

  async updateClient(id: string, input: OAuth2ClientInput & SecretRotationInput): Promise<OAuth2Client> {
    if (this.failUpdateNumber === this.updates + 1) {
      this.failUpdateNumber = undefined;
      throw new Error(`crash before update ${this.updates + 1} completed`);
    }
    this.fail('updateClient');
    this.updates++;
    const held = this.secrets.get(id)!;
    const grace = input.client_secret_grace_period;
    if (input.client_secret && input.client_secret !== held.current) {
      const previous = grace ? { secret: input.previous_client_secret ?? held.current, until: this.now() + grace * 1000 } : undefined;
      this.secrets.set(id, { current: input.client_secret, ...(previous ? { previous } : {}) });
    } else if (grace && held.previous) {
      // The secret it has, with a grace period: the previous one's end can only come closer.
      held.previous.until = Math.min(held.previous.until, this.now() + grace * 1000);
    }
    return { ...(input as OAuth2Client), id };
  }

  /** Which update (1-based, counting successful ones before it) fails with a crash. */
  failUpdateNumber: number | undefined;

  /** Client id → owner, as the server records it. */
  readonly owners = new Map<string, string>();

  findClient = async (id: string): Promise<OAuth2Client | undefined> => {
    const previous = this.secrets.get(id)?.previous;
    return { id, owner: this.owners.get(id), ...(previous ? { previous_client_secret_expires_at: Math.floor(previous.until / 1000) } : {}) } as OAuth2Client;
  };
  createClient = async (input: OAuth2ClientInput): Promise<OAuth2Client> => input as OAuth2Client;
  deleteClient = async (): Promise<void> => {};

  private fail(method: 'mintClientSecret' | 'updateClient'): void {
    if (this.failNext !== method) return;
    this.failNext = undefined;
    throw new Error(`crash before ${method} completed`);
  }
}

function rig(options: { policies?: KeyPolicyResource[]; clients?: OAuth2ClientResource[] } = {}) {
  let now = T0;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const server = new RotatingServer(clock.now);
  const secrets = new Map<string, V1Secret>();
  let failSecretWrite = false;
  const secretPort: SecretPort = {
    get: async (namespace, name) => structuredClone(secrets.get(`${namespace}/${name}`)),
    create: async (secret) => secret,
    replace: async (secret) => {
      if (failSecretWrite) {
        failSecretWrite = false;
        throw new Error('crash before the Secret was written');
      }
      secrets.set(`${secret.metadata!.namespace}/${secret.metadata!.name}`, structuredClone(secret));
      return secret;
    },
    delete: async () => {},
  };
  const statuses = new Map<string, KeyPolicyStatus>();
  const policies = options.policies ?? [policy('rotator')];
  let statusWrites = 0;
  const events: string[] = [];
  const metrics = { rotated: [] as string[], failed: 0, next: [] as { name: string; seconds: number }[] };
  const clients = options.clients ?? [governable('app', { secretName: 'app-credentials' })];
  for (const client of clients) {
    const id = `${client.metadata.name}-id`;
    const held = `${client.metadata.name}-first-secret-0123456789abcdef`;
    server.secrets.set(id, { current: held });
    server.owners.set(id, `gatehouse.dev/team/${client.metadata.name}`);
    secrets.set(`team/${client.spec.secretName}`, {
      metadata: {
        name: client.spec.secretName,
        namespace: 'team',
        creationTimestamp: new Date(T0 - 25 * HOUR),
        annotations: {},
        // Created by its OAuth2Client, as the OAuth2Client controller does.
        ownerReferences: [
          { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', name: client.metadata.name, uid: client.metadata.uid, controller: true },
        ],
      },
      data: { CLIENT_ID: b64(id), CLIENT_SECRET: b64(held) },
    });
  }
  const servers: ServerPort = { for: async () => ({ api: server, endpoints: ENDPOINTS }) };
  const eventPort: EventPort = { record: (resource, _type, reason) => void events.push(`${resource.metadata.name}/${reason}`) };
  const reconciler = new KeyPolicyReconciler({
    policies: {
      get: (key) => {
        const found = policies.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === key);
        return found && { ...found, status: statuses.get(found.metadata.name) };
      },
      list: () => policies.map((p) => ({ ...p, status: statuses.get(p.metadata.name) })),
      patchStatus: async (p, status) => {
        statusWrites++;
        statuses.set(p.metadata.name, structuredClone(status));
      },
    },
    clients: { list: () => clients },
    secrets: secretPort,
    servers,
    events: eventPort,
    metrics: {
      rotated: (_namespace, policyName, reason) => void metrics.rotated.push(`${policyName}/${reason}`),
      failed: () => void metrics.failed++,
      nextRotations: (_namespace, _policy, clients) => void (metrics.next = clients),
    },
    now: clock.now,
  });
  const held = (secretName = 'app-credentials') => {
    const secret = secrets.get(`team/${secretName}`)!;
    return { id: unb64(secret.data!.CLIENT_ID)!, secret: unb64(secret.data!.CLIENT_SECRET)!, annotations: secret.metadata!.annotations ?? {} };
  };
  return {
    clock,
    server,
    secrets,
    reconciler,
    held,
    statuses,
    events,
    metrics,
    statusWrites: () => statusWrites,
    crashSecretWrite: () => (failSecretWrite = true),
  };
}

describe('KeyPolicyReconciler', () => {
  it('replaces a due secret: the server takes the new one and keeps the held one for the grace period, then the Secret and the status follow', async () => {
    const t = rig();
    const before = t.held();
    const result = await t.reconciler.reconcile('team/rotator');
    const after = t.held();
    expect(after.secret).not.toBe(before.secret);
    expect(after.annotations[ROTATED_AT]).toBe('2026-11-29T12:00:00Z');
    expect(t.server.authenticates(after.id, after.secret)).toBe(true);
    expect(t.server.authenticates(before.id, before.secret)).toBe(true);
    t.clock.advance(HOUR + 1);
    expect(t.server.authenticates(before.id, before.secret)).toBe(false);
    expect(t.events).toEqual(['app/SecretRotated']);
    expect(t.statuses.get('rotator')).toMatchObject({
      clientsGoverned: 1,
      nextRotation: '2026-11-30T12:00:00Z',
      clients: [{ name: 'app', clientId: 'app-id', lastRotation: '2026-11-29T12:00:00Z', nextRotation: '2026-11-30T12:00:00Z' }],
    });
    expect(result.requeueAfterMs).toBe(24 * HOUR);
    expect(t.metrics.rotated).toEqual(['rotator/scheduled']);
    expect(t.metrics.next).toEqual([{ name: 'app', seconds: 24 * 3600 }]);
  });

  it('writes nothing when nothing is due and nothing changed', async () => {
    const t = rig();
    await t.reconciler.reconcile('team/rotator');
    const writes = { updates: t.server.updates, status: t.statusWrites() };
    t.clock.advance(HOUR);
    await t.reconciler.reconcile('team/rotator');
    expect({ updates: t.server.updates, status: t.statusWrites() }).toEqual(writes);
  });

  it('recovers from a crash after the server took the new secret but before the Secret was written, never locking the application out', async () => {
    const t = rig();
    const original = t.held();
    t.crashSecretWrite();
    await expect(t.reconciler.reconcile('team/rotator')).rejects.toThrow('rotation failed for app: crash before the Secret was written');
    expect(t.metrics.failed).toBe(1);
    expect(t.statuses.get('rotator')?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RotationFailed' });
    // The operator retries by itself: kstatus must read the policy as in progress, not failed and not done.
    expect(t.statuses.get('rotator')?.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'RotationFailed' });
    expect(t.statuses.get('rotator')?.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    // The server's new secret is lost with the crash; the application still holds the original, which still works,
    // however long the operator stays away (here twice the grace period).
    expect(t.held().secret).toBe(original.secret);
    const lost = t.server.secrets.get(original.id)!.current;
    t.clock.advance(2 * HOUR);
    expect(t.server.authenticates(original.id, original.secret)).toBe(true);

    await t.reconciler.reconcile('team/rotator');
    const after = t.held();
    expect(after.secret).not.toBe(original.secret);
    expect(t.server.authenticates(after.id, after.secret)).toBe(true);
    // The second attempt kept the original (named by the Secret), not the lost one, for a whole grace period.
    expect(t.server.authenticates(original.id, original.secret)).toBe(true);
    expect(t.server.authenticates(original.id, lost)).toBe(false);
    expect(t.statuses.get('rotator')?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(t.statuses.get('rotator')?.conditions?.map((c) => c.type)).not.toContain('Reconciling');
  });

  it('recovers from a crash after the Secret was written but before the old secret’s life was shortened', async () => {
    const t = rig();
    const original = t.held();
    // Update 1 keeps the old secret for the hold; update 2 would shorten it to the grace period.
    t.server.failUpdateNumber = 2;
    await expect(t.reconciler.reconcile('team/rotator')).rejects.toThrow('crash before update 2');
    const rotated = t.held();
    expect(rotated.secret).not.toBe(original.secret);
    expect(t.server.secrets.get(original.id)!.previous!.until).toBeGreaterThan(T0 + 24 * HOUR);

    // The next reconcile (here, or in a process that took over) finds it and gives the old secret what is left of its
    // grace period.
    t.clock.advance(10 * 60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(t.server.secrets.get(original.id)!.previous!.until).toBe(T0 + HOUR);
    expect(t.server.authenticates(original.id, original.secret)).toBe(true);
    t.clock.advance(HOUR);
    expect(t.server.authenticates(original.id, original.secret)).toBe(false);
    expect(t.server.authenticates(rotated.id, rotated.secret)).toBe(true);
  });

  it('after a rotation this process finished, reads nothing more from the server', async () => {
    const t = rig();
    await t.reconciler.reconcile('team/rotator');
    let reads = 0;
    const find = t.server.findClient;
    t.server.findClient = async (id) => {
      reads++;
      return find(id);
    };
    t.clock.advance(60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(reads).toBe(0);
  });

  it('rotates the clients of a policy several at a time, never more than eight', async () => {
    const clients = Array.from({ length: 20 }, (_, index) => governable(`app-${index}`, { secretName: `app-${index}-credentials` }));
    const t = rig({ clients });
    let inFlight = 0;
    let most = 0;
    const mint = t.server.mintClientSecret.bind(t.server);
    t.server.mintClientSecret = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return mint();
    };
    await t.reconciler.reconcile('team/rotator');
    expect(t.statuses.get('rotator')?.clientsGoverned).toBe(20);
    expect(most).toBe(8);
  });

  it('rotates the other clients when one fails', async () => {
    const clients = [governable('app', { secretName: 'app-credentials' }), governable('other', { secretName: 'other-credentials' })];
    const t = rig({ clients });
    t.crashSecretWrite();
    await expect(t.reconciler.reconcile('team/rotator')).rejects.toThrow(/rotation failed for app/);
    expect(t.held('other-credentials').annotations[ROTATED_AT]).toBe('2026-11-29T12:00:00Z');
  });

  it('recovers from a crash before the server took the new secret (minting, or the update itself)', async () => {
    for (const step of ['mintClientSecret', 'updateClient'] as const) {
      const t = rig();
      const original = t.held();
      t.server.failNext = step;
      await expect(t.reconciler.reconcile('team/rotator')).rejects.toThrow(`crash before ${step}`);
      expect(t.held().secret).toBe(original.secret);
      expect(t.server.authenticates(original.id, original.secret)).toBe(true);
      await t.reconciler.reconcile('team/rotator');
      expect(t.held().secret).not.toBe(original.secret);
      expect(t.server.authenticates(t.held().id, t.held().secret)).toBe(true);
    }
  });

  it('never rotates a Secret its OAuth2Client does not control, nor a server client someone else owns', async () => {
    const squatter = governable('squatter', { secretName: 'victim-credentials' });
    const t = rig({ clients: [squatter] });
    // The Secret belongs to another resource.
    t.secrets.get('team/victim-credentials')!.metadata!.ownerReferences![0]!.uid = 'uid-victim';
    await t.reconciler.reconcile('team/rotator');
    expect(t.server.updates).toBe(0);

    // A Secret edited to name another client than the one the OAuth2Client registered: neither rotated nor shortened.
    const v = rig();
    v.secrets.get('team/app-credentials')!.data!.CLIENT_ID = b64('victim-id');
    v.server.secrets.set('victim-id', { current: 'victim-secret', previous: { secret: 'victim-old', until: T0 + HOUR } });
    await v.reconciler.reconcile('team/rotator');
    expect(v.server.updates).toBe(0);

    const u = rig();
    u.server.owners.set('app-id', 'gatehouse.dev/other-team/app');
    await expect(u.reconciler.reconcile('team/rotator')).rejects.toThrow("the server's client app-id does not belong to this OAuth2Client");
    expect(u.server.updates).toBe(0);
  });

  it('makes a rotate request inside the last rotation’s grace period wait for it to end', async () => {
    const client = governable('app', { secretName: 'app-credentials' });
    const t = rig({ clients: [client] });
    await t.reconciler.reconcile('team/rotator');
    const first = t.held();
    t.clock.advance(10 * 60_000);
    client.metadata.annotations = { 'gatehouse.dev/rotate': 'again' };
    const waited = await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).toBe(first.secret);
    expect(waited.requeueAfterMs).toBe(50 * 60_000);
    t.clock.advance(50 * 60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).not.toBe(first.secret);
  });

  it('answers a rotate annotation once', async () => {
    const client = governable('app', { secretName: 'app-credentials' });
    client.metadata.annotations = { 'gatehouse.dev/rotate': 'please' };
    const t = rig({ clients: [client] });
    await t.reconciler.reconcile('team/rotator');
    const first = t.held();
    expect(first.annotations[ROTATION_ANSWERED]).toBe('please');
    expect(t.metrics.rotated).toEqual(['rotator/requested']);
    t.clock.advance(60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).toBe(first.secret);
  });

  it('leaves public clients and user-provided Secrets alone', async () => {
    const clients = [
      governable('public', {
        secretName: 'public-credentials',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://a.example/cb'],
      }),
      governable('own', { secretName: 'own-credentials', existingSecret: true }),
    ];
    const t = rig({ clients });
    await t.reconciler.reconcile('team/rotator');
    expect(t.server.updates).toBe(0);
    expect(t.statuses.get('rotator')?.clientsGoverned).toBe(0);
  });

  it('lets the oldest of two policies govern a shared client and reports the conflict on both', async () => {
    const older = policy('older', {}, '2026-01-01T00:00:00Z');
    const newer = policy('newer', { rotationInterval: '1h', gracePeriod: '10m' }, '2026-06-01T00:00:00Z');
    const t = rig({ policies: [newer, older] });
    await t.reconciler.reconcile('team/newer');
    expect(t.server.updates).toBe(0);
    expect(t.statuses.get('newer')?.conditions?.find((c) => c.type === 'Conflict')).toMatchObject({
      status: 'True',
      message: 'app is also selected by older; older governs it (the oldest)',
    });
    await t.reconciler.reconcile('team/older');
    // One rotation: the new secret with the old one held, then the old one's end shortened.
    expect(t.server.updates).toBe(2);
    expect(t.statuses.get('older')?.conditions?.find((c) => c.type === 'Conflict')?.message).toBe(
      'app is also selected by newer; this policy governs it (the oldest)',
    );
  });

  it('with whenReleased: rotate, gives a client that left the selection one fresh secret', async () => {
    const client = governable('app', { secretName: 'app-credentials' });
    const t = rig({ policies: [policy('rotator', { whenReleased: 'rotate' })], clients: [client] });
    await t.reconciler.reconcile('team/rotator');
    const governed = t.held().secret;
    client.metadata.labels = {};
    t.clock.advance(HOUR);
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).not.toBe(governed);
    expect(t.statuses.get('rotator')?.clientsGoverned).toBe(0);
    expect(t.metrics.rotated).toEqual(['rotator/scheduled', 'rotator/released']);
    // Released once: the next reconcile leaves it alone, also one that still reads the status from before the release
    // (a cache that has not caught up).
    const released = t.held().secret;
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).toBe(released);
    const stale = t.statuses.get('rotator')!;
    t.statuses.set('rotator', { ...stale, clients: [{ name: 'app', clientId: 'app-id', lastRotation: '2026-11-29T12:00:00Z' }] });
    t.clock.advance(60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).toBe(released);
  });

  it('waits for the last rotation’s grace period before the release rotation of a client that left', async () => {
    const client = governable('app', { secretName: 'app-credentials' });
    const t = rig({ policies: [policy('rotator', { whenReleased: 'rotate' })], clients: [client] });
    await t.reconciler.reconcile('team/rotator');
    const governed = t.held();
    client.metadata.labels = {};
    t.clock.advance(10 * 60_000);
    const waited = await t.reconciler.reconcile('team/rotator');
    // The secret applications may still hold from before the last rotation keeps its hour.
    expect(t.held().secret).toBe(governed.secret);
    expect(waited.requeueAfterMs).toBe(50 * 60_000);
    expect(t.statuses.get('rotator')?.clients?.map((entry) => entry.name)).toEqual(['app']);
    t.clock.advance(50 * 60_000);
    await t.reconciler.reconcile('team/rotator');
    expect(t.held().secret).not.toBe(governed.secret);
    expect(t.server.authenticates(governed.id, governed.secret)).toBe(true);
    expect(t.metrics.rotated).toEqual(['rotator/scheduled', 'rotator/released']);
  });

  it('rotates a client moving between two policies reconciled at once only once, keeping the secret applications hold', async () => {
    const client = governable('app', { secretName: 'app-credentials' }, { team: 'a' });
    const leaving = policy('leaving', { selector: { matchLabels: { team: 'a' } }, whenReleased: 'rotate', gracePeriod: '10m' }, '2026-01-01T00:00:00Z');
    const arriving = policy('arriving', { selector: { matchLabels: { team: 'b' } }, rotationInterval: '1h', gracePeriod: '10m' }, '2026-02-01T00:00:00Z');
    const t = rig({ policies: [leaving, arriving], clients: [client] });
    await t.reconciler.reconcile('team/leaving');
    t.clock.advance(2 * HOUR);
    const applications = t.held();
    client.metadata.labels = { team: 'b' };
    const updatesBefore = t.server.updates;

    // One label change queues both; their workers run side by side.
    await Promise.all([t.reconciler.reconcile('team/leaving'), t.reconciler.reconcile('team/arriving')]);

    expect(t.server.updates - updatesBefore).toBe(2);
    const now = t.held();
    expect(now.secret).not.toBe(applications.secret);
    expect(t.server.authenticates(now.id, now.secret)).toBe(true);
    expect(t.server.authenticates(applications.id, applications.secret)).toBe(true);
  });
});

/**
 * The conditions GitOps tools read (kstatus: Reconciling and Stalled beside observedGeneration), as the OAuth2Client
 * reconciler writes them: Ready=False alone counts as Current to kstatus, so each not-ready outcome must say whether
 * the operator is still at it (Reconciling) or waits for a person (Stalled).
 */
import { describe, expect, it } from 'vitest';
import { withProgressConditions } from '../../src/operator/api/conditions.js';
import { conditionsAfter } from '../../src/operator/controller/outcome.js';
import { GatehouseApiError, GatehouseUnavailableError } from '../../src/sdk/errors.js';
import { oauth2Client, world } from './support/operator-fakes.js';

const KEY = 'team-a/shop';

function progressOf(w: ReturnType<typeof world>) {
  const status = w.resources.current(KEY)?.status;
  const byType = Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, c]));
  return { observedGeneration: status?.observedGeneration, ready: byType.Ready, reconciling: byType.Reconciling, stalled: byType.Stalled };
}

describe('kstatus conditions on OAuth2Client', () => {
  it('Ready: neither Reconciling nor Stalled, and observedGeneration is the resource generation', async () => {
    const w = world();
    w.resources.apply(oauth2Client({}, { generation: 3 }));
    await w.reconciler.reconcile(KEY);
    const progress = progressOf(w);
    expect(progress.ready).toMatchObject({ status: 'True', observedGeneration: 3 });
    expect(progress.observedGeneration).toBe(3);
    expect(progress.reconciling).toBeUndefined();
    expect(progress.stalled).toBeUndefined();
  });

  it('server unavailable: Reconciling=True with the reason, no Stalled; cleared once Ready', async () => {
    const w = world();
    w.resources.apply(oauth2Client());
    w.server.failures.createClient = new GatehouseUnavailableError('connection refused');
    await w.reconciler.reconcile(KEY).catch(() => undefined);
    expect(progressOf(w).reconciling).toMatchObject({ status: 'True', reason: 'ServerUnavailable', message: expect.stringContaining('connection refused') });
    expect(progressOf(w).stalled).toBeUndefined();

    delete w.server.failures.createClient;
    await w.reconciler.reconcile(KEY);
    expect(progressOf(w)).toMatchObject({ ready: { status: 'True' }, reconciling: undefined, stalled: undefined });
  });

  it('a spec the server refuses (400): Stalled=True, no Reconciling', async () => {
    const w = world();
    w.resources.apply(oauth2Client());
    w.server.failures.createClient = new GatehouseApiError(
      400,
      { error: 'invalid_client_metadata', error_description: 'redirect_uri is not valid' },
      undefined,
    );
    await w.reconciler.reconcile(KEY).catch(() => undefined);
    expect(progressOf(w).stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(progressOf(w).reconciling).toBeUndefined();
  });

  it('a client id owned by someone else on the server: Stalled; a 409 race on create: Reconciling', async () => {
    const owned = world();
    owned.resources.apply(oauth2Client({ clientId: 'shared' }));
    owned.server.seed({ id: 'shared', owner: 'someone-else', client_secret: 'their-secret-0123456789abcdefghijklmn' });
    await owned.reconciler.reconcile(KEY);
    expect(progressOf(owned).stalled).toMatchObject({ status: 'True', reason: 'ClientConflict' });

    const raced = world();
    raced.resources.apply(oauth2Client());
    raced.server.failures.createClient = new GatehouseApiError(409, { error: 'conflict' }, undefined);
    await raced.reconciler.reconcile(KEY).catch(() => undefined);
    expect(progressOf(raced).reconciling).toMatchObject({ status: 'True', reason: 'ClientConflict' });
    expect(progressOf(raced).stalled).toBeUndefined();
  });
});

describe('conditionsAfter: Stalled only for what waits on a person', () => {
  it('InvalidSpec that the operator requeues by itself (a credentials Secret not there yet) is Reconciling, not Stalled', () => {
    const resource = oauth2Client();
    const requeued = conditionsAfter(resource, { reason: 'InvalidSpec', message: 'Secret creds does not exist', ready: false, requeueAfterMs: 30_000 });
    expect(requeued.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Reconciling=True']);
    const refused = conditionsAfter(resource, { reason: 'InvalidSpec', message: 'the server refused the client', ready: false });
    expect(refused.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Stalled=True']);
  });
});

describe('withProgressConditions', () => {
  const detail = { reason: 'ServerUnavailable', message: 'down', observedGeneration: 2 };

  it('moves from Reconciling to Stalled and back, keeping other conditions and the transition time of one that stays', () => {
    const other = { type: 'Warnings', status: 'True' as const, lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'FieldsIgnored', message: 'x' };
    const reconciling = withProgressConditions([other], { ready: false, stalled: false, ...detail }, () => new Date('2025-01-01T00:00:00Z'));
    expect(reconciling.map((c) => c.type)).toEqual(['Warnings', 'Reconciling']);
    const again = withProgressConditions(reconciling, { ready: false, stalled: false, ...detail }, () => new Date('2025-02-01T00:00:00Z'));
    expect(again.find((c) => c.type === 'Reconciling')?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    const stalled = withProgressConditions(again, { ready: false, stalled: true, ...detail, reason: 'InvalidSpec' });
    expect(stalled.map((c) => c.type)).toEqual(['Warnings', 'Stalled']);
    expect(withProgressConditions(stalled, { ready: true, stalled: false, ...detail })).toEqual([other]);
  });
});

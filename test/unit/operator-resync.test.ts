import { describe, expect, it } from 'vitest';
import { desiredClient } from '../../src/operator/controller/desired.js';
import { resourcesToQueue, type ResyncScope } from '../../src/operator/controller/resync.js';
import type { OAuth2ClientResource, OAuth2ClientStatus } from '../../src/operator/api/oauth2client.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { oauth2Client, type SpecInput } from './support/operator-fakes.js';

const READY: OAuth2ClientStatus['conditions'] = [
  { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'in line', lastTransitionTime: '2026-11-29T08:00:00Z', observedGeneration: 1 },
];
const NOT_READY: OAuth2ClientStatus['conditions'] = [
  { type: 'Ready', status: 'False', reason: 'ServerUnavailable', message: 'down', lastTransitionTime: '2026-11-29T08:00:00Z', observedGeneration: 1 },
];

function resource(name: string, options: { ready?: boolean; clientId?: string | null; spec?: SpecInput } = {}): OAuth2ClientResource {
  const clientId = options.clientId === null ? undefined : (options.clientId ?? `${name}-id`);
  return oauth2Client(options.spec ?? {}, {
    name,
    uid: `uid-${name}`,
    status: { ...(clientId ? { clientId } : {}), conditions: options.ready === false ? NOT_READY : READY },
  });
}

/** The server's view of a resource's client, exactly as the resource wants it. */
function inLine(r: OAuth2ClientResource): [string, OAuth2Client] {
  const id = r.status!.clientId!;
  return [id, { ...desiredClient(r, id), public: false }];
}

const names = (queued: OAuth2ClientResource[]) => queued.map((r) => r.metadata.name);
const onDefault = (r: OAuth2ClientResource) => !r.spec.server;
const queue = (scope: ResyncScope, resources: OAuth2ClientResource[], server: Map<string, OAuth2Client>) =>
  names(resourcesToQueue(scope, resources, server, onDefault));

describe('what a periodic pass queues', () => {
  const healthy = resource('healthy');
  const lost = resource('lost');
  const drifted = resource('drifted');
  const retrying = resource('retrying', { ready: false });
  const neverCreated = resource('never-created', { ready: false, clientId: null });
  const byo = resource('byo', { spec: { existingSecret: true } });
  const elsewhere = resource('elsewhere', {
    spec: {
      server: { url: 'https://other.example', credentialsSecretRef: { name: 'other-credentials', clientIdKey: 'CLIENT_ID', clientSecretKey: 'CLIENT_SECRET' } },
    },
  });
  const server = new Map([inLine(healthy), inLine(drifted), inLine(retrying), inLine(byo)]);
  server.set(drifted.status!.clientId!, { ...server.get(drifted.status!.clientId!)!, scope: 'changed on the server' });
  const all = [healthy, lost, drifted, retrying, neverCreated, byo, elsewhere];

  it('drift check: only Ready resources of the default server whose client is missing or differs', () => {
    expect(queue('drift', all, server)).toEqual(['lost', 'drifted']);
  });

  it('drift check: leaves resources in backoff alone, so their retry delay is not cut short every 30 s', () => {
    expect(queue('drift', [retrying, neverCreated], new Map())).toEqual([]);
  });

  it('drift check: queues nothing when everything is in line (no writes follow)', () => {
    expect(queue('drift', [healthy, byo], server)).toEqual([]);
  });

  it('full resync: also what is not Ready, on another server, or reads a Secret the operator does not watch', () => {
    expect(queue('full', all, server)).toEqual(['lost', 'drifted', 'retrying', 'never-created', 'byo', 'elsewhere']);
  });

  it('full resync: a resource in line on the default server with its own Secret is left alone', () => {
    expect(queue('full', [healthy], server)).toEqual([]);
  });
});

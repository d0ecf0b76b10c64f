import type { Counter } from 'prom-client';
import type { EventPort, ResourcePort, SecretPort, ServerApi, ServerPort } from './ports.js';

/**
 * Counts every write the controller makes, per target, so "steady state costs nothing" is a number anyone can read
 * from /metrics (gatehouse_operator_writes_total) rather than a promise.
 */
export type WriteCounter = Counter<'target' | 'verb'>;

export function countingResources(inner: ResourcePort, writes: WriteCounter): ResourcePort {
  return {
    get: (key) => inner.get(key),
    patchStatus: (resource, status) => {
      writes.inc({ target: 'kubernetes', verb: 'patch_status' });
      return inner.patchStatus(resource, status);
    },
    setFinalizers: (resource, finalizers) => {
      writes.inc({ target: 'kubernetes', verb: 'patch_finalizers' });
      return inner.setFinalizers(resource, finalizers);
    },
  };
}

export function countingSecrets(inner: SecretPort, writes: WriteCounter): SecretPort {
  return {
    get: (namespace, name) => inner.get(namespace, name),
    create: (secret) => {
      writes.inc({ target: 'kubernetes', verb: 'create_secret' });
      return inner.create(secret);
    },
    replace: (secret) => {
      writes.inc({ target: 'kubernetes', verb: 'replace_secret' });
      return inner.replace(secret);
    },
    delete: (namespace, name) => {
      writes.inc({ target: 'kubernetes', verb: 'delete_secret' });
      return inner.delete(namespace, name);
    },
  };
}

export function countingServers(inner: ServerPort, writes: WriteCounter): ServerPort {
  const wrap = (api: ServerApi): ServerApi => ({
    // Minting stores nothing, so it is not a write.
    mintClientSecret: () => api.mintClientSecret(),
    findClient: (id) => api.findClient(id),
    createClient: (client) => {
      writes.inc({ target: 'server', verb: 'create_client' });
      return api.createClient(client);
    },
    updateClient: (id, client) => {
      writes.inc({ target: 'server', verb: 'update_client' });
      return api.updateClient(id, client);
    },
    deleteClient: (id) => {
      writes.inc({ target: 'server', verb: 'delete_client' });
      return api.deleteClient(id);
    },
  });
  return {
    for: async (resource) => {
      const target = await inner.for(resource);
      return { ...target, api: wrap(target.api) };
    },
  };
}

export function countingEvents(inner: EventPort, writes: WriteCounter): EventPort {
  return {
    record: (resource, type, reason, message) => {
      writes.inc({ target: 'kubernetes', verb: 'event' });
      inner.record(resource, type, reason, message);
    },
  };
}

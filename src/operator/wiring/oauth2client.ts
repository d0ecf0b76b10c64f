import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { OAuth2Client } from '../../sdk/types.js';
import { KIND, type OAuth2ClientResource } from '../api/oauth2client.js';
import { countingEvents, countingResources, countingSecrets, countingServers, type WriteCounter } from '../controller/counting.js';
import { OAuth2ClientReconciler, RetryableError } from '../controller/reconciler.js';
import { resourcesToQueue, type ResyncScope } from '../controller/resync.js';
import { KubeResourcePort, KubeSecretPort } from '../k8s/kube-ports.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../controller/secret.js';
import { GatehouseServerPort, type ServerConnection } from '../k8s/server-port.js';
import type { InformerObject } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { KubeEventRecorder } from '../runtime/events.js';
import type { ControllerDefinition, Manager, WatchHandlers } from '../manager/manager.js';
import { governingPolicy, withPolicyTemplate, type KeyPolicyResource } from '../keypolicy/decide.js';
import { ALL_SECRETS_METADATA, KEY_POLICIES, MANAGED_SECRETS, OAUTH2_CLIENTS } from './watches.js';

export const CONTROLLER_NAME = 'oauth2client';

export interface OAuth2ClientControllerOptions {
  kube: KubeClient;
  server: ServerConnection;
  /** Only OAuth2Clients matching this label selector, so several operators can share a cluster. */
  selector?: string;
  workers: number;
  resyncMs: number;
  /** How often the default server's clients are listed to find lost or drifted ones (a cheaper, narrower resync). */
  driftCheckMs: number;
  logger: Logger;
  writes: WriteCounter;
}

/**
 * The OAuth2Client controller, declared for the manager: it watches the resources and the Secrets they own, runs the
 * reconciler on each key, and resyncs against the server's clients (paged) to find those that drifted or vanished.
 */
export function oauth2ClientController(manager: Manager, options: OAuth2ClientControllerOptions): ControllerDefinition {
  const { kube, logger, writes } = options;
  const resources = manager.informers<OAuth2ClientResource>({ ...OAUTH2_CLIENTS, ...(options.selector ? { labelSelector: options.selector } : {}) });
  const secrets = manager.informers<V1Secret & InformerObject>(MANAGED_SECRETS);
  const policies = manager.informers<KeyPolicyResource>(KEY_POLICIES);
  const userSecrets = manager.informers<V1Secret & InformerObject>(ALL_SECRETS_METADATA);
  const secretPort = new KubeSecretPort(kube, secrets);
  // A client a KeyPolicy governs is seen with the policy's Secret template laid over its own, so both controllers
  // write the Secret with the same keys.
  const resourcePort = new KubeResourcePort(kube, {
    get: (namespace, name) => {
      const resource = resources.get(namespace, name);
      return resource && withPolicyTemplate(resource, governingPolicy(resource, policies.list()));
    },
  });
  const servers = new GatehouseServerPort(options.server, secretPort);
  const reconciler = new OAuth2ClientReconciler({
    resources: countingResources(resourcePort, writes),
    secrets: countingSecrets(secretPort, writes),
    servers: countingServers(servers, writes),
    events: countingEvents(new KubeEventRecorder({ kube, logger }), writes),
  });

  const resourceHandlers: WatchHandlers<OAuth2ClientResource> = {
    keys: (resource) => [keyOf(resource)],
    // Our own status writes change nothing the reconciler reads; skipping them keeps the steady state quiet.
    relevant: specOrMetadataChanged,
    observe: { changed: (resource) => resourcePort.observed(resource), deleted: (resource) => resourcePort.forget(resource) },
  };
  const secretHandlers: WatchHandlers<V1Secret> = {
    keys: (secret) => {
      const owner = secret.metadata?.ownerReferences?.find((ref) => ref.controller && ref.kind === KIND);
      return owner && secret.metadata?.namespace ? [`${secret.metadata.namespace}/${owner.name}`] : [];
    },
    observe: { changed: (secret) => secretPort.observed(secret), deleted: (secret) => secretPort.observed(secret) },
  };

  let resyncing = false;
  /**
   * Pages through the default server's clients once and queues what resourcesToQueue picks: a client deleted or
   * changed on the server is restored within one drift check (30 s by default), at the cost of one list request per
   * 500 clients and no writes when nothing drifted. A pass still running when the next is due makes it skip.
   */
  const resync = (scope: ResyncScope) => async (queue: { add(key: string): void }) => {
    if (resyncing) return;
    resyncing = true;
    try {
      const all = resources.list();
      const onServer = new Map<string, OAuth2Client>();
      try {
        for await (const client of servers.defaultClient.allClients(500)) onServer.set(client.id, client);
      } catch (error) {
        const reason = (error as Error).message;
        // The drift check is a shortcut; the full resync is the backstop that reconciles everything regardless.
        if (scope === 'drift') {
          logger.warn({ scope, reason }, 'drift check could not list the server; trying again at the next one');
          return;
        }
        logger.warn({ scope, reason }, 'resync could not list the server; queueing every resource');
        for (const resource of all) queue.add(keyOf(resource));
        return;
      }
      const queued = resourcesToQueue(scope, all, onServer, (resource) => servers.isDefault(resource));
      for (const resource of queued) queue.add(keyOf(resource));
      const level = scope === 'drift' && queued.length === 0 ? 'debug' : 'info';
      logger[level]({ scope, resources: all.length, serverClients: onServer.size, queued: queued.length }, 'resync done');
    } finally {
      resyncing = false;
    }
  };

  return {
    name: CONTROLLER_NAME,
    workers: options.workers,
    watches: [
      { informers: resources, handlers: resourceHandlers },
      { informers: secrets, handlers: secretHandlers },
      // A user's Secret (no managed-by label) changed: the resources naming it read their credentials again.
      {
        informers: userSecrets,
        handlers: {
          keys: (secret: V1Secret) => {
            const { namespace, name, labels } = secret.metadata ?? {};
            if (labels?.[MANAGED_BY_LABEL] === MANAGED_BY) return [];
            return resources
              .list()
              .filter((resource) => resource.metadata.namespace === namespace && resource.spec.secretName === name)
              .map(keyOf);
          },
        },
      },
      // A policy's template, or which clients it governs, changed: the clients of its namespace may need other keys.
      {
        informers: policies,
        handlers: {
          keys: (policy: KeyPolicyResource) =>
            resources
              .list()
              .filter((client) => client.metadata.namespace === policy.metadata.namespace)
              .map(keyOf),
          relevant: (before: KeyPolicyResource, after: KeyPolicyResource) => before.metadata.generation !== after.metadata.generation,
        },
      },
    ] as ControllerDefinition['watches'],
    reconcile: (key) => reconciler.reconcile(key),
    onError: (key, error) => {
      const level = error instanceof RetryableError ? 'warn' : 'error';
      logger[level](
        { key, err: error instanceof RetryableError ? undefined : error, reason: (error as Error).message },
        'reconcile failed; retrying with backoff',
      );
    },
    initialKeys: () => resources.list().map(keyOf),
    periodic: [
      { everyMs: options.resyncMs, run: resync('full') },
      { everyMs: options.driftCheckMs, run: resync('drift') },
    ],
    close: () => servers.close(),
  };
}

function keyOf(resource: OAuth2ClientResource): string {
  return `${resource.metadata.namespace}/${resource.metadata.name}`;
}

function specOrMetadataChanged(before: OAuth2ClientResource, after: OAuth2ClientResource): boolean {
  return (
    before.metadata.generation !== after.metadata.generation ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp ||
    JSON.stringify(before.metadata.finalizers ?? []) !== JSON.stringify(after.metadata.finalizers ?? []) ||
    JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {})
  );
}

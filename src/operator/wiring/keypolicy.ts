import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KIND, type OAuth2ClientResource } from '../api/oauth2client.js';
import { countingEvents, countingSecrets, countingServers, type WriteCounter } from '../controller/counting.js';
import { KubeSecretPort } from '../k8s/kube-ports.js';
import { KubeKeyPolicyPort } from '../k8s/keypolicy-port.js';
import { GatehouseServerPort, type ServerConnection } from '../k8s/server-port.js';
import { governingPolicy, withPolicyTemplate, type KeyPolicyResource } from '../keypolicy/decide.js';
import type { RotationMetrics } from '../keypolicy/metrics.js';
import { KeyPolicyReconciler } from '../keypolicy/reconciler.js';
import type { ControllerDefinition, Manager } from '../manager/manager.js';
import { KubeEventRecorder } from '../runtime/events.js';
import type { InformerObject } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { KEY_POLICIES, MANAGED_SECRETS, OAUTH2_CLIENTS } from './watches.js';

export interface KeyPolicyControllerOptions {
  kube: KubeClient;
  server: ServerConnection;
  /** The OAuth2Client selector of the operator: the same watch the OAuth2Client controller uses, shared. */
  selector?: string;
  workers: number;
  logger: Logger;
  writes: WriteCounter;
  metrics: RotationMetrics;
}

/**
 * The KeyPolicy controller, declared for the manager. A policy is reconciled when it changes, when an OAuth2Client
 * of its namespace or a managed Secret changes (either may change what it governs or when), and when its next
 * rotation is due (the reconciler asks to be queued again then).
 */
export function keyPolicyController(manager: Manager, options: KeyPolicyControllerOptions): ControllerDefinition {
  const { kube, logger, writes } = options;
  const policies = manager.informers<KeyPolicyResource>(KEY_POLICIES);
  const clients = manager.informers<OAuth2ClientResource>({ ...OAUTH2_CLIENTS, ...(options.selector ? { labelSelector: options.selector } : {}) });
  const secrets = manager.informers<V1Secret & InformerObject>(MANAGED_SECRETS);
  const secretPort = new KubeSecretPort(kube, secrets);
  const servers = new GatehouseServerPort(options.server, secretPort);
  const policyPort = new KubeKeyPolicyPort(kube, policies);
  const reconciler = new KeyPolicyReconciler({
    policies: policyPort,
    // Seen as the OAuth2Client controller sees them: with the governing policy's template laid over their own.
    clients: {
      list: (namespace) =>
        clients
          .list()
          .filter((client) => client.metadata.namespace === namespace)
          .map((client) => withPolicyTemplate(client, governingPolicy(client, policies.list()))),
    },
    secrets: countingSecrets(secretPort, writes),
    servers: countingServers(servers, writes),
    events: countingEvents(new KubeEventRecorder({ kube, logger }), writes),
    metrics: options.metrics,
  });
  const keyOf = (policy: KeyPolicyResource) => `${policy.metadata.namespace}/${policy.metadata.name}`;
  const policiesIn = (namespace: string | undefined) => (namespace ? policyPort.list(namespace).map(keyOf) : []);

  return {
    name: 'keypolicy',
    workers: options.workers,
    watches: [
      {
        informers: policies,
        handlers: {
          keys: (policy: KeyPolicyResource) => [keyOf(policy)],
          // Its own status writes change nothing it reads.
          relevant: (before: KeyPolicyResource, after: KeyPolicyResource) => before.metadata.generation !== after.metadata.generation,
        },
      },
      {
        informers: clients,
        handlers: {
          keys: (client: OAuth2ClientResource) => policiesIn(client.metadata.namespace),
          // A client is rotatable only once its status names its id on the server: a new client's status lands after
          // its Secret, whose event may have found it without one.
          relevant: (before: OAuth2ClientResource, after: OAuth2ClientResource) =>
            JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {}) ||
            JSON.stringify(before.metadata.annotations ?? {}) !== JSON.stringify(after.metadata.annotations ?? {}) ||
            before.metadata.generation !== after.metadata.generation ||
            before.status?.clientId !== after.status?.clientId ||
            before.status?.secretName !== after.status?.secretName,
        },
      },
      {
        informers: secrets,
        handlers: {
          // A Secret (re)created or changed by the OAuth2Client controller may make a client rotatable.
          keys: (secret: V1Secret) =>
            secret.metadata?.ownerReferences?.some((ref) => ref.controller && ref.kind === KIND) ? policiesIn(secret.metadata?.namespace) : [],
          observe: { changed: (secret: V1Secret) => secretPort.observed(secret), deleted: (secret: V1Secret) => secretPort.observed(secret) },
        },
      },
    ] as unknown as ControllerDefinition['watches'],
    reconcile: (key) => reconciler.reconcile(key),
    onError: (key, error) => logger.warn({ key, reason: (error as Error).message }, 'KeyPolicy reconcile failed; retrying with backoff'),
    initialKeys: () => policies.list().map(keyOf),
    periodic: [],
    close: () => servers.close(),
  };
}

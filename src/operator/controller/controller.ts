import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from '../runtime/kube-client.js';
import type { Logger } from 'pino';
import type { OAuth2Client } from '../../sdk/types.js';
import { GROUP, PLURAL, VERSION, type OAuth2ClientResource } from '../api/oauth2client.js';
import { KubeResourcePort, KubeSecretPort } from '../k8s/kube-ports.js';
import { GatehouseServerPort, type ServerConnection } from '../k8s/server-port.js';
import { KubeEventRecorder } from '../runtime/events.js';
import { Informer, type InformerObject } from '../runtime/informer.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import { defaultControllerRateLimiter, OPERATOR_RATE_LIMITER_DEFAULTS } from '../runtime/rate-limiter.js';
import { WorkQueue, runWorkers, type Workers } from '../runtime/workqueue.js';
import { countingEvents, countingResources, countingSecrets, countingServers, type WriteCounter } from './counting.js';
import { OAuth2ClientReconciler, RetryableError } from './reconciler.js';
import { resourcesToQueue, type ResyncScope } from './resync.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './secret.js';

export const CONTROLLER_NAME = 'oauth2client';

export interface ControllerOptions {
  kube: KubeClient;
  server: ServerConnection;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  /** Only OAuth2Clients matching this label selector, so several operators can share a cluster. */
  selector?: string;
  workers: number;
  resyncMs: number;
  /** How often the default server's clients are listed to find lost or drifted ones (a cheaper, narrower resync). */
  driftCheckMs: number;
  logger: Logger;
  metrics: { controller: ControllerMetrics; writes: WriteCounter };
}

/**
 * One controller for OAuth2Client: informers on the resources and on the Secrets the operator manages feed a
 * de-duplicating work queue; workers run the reconciler; a periodic resync compares every resource with the
 * server's clients (paged) and queues those that drifted or vanished.
 */
export class OAuth2ClientController {
  private readonly resourceInformers: Informer<OAuth2ClientResource>[];
  private readonly secretInformers: Informer<V1Secret>[];
  private readonly queue: WorkQueue<string>;
  private readonly servers: GatehouseServerPort;
  private readonly secretPort: KubeSecretPort;
  private readonly resourcePort: KubeResourcePort;
  private readonly reconciler: OAuth2ClientReconciler;
  private workers: Workers | undefined;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private driftCheckTimer: ReturnType<typeof setInterval> | undefined;
  private resyncing = false;

  constructor(private readonly options: ControllerOptions) {
    const { kube, namespaces, selector, logger } = options;
    const scopes = namespaces.length ? namespaces : [undefined];
    this.resourceInformers = scopes.map(
      (namespace) =>
        new Informer<OAuth2ClientResource>({
          name: `oauth2clients${namespace ? `/${namespace}` : ''}`,
          kube,
          path: namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
          ...(selector ? { labelSelector: selector } : {}),
          logger,
        }),
    );
    this.secretInformers = scopes.map(
      (namespace) =>
        new Informer<V1Secret>({
          name: `secrets${namespace ? `/${namespace}` : ''}`,
          kube,
          path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
          labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
          logger,
        }),
    );
    const lookup = <T extends InformerObject>(informers: Informer<T>[]) => ({
      get: (namespace: string, name: string) => {
        for (const informer of informers) {
          const found = informer.get(namespace, name);
          if (found) return found;
        }
        return undefined;
      },
    });
    this.secretPort = new KubeSecretPort(kube, lookup(this.secretInformers));
    this.servers = new GatehouseServerPort(options.server, this.secretPort);
    this.queue = new WorkQueue<string>({
      rateLimiter: defaultControllerRateLimiter(OPERATOR_RATE_LIMITER_DEFAULTS),
      metrics: options.metrics.controller.queue(CONTROLLER_NAME),
    });
    const writes = options.metrics.writes;
    this.resourcePort = new KubeResourcePort(kube, lookup(this.resourceInformers));
    this.reconciler = new OAuth2ClientReconciler({
      resources: countingResources(this.resourcePort, writes),
      secrets: countingSecrets(this.secretPort, writes),
      servers: countingServers(this.servers, writes),
      events: countingEvents(new KubeEventRecorder({ kube, logger }), writes),
    });
    this.wireHandlers();
  }

  async start(): Promise<void> {
    await Promise.all([...this.resourceInformers, ...this.secretInformers].map((informer) => informer.start()));
    this.workers = runWorkers(this.queue, this.options.workers, (key) => this.reconciler.reconcile(key), {
      metrics: this.options.metrics.controller.controller(CONTROLLER_NAME),
      onError: (key, error) => {
        const level = error instanceof RetryableError ? 'warn' : 'error';
        this.options.logger[level](
          { key, err: error instanceof RetryableError ? undefined : error, reason: (error as Error).message },
          'reconcile failed; retrying with backoff',
        );
      },
    });
    for (const informer of this.resourceInformers) for (const resource of informer.list()) this.queue.add(keyOf(resource));
    this.resyncTimer = setInterval(() => void this.resync('full'), this.options.resyncMs);
    this.resyncTimer.unref();
    this.driftCheckTimer = setInterval(() => void this.resync('drift'), this.options.driftCheckMs);
    this.driftCheckTimer.unref();
  }

  hasSynced(): boolean {
    return [...this.resourceInformers, ...this.secretInformers].every((informer) => informer.hasSynced());
  }

  /** Finishes in-flight reconciles, then stops watching. */
  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.driftCheckTimer) clearInterval(this.driftCheckTimer);
    await this.workers?.stop();
    this.queue.shutDown();
    await Promise.all([...this.resourceInformers, ...this.secretInformers].map((informer) => informer.stop()));
    await this.servers.close();
  }

  /**
   * Pages through the default server's clients once and queues what resourcesToQueue picks: a client deleted or
   * changed on the server is restored within one drift check (30 s by default), at the cost of one list request per
   * 500 clients and no writes when nothing drifted. A pass still running when the next is due makes it skip.
   */
  async resync(scope: ResyncScope = 'full'): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      await this.resyncOnce(scope);
    } finally {
      this.resyncing = false;
    }
  }

  private async resyncOnce(scope: ResyncScope): Promise<void> {
    const resources = this.resourceInformers.flatMap((informer) => informer.list());
    const onServer = new Map<string, OAuth2Client>();
    try {
      for await (const client of this.servers.defaultClient.allClients(500)) onServer.set(client.id, client);
    } catch (error) {
      const reason = (error as Error).message;
      // The drift check is a shortcut; the full resync is the backstop that reconciles everything regardless.
      if (scope === 'drift') {
        this.options.logger.warn({ scope, reason }, 'drift check could not list the server; trying again at the next one');
        return;
      }
      this.options.logger.warn({ scope, reason }, 'resync could not list the server; queueing every resource');
      for (const resource of resources) this.queue.add(keyOf(resource));
      return;
    }
    const queued = resourcesToQueue(scope, resources, onServer, (resource) => this.servers.isDefault(resource));
    for (const resource of queued) this.queue.add(keyOf(resource));
    const level = scope === 'drift' && queued.length === 0 ? 'debug' : 'info';
    this.options.logger[level]({ scope, resources: resources.length, serverClients: onServer.size, queued: queued.length }, 'resync done');
  }

  private wireHandlers(): void {
    for (const informer of this.resourceInformers) {
      informer.onAdd((resource) => {
        this.resourcePort.observed(resource);
        this.queue.add(keyOf(resource));
      });
      informer.onUpdate((before, after) => {
        this.resourcePort.observed(after);
        // Our own status writes change nothing the reconciler reads; skipping them keeps the steady state quiet.
        if (specOrMetadataChanged(before, after)) this.queue.add(keyOf(after));
      });
      informer.onDelete((resource) => {
        this.resourcePort.forget(resource);
        this.queue.add(keyOf(resource));
      });
    }
    for (const informer of this.secretInformers) {
      const enqueueOwner = (secret: V1Secret) => {
        this.secretPort.observed(secret);
        const owner = secret.metadata?.ownerReferences?.find((ref) => ref.controller && ref.kind === 'OAuth2Client');
        if (owner && secret.metadata?.namespace) this.queue.add(`${secret.metadata.namespace}/${owner.name}`);
      };
      informer.onAdd(enqueueOwner);
      informer.onUpdate((_before, after) => enqueueOwner(after));
      informer.onDelete(enqueueOwner);
    }
  }
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

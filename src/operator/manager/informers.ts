import type { Logger } from 'pino';
import type { KubeClient } from '../runtime/kube-client.js';
import { Informer, type InformerObject } from '../runtime/informer.js';
import { httpList, httpWatch, type ListFunction, type WatchFunction } from '../runtime/informer-transport.js';

/** What to watch: a kind's collection, optionally narrowed by a label selector. */
export interface Watch {
  /** For logs and for sharing: two watches with one name and selector are one informer. */
  name: string;
  /** The collection path in a namespace, or across all namespaces when namespace is undefined. */
  path(namespace: string | undefined): string;
  labelSelector?: string;
  /** Only the objects' metadata, for a kind a controller needs to be told about but never reads from the cache. */
  metadataOnly?: boolean;
}

/**
 * One kind watched in every namespace the operator serves (one informer each, or one across the cluster), seen as a
 * single cache with one set of handlers.
 */
export class InformerSet<T extends InformerObject> {
  private readonly informers: Informer<T>[];

  constructor(watch: Watch, options: { kube: KubeClient; namespaces: readonly string[]; logger: Logger }) {
    const scopes = options.namespaces.length ? options.namespaces : [undefined];
    this.informers = scopes.map(
      (namespace) =>
        new Informer<T>({
          name: `${watch.name}${namespace ? `/${namespace}` : ''}`,
          kube: options.kube,
          path: watch.path(namespace),
          ...(watch.labelSelector ? { labelSelector: watch.labelSelector } : {}),
          ...(watch.metadataOnly ? metadataTransport<T>(options.kube) : {}),
          logger: options.logger,
        }),
    );
  }

  get(namespace: string, name: string): T | undefined {
    for (const informer of this.informers) {
      const found = informer.get(namespace, name);
      if (found) return found;
    }
    return undefined;
  }

  list(): T[] {
    return this.informers.flatMap((informer) => informer.list());
  }

  onAdd(handler: (object: T) => void): void {
    for (const informer of this.informers) informer.onAdd(handler);
  }

  onUpdate(handler: (before: T, after: T) => void): void {
    for (const informer of this.informers) informer.onUpdate(handler);
  }

  onDelete(handler: (object: T) => void): void {
    for (const informer of this.informers) informer.onDelete(handler);
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.start()));
  }

  hasSynced(): boolean {
    return this.informers.every((informer) => informer.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }
}

/**
 * List and watch as metadata only, kept down to what a watch handler needs. The annotations go: a Secret created
 * with kubectl apply carries its whole data in last-applied-configuration, which must not sit in the cache.
 */
function metadataTransport<T extends InformerObject>(kube: KubeClient): { listFactory: ListFunction<T>; watchFactory: WatchFunction<T> } {
  const list = httpList<T>(kube, 'metadata');
  const watch = httpWatch<T>(kube, 'metadata');
  return {
    listFactory: async (request, signal) => {
      const page = await list(request, signal);
      return { ...page, items: page.items.map(slim) };
    },
    watchFactory: (request, onEvent, signal) =>
      watch(request, (event) => onEvent(event.type === 'ERROR' ? event : { type: event.type, object: slim(event.object) }), signal),
  };
}

function slim<T extends InformerObject>(object: T): T {
  const { name, namespace, uid, resourceVersion, labels } = (object.metadata ?? {}) as InformerObject['metadata'] & {
    uid?: string;
    labels?: Record<string, string>;
  };
  return { ...object, metadata: { name, namespace, uid, resourceVersion, ...(labels ? { labels } : {}) } };
}

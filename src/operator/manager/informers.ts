import type { Logger } from 'pino';
import type { KubeClient } from '../runtime/kube-client.js';
import { Informer, type InformerObject } from '../runtime/informer.js';

/** What to watch: a kind's collection, optionally narrowed by a label selector. */
export interface Watch {
  /** For logs and for sharing: two watches with one name and selector are one informer. */
  name: string;
  /** The collection path in a namespace, or across all namespaces when namespace is undefined. */
  path(namespace: string | undefined): string;
  labelSelector?: string;
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

// The informer's cache and its handlers, apart from the list/watch loop that feeds them: every path into the cache
// (initial list, watch event, re-list after 410) goes through upsert/remove/replace, so handlers see one story.
import type { Logger } from 'pino';

/**
 * What the informer reads of an object. Looser than client-node's KubernetesObject on purpose: that one types
 * metadata timestamps as Date, while objects decoded from the wire (as these are) hold strings.
 */
export interface InformerObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** The cache key: namespace/name, or name for cluster-scoped objects. */
export function objectKey(object: InformerObject): string {
  const { namespace, name = '' } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

type Handler<A extends unknown[]> = (...args: A) => void;

export class InformerStore<T extends InformerObject> {
  private readonly objects = new Map<string, T>();
  private readonly addHandlers = new Set<Handler<[T]>>();
  private readonly updateHandlers = new Set<Handler<[T, T]>>();
  private readonly deleteHandlers = new Set<Handler<[T]>>();

  constructor(private readonly log: Logger) {}

  onAdd(handler: (object: T) => void): () => void {
    this.addHandlers.add(handler);
    return () => void this.addHandlers.delete(handler);
  }

  onUpdate(handler: (oldObject: T, newObject: T) => void): () => void {
    this.updateHandlers.add(handler);
    return () => void this.updateHandlers.delete(handler);
  }

  onDelete(handler: (object: T) => void): () => void {
    this.deleteHandlers.add(handler);
    return () => void this.deleteHandlers.delete(handler);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  /** An add for a new key; an update only when the resourceVersion changed (a re-delivery is not a change). */
  upsert(object: T): void {
    const key = objectKey(object);
    const old = this.objects.get(key);
    this.objects.set(key, object);
    if (!old) this.emit(this.addHandlers, object);
    else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.emit(this.updateHandlers, old, object);
  }

  /** Handlers get the object as passed (a DELETED event's final state). */
  remove(object: T): void {
    if (this.objects.delete(objectKey(object))) this.emit(this.deleteHandlers, object);
  }

  /** Makes the cache equal to a fresh list, telling handlers what changed while no watch was looking. */
  replace(items: T[]): void {
    const fresh = new Map(items.map((item) => [objectKey(item), item]));
    for (const [key, old] of this.objects) {
      if (fresh.has(key)) continue;
      this.objects.delete(key);
      this.emit(this.deleteHandlers, old);
    }
    for (const item of fresh.values()) this.upsert(item);
  }

  private emit<A extends unknown[]>(handlers: Set<Handler<A>>, ...args: A): void {
    for (const handler of handlers) {
      try {
        handler(...args);
      } catch (error) {
        // One broken handler must not stop the cache from following the server, nor starve the other handlers.
        this.log.error({ err: error }, 'an informer event handler threw');
      }
    }
  }
}

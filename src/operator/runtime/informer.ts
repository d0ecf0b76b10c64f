// A list-then-watch cache of one collection that never gives up: client-node's own informer (re-checked on 2.0) still
// stops for good on a non-410 error and lists without paging, and an operator whose watch silently died stops
// reconciling without a trace.
import type { KubeClient } from './kube-client.js';
import pino, { type Logger } from 'pino';
import { KubeApiError, httpList, httpWatch, isGone, type KubeStatus, type ListFunction, type WatchEvent, type WatchFunction } from './informer-transport.js';

import { InformerStore, objectKey, type InformerObject } from './informer-store.js';
import { sleepUnlessAborted } from './sleep.js';

export { KubeApiError, isGone } from './informer-transport.js';
export type { KubeStatus, ListFunction, ListPage, ListRequest, WatchEvent, WatchFunction, WatchRequest } from './informer-transport.js';
export { objectKey, type InformerObject } from './informer-store.js';

export interface InformerOptions<T extends InformerObject> {
  /** For logs. */
  name: string;
  kube: KubeClient;
  /** Collection path, e.g. /api/v1/namespaces/ns/secrets or /apis/gatehouse.dev/v1alpha1/oauth2clients. */
  path: string;
  labelSelector?: string;
  /** Restart a watch that delivered nothing, not even a BOOKMARK, for this long. */
  watchdogMs?: number;
  /** Sent as timeoutSeconds, so the server ends each watch and a fresh one is opened regularly. */
  serverTimeoutSeconds?: number;
  pageSize?: number;
  /** Delay before restarting after a failure: doubles from initialMs up to maxMs, reset once a watch delivers. */
  backoff?: { initialMs: number; maxMs: number };
  listTimeoutMs?: number;
  logger?: Logger;
  listFactory?: ListFunction<T>;
  watchFactory?: WatchFunction<T>;
}

export interface InformerStats {
  /** Complete lists, the first one included. */
  lists: number;
  /** Watches opened after the first one (after an end, an error, a 410 or the watchdog). */
  watchRestarts: number;
  watchdogTimeouts: number;
  /** 410 Gone answers (an ERROR event or an HTTP status), each followed by a re-list. */
  gone: number;
}

export class InformerStoppedError extends Error {
  override name = 'InformerStoppedError';
}

class WatchdogTimeout extends Error {
  override name = 'WatchdogTimeout';
}

// Kubernetes' own apiserver sends a BOOKMARK on an idle watch about once a minute (cacher's bookmarkFrequency), so
// a watchdog at exactly 60 s would race every idle watch's heartbeat; 90 s leaves room for one late bookmark.
const DEFAULT_WATCHDOG_MS = 90_000;
const DEFAULT_SERVER_TIMEOUT_SECONDS = 300;
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_BACKOFF = { initialMs: 200, maxMs: 10_000 };
const DEFAULT_LIST_TIMEOUT_MS = 60_000;

export class Informer<T extends InformerObject> {
  private readonly store: InformerStore<T>;
  private readonly stopController = new AbortController();
  private readonly counters: InformerStats = { lists: 0, watchRestarts: 0, watchdogTimeouts: 0, gone: 0 };
  private readonly log: Logger;
  private readonly listPage: ListFunction<T>;
  private readonly openWatch: WatchFunction<T>;
  private readonly watchdogMs: number;
  private readonly serverTimeoutSeconds: number;
  private readonly pageSize: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly listTimeoutMs: number;
  private failures = 0;
  private watches = 0;
  private lastResourceVersion = '';
  private synced = false;
  private started: Promise<void> | undefined;
  private settleStart: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: InformerOptions<T>) {
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ informer: options.name });
    this.store = new InformerStore<T>(this.log);
    this.listPage = options.listFactory ?? httpList<T>(options.kube);
    this.openWatch = options.watchFactory ?? httpWatch<T>(options.kube);
    this.watchdogMs = options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
    this.serverTimeoutSeconds = options.serverTimeoutSeconds ?? DEFAULT_SERVER_TIMEOUT_SECONDS;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  }

  /** Handlers see the objects of the first list as adds; register them before start(), later ones get no replay. */
  onAdd(handler: (object: T) => void): () => void {
    return this.store.onAdd(handler);
  }

  /** Called only when the resourceVersion changed. */
  onUpdate(handler: (oldObject: T, newObject: T) => void): () => void {
    return this.store.onUpdate(handler);
  }

  /** Gets the object's final state, or the last cached one when the deletion was only noticed by a re-list. */
  onDelete(handler: (object: T) => void): () => void {
    return this.store.onDelete(handler);
  }

  /** Resolves once the first list is in the cache; rejects with InformerStoppedError if stopped before that. */
  start(): Promise<void> {
    if (this.stopController.signal.aborted) return Promise.reject(new InformerStoppedError(`informer ${this.options.name} was stopped`));
    if (!this.started) {
      this.started = new Promise<void>((resolve, reject) => (this.settleStart = { resolve, reject }));
      // The caller may drop this promise; a stop before the first list must not surface as an unhandled rejection.
      this.started.catch(() => undefined);
      this.loop = this.run();
    }
    return this.started;
  }

  /** Ends the watch and every timer; resolves when no handler can be called any more. */
  async stop(): Promise<void> {
    if (!this.stopController.signal.aborted) {
      this.stopController.abort();
      this.settleStart?.reject(new InformerStoppedError(`informer ${this.options.name} stopped before its first list`));
    }
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(objectKey({ metadata: { namespace, name } }));
  }

  getByKey(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  get stats(): InformerStats {
    return { ...this.counters };
  }

  /** The version the next watch would start from. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    let needsList = true;
    while (!this.stopped) {
      let listed = false;
      if (needsList) {
        try {
          await this.relist();
          needsList = false;
          listed = true;
        } catch (error) {
          if (this.stopped) break;
          this.log.warn({ err: error }, 'list failed; retrying');
          await sleepUnlessAborted(this.nextDelay(), this.stopController.signal);
          continue;
        }
      }
      if (this.watches++ > 0) this.counters.watchRestarts++;
      const { delivered, failure } = await this.watchOnce();
      if (this.stopped) break;
      if (delivered > 0) this.failures = 0;
      if (failure === undefined) {
        this.log.debug({ delivered }, 'watch ended; resuming');
      } else if (isGone(failure)) {
        this.counters.gone++;
        needsList = true;
        this.log.info({ err: failure, resourceVersion: this.lastResourceVersion }, 'resourceVersion gone (410); re-listing');
        // Expected for a watch resumed from an old version (e.g. after an API server restart): re-list at once. Only
        // a 410 on the watch opened right after a fresh list, before any event, hints at a loop worth slowing down.
        if (!listed || delivered > 0) continue;
      } else if (failure instanceof WatchdogTimeout) {
        this.log.info({ resourceVersion: this.lastResourceVersion }, `${failure.message}; restarting the watch`);
        // It was silent for watchdogMs already; waiting longer would only widen the gap.
        continue;
      } else {
        this.log.warn({ err: failure, resourceVersion: this.lastResourceVersion }, 'watch failed; restarting');
      }
      // A watch that ends at once without any event would otherwise be reopened in a tight loop.
      if (failure !== undefined || delivered === 0) await sleepUnlessAborted(this.nextDelay(), this.stopController.signal);
    }
    this.log.debug('stopped');
  }

  private nextDelay(): number {
    const { initialMs, maxMs } = this.backoff;
    return Math.min(initialMs * 2 ** this.failures++, maxMs);
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const request = { path: this.options.path, labelSelector: this.options.labelSelector, limit: this.pageSize, continue: continueToken };
      const page = await this.withDeadline(this.listTimeoutMs, (signal) => this.listPage(request, signal));
      for (const item of page.items) items.push(item);
      resourceVersion = page.resourceVersion;
      continueToken = page.continue;
    } while (continueToken);
    if (this.stopped) return;
    this.store.replace(items);
    this.lastResourceVersion = resourceVersion;
    this.counters.lists++;
    this.log.debug({ items: items.length, resourceVersion }, 'listed');
    if (!this.synced) {
      this.synced = true;
      this.settleStart?.resolve();
    }
  }

  private async watchOnce(): Promise<{ delivered: number; failure: unknown }> {
    const watch = new AbortController();
    const abort = (): void => watch.abort();
    this.stopController.signal.addEventListener('abort', abort, { once: true });
    let delivered = 0;
    let failure: unknown;
    const watchdog = setTimeout(() => {
      this.counters.watchdogTimeouts++;
      failure = new WatchdogTimeout(`no event, not even a BOOKMARK, for ${this.watchdogMs} ms`);
      watch.abort();
    }, this.watchdogMs);
    const request = {
      path: this.options.path,
      labelSelector: this.options.labelSelector,
      resourceVersion: this.lastResourceVersion,
      timeoutSeconds: this.serverTimeoutSeconds,
      allowWatchBookmarks: true,
    };
    try {
      await this.openWatch(
        request,
        (event) => {
          if (watch.signal.aborted) return;
          watchdog.refresh();
          if (event.type === 'ERROR') {
            failure = statusError(event.object);
            watch.abort();
            return;
          }
          delivered++;
          this.apply(event);
        },
        watch.signal,
      );
    } catch (error) {
      failure ??= error;
    } finally {
      clearTimeout(watchdog);
      this.stopController.signal.removeEventListener('abort', abort);
      watch.abort();
    }
    return { delivered, failure };
  }

  private apply(event: Exclude<WatchEvent<T>, { type: 'ERROR' }>): void {
    const object = event.object;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.store.upsert(object);
        break;
      case 'DELETED':
        this.store.remove(object);
        break;
      case 'BOOKMARK':
        break;
      default:
        this.log.warn({ type: (event as { type: unknown }).type }, 'ignoring a watch event of unknown type');
        return;
    }
    this.lastResourceVersion = object.metadata?.resourceVersion ?? this.lastResourceVersion;
  }

  private async withDeadline<R>(ms: number, call: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const request = new AbortController();
    const abort = (): void => request.abort();
    this.stopController.signal.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(() => request.abort(new Error(`request timed out after ${ms} ms`)), ms);
    try {
      return await call(request.signal);
    } finally {
      clearTimeout(timer);
      this.stopController.signal.removeEventListener('abort', abort);
    }
  }
}

function statusError(status: KubeStatus): KubeApiError {
  const code = status.code ?? 500;
  return new KubeApiError(code, status, `watch ERROR event ${code} ${status.reason ?? ''}: ${status.message ?? ''}`.trim());
}

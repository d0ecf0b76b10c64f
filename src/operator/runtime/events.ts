// core/v1 Events the way client-go's recorder writes them, so `kubectl describe` shows "x3 over 5m" instead of a wall
// of copies: an identical event within the aggregation window bumps count/lastTimestamp of the Event already
// written. Recording is fire-and-forget; an Event is a diagnostic and must never fail or slow down a reconcile.
import type { CoreV1Event } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { statusCodeOf, type KubeClient } from './kube-client.js';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

/** The two calls the recorder makes, shaped as client-node's CoreV1Api has them; tests pass a fake. */
export interface EventsApi {
  createNamespacedEvent(request: { namespace: string; body: CoreV1Event }): Promise<unknown>;
  patchNamespacedEvent(request: { name: string; namespace: string; body: object }): Promise<unknown>;
}

function eventsApi(kube: KubeClient): EventsApi {
  const collection = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  return {
    createNamespacedEvent: ({ namespace, body }) => kube.request('POST', collection(namespace), { body }),
    patchNamespacedEvent: ({ name, namespace, body }) =>
      kube.request('PATCH', `${collection(namespace)}/${encodeURIComponent(name)}`, { body, contentType: 'application/merge-patch+json' }),
  };
}

export interface EventRecorderOptions {
  kube: KubeClient;
  /** source.component of every Event. */
  component?: string;
  /** source.host, e.g. the pod name. */
  host?: string;
  logger?: Logger;
  /** Sustained writes per second over all objects; the excess is dropped (and logged at debug). */
  ratePerSecond?: number;
  burst?: number;
  aggregationWindowMs?: number;
  /** Identical-event series remembered for aggregation; the least recently seen is forgotten first. */
  maxTracked?: number;
  api?: EventsApi;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  lastSeenMs: number;
}

export class KubeEventRecorder {
  private readonly api: EventsApi;
  private readonly log: Logger;
  private readonly component: string;
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly series = new Map<string, Series>();
  /** Per series, the last write queued: a repeat must wait for the create it would patch. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private tokens: number;
  private refilledAt = Date.now();
  private sequence = 0;
  private droppedCount = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.api = options.api ?? eventsApi(options.kube);
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'event-recorder' });
    this.component = options.component ?? 'gatehouse-operator';
    this.ratePerSecond = options.ratePerSecond ?? 20;
    this.burst = options.burst ?? 25;
    this.windowMs = options.aggregationWindowMs ?? 10 * 60_000;
    this.maxTracked = options.maxTracked ?? 4096;
    this.tokens = this.burst;
  }

  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    try {
      if (!this.takeToken()) {
        this.droppedCount++;
        this.log.debug({ reason, object: object.metadata.name }, 'event dropped by the rate limit');
        return;
      }
      const { apiVersion, kind, metadata } = object;
      const key = JSON.stringify([apiVersion, kind, metadata.namespace, metadata.name, metadata.uid, type, reason, message]);
      const at = Date.now();
      const write = (this.chains.get(key) ?? Promise.resolve()).then(() => this.write(key, object, type, reason, message, at));
      this.chains.set(key, write);
      this.pending.add(write);
      void write.finally(() => {
        this.pending.delete(write);
        if (this.chains.get(key) === write) this.chains.delete(key);
      });
    } catch (error) {
      this.log.warn({ err: error, reason }, 'could not record an event');
    }
  }

  /** Resolves when every event recorded so far has been written (or has failed); for shutdown and tests. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
  }

  /** Events dropped by the rate limit since start. */
  get dropped(): number {
    return this.droppedCount;
  }

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.ratePerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async write(key: string, object: InvolvedObject, type: EventType, reason: string, message: string, at: number): Promise<void> {
    try {
      const known = this.series.get(key);
      if (known && at - known.lastSeenMs < this.windowMs && (await this.bump(key, known, at))) return;
      await this.create(key, object, type, reason, message, at);
    } catch (error) {
      this.log.warn({ err: error, reason, object: object.metadata.name }, 'could not write an event');
    }
  }

  /** false when the Event is gone (expired after the server's event TTL, or deleted), so a new one is due. */
  private async bump(key: string, series: Series, at: number): Promise<boolean> {
    try {
      await this.api.patchNamespacedEvent({
        name: series.name,
        namespace: series.namespace,
        body: { count: series.count + 1, lastTimestamp: new Date(at).toISOString() },
      });
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        this.series.delete(key);
        return false;
      }
      throw error;
    }
    series.count += 1;
    series.lastSeenMs = at;
    this.remember(key, series);
    return true;
  }

  private async create(key: string, object: InvolvedObject, type: EventType, reason: string, message: string, at: number): Promise<void> {
    const { apiVersion, kind, metadata } = object;
    // Events of cluster-scoped objects live in "default", as client-go puts them.
    const namespace = metadata.namespace || 'default';
    // client-go names Events <object>.<unix nanoseconds in hex>; the sequence keeps two in one millisecond apart.
    const name = `${metadata.name}.${(BigInt(at) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
    const when = new Date(at);
    const body: CoreV1Event = {
      metadata: { name, namespace },
      involvedObject: { apiVersion, kind, name: metadata.name, namespace: metadata.namespace, uid: metadata.uid },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.options.host ? { host: this.options.host } : {}) },
      firstTimestamp: when,
      lastTimestamp: when,
      count: 1,
    };
    await this.api.createNamespacedEvent({ namespace, body });
    this.remember(key, { namespace, name, count: 1, lastSeenMs: at });
  }

  private remember(key: string, series: Series): void {
    // Re-inserting moves the key to the end, so the Map's first key is always the least recently seen.
    this.series.delete(key);
    this.series.set(key, series);
    if (this.series.size > this.maxTracked) this.series.delete(this.series.keys().next().value as string);
  }
}

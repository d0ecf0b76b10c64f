import type { Logger } from 'pino';
import type { KubeClient } from '../runtime/kube-client.js';
import type { InformerObject } from '../runtime/informer.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import { defaultControllerRateLimiter, OPERATOR_RATE_LIMITER_DEFAULTS } from '../runtime/rate-limiter.js';
import { WorkQueue, runWorkers, type ReconcileResult, type Workers } from '../runtime/workqueue.js';
import { InformerSet, type Watch } from './informers.js';

/** How a watched object's changes map to the keys ("namespace/name") of the controller's queue. */
export interface WatchHandlers<T> {
  /** The keys to reconcile when this object is added, changed or deleted. */
  keys(object: T): string[];
  /** A change that needs no reconcile (e.g. the controller's own status write) is skipped. */
  relevant?(before: T, after: T): boolean;
  /** Told of every change before it is queued (caches of what the controller wrote itself). */
  observe?: { changed(object: T): void; deleted(object: T): void };
}

/** A controller as the manager runs it: its name, what it watches, how it reconciles a key, and periodic work. */
export interface ControllerDefinition {
  name: string;
  workers: number;
  watches: { informers: InformerSet<InformerObject>; handlers: WatchHandlers<InformerObject> }[];
  reconcile(key: string): Promise<ReconcileResult>;
  onError(key: string, error: unknown): void;
  /** Keys to queue when the controller starts (its primary resources). */
  initialKeys(): string[];
  periodic: { everyMs: number; run(queue: { add(key: string): void }): Promise<void> }[];
  /** Closed after the workers stop. */
  close?(): Promise<void>;
}

/**
 * Runs controllers the way controller-runtime's manager does: one informer per watched kind and selector, shared by
 * every controller that watches it, started once; a work queue and workers per controller; periodic jobs. Leader
 * election stays outside (the operator starts the manager when it leads).
 */
export class Manager {
  private readonly informerSets = new Map<string, InformerSet<InformerObject>>();
  private readonly controllers: { definition: ControllerDefinition; queue: WorkQueue<string> }[] = [];
  private readonly running: { workers: Workers; timers: ReturnType<typeof setInterval>[] }[] = [];

  constructor(private readonly options: { kube: KubeClient; namespaces: readonly string[]; logger: Logger; metrics: ControllerMetrics }) {}

  /** The shared cache of a watch: the same object for every caller asking for the same name and selector. */
  informers<T extends InformerObject>(watch: Watch): InformerSet<T> {
    const key = `${watch.name}?${watch.labelSelector ?? ''}`;
    let set = this.informerSets.get(key);
    if (!set) {
      set = new InformerSet<InformerObject>(watch, this.options);
      this.informerSets.set(key, set);
    }
    return set as unknown as InformerSet<T>;
  }

  /** Before start: its handlers see the informers' first list too. */
  add(controller: ControllerDefinition): void {
    const queue = new WorkQueue<string>({
      rateLimiter: defaultControllerRateLimiter(OPERATOR_RATE_LIMITER_DEFAULTS),
      metrics: this.options.metrics.queue(controller.name),
    });
    for (const { informers, handlers } of controller.watches) {
      const enqueue = (object: InformerObject) => {
        for (const key of handlers.keys(object)) queue.add(key);
      };
      informers.onAdd((object) => {
        handlers.observe?.changed(object);
        enqueue(object);
      });
      informers.onUpdate((before, after) => {
        handlers.observe?.changed(after);
        if (!handlers.relevant || handlers.relevant(before, after)) enqueue(after);
      });
      informers.onDelete((object) => {
        handlers.observe?.deleted(object);
        enqueue(object);
      });
    }
    this.controllers.push({ definition: controller, queue });
  }

  async start(): Promise<void> {
    await Promise.all([...this.informerSets.values()].map((set) => set.start()));
    for (const { definition, queue } of this.controllers) this.running.push(this.run(definition, queue));
  }

  hasSynced(): boolean {
    return [...this.informerSets.values()].every((set) => set.hasSynced());
  }

  /** Finishes in-flight reconciles, then stops watching. */
  async stop(): Promise<void> {
    for (const { timers } of this.running) for (const timer of timers) clearInterval(timer);
    await Promise.all(this.running.map(({ workers }) => workers.stop()));
    for (const { queue } of this.controllers) queue.shutDown();
    await Promise.all([...this.informerSets.values()].map((set) => set.stop()));
    for (const { definition } of this.controllers) await definition.close?.();
  }

  private run(controller: ControllerDefinition, queue: WorkQueue<string>) {
    const workers = runWorkers(queue, controller.workers, (key) => controller.reconcile(key), {
      metrics: this.options.metrics.controller(controller.name),
      onError: (key, error) => controller.onError(key, error),
    });
    for (const key of controller.initialKeys()) queue.add(key);
    const timers = controller.periodic.map(({ everyMs, run }) => {
      const timer = setInterval(() => void run(queue), everyMs);
      timer.unref();
      return timer;
    });
    return { workers, timers };
  }
}

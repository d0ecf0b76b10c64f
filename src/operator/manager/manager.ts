import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../runtime/kube-client.js';
import type { InformerObject } from '../runtime/informer.js';
import { LeaderElector, type LeaderElectorOptions } from '../runtime/leader-election.js';
import { ControllerMetrics } from '../runtime/metrics.js';
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

export interface ManagerOptions {
  kube: KubeClient;
  /** Namespaces to watch; empty for all. */
  namespaces: readonly string[];
  logger: Logger;
  /** Where the controllers' queue, reconcile and leader-election metrics are registered. */
  registry: Registry;
  /** The Lease that decides which replica runs the controllers; absent: this process always runs them. */
  leaderElection?: Pick<LeaderElectorOptions, 'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
}

/**
 * Runs controllers the way controller-runtime's manager does: one informer per watched kind and selector, shared by
 * every controller that watches it; a work queue and workers per controller; periodic jobs; their metrics; and
 * leader election, so that informers and controllers start only in the replica holding the Lease. A replica that
 * loses it reports it through lostLeadership at once, without waiting for in-flight reconciles, and its process exits
 * as controller-runtime's does, so no reconcile outlives the leadership and a fresh process starts from a clean cache.
 */
export class Manager {
  readonly metrics: ControllerMetrics;
  /** Resolves when the Lease was lost or the controllers could not start: the process must exit without draining. */
  readonly lostLeadership: Promise<void>;
  private readonly informerSets = new Map<string, InformerSet<InformerObject>>();
  private readonly controllers: { definition: ControllerDefinition; queue: WorkQueue<string> }[] = [];
  private readonly running: { workers: Workers; timers: ReturnType<typeof setInterval>[] }[] = [];
  private elector: LeaderElector | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private signalLost: () => void = () => {};

  constructor(private readonly options: ManagerOptions) {
    this.metrics = new ControllerMetrics(options.registry);
    this.lostLeadership = new Promise<void>((resolve) => (this.signalLost = resolve));
  }

  /** The shared cache of a watch: the same object for every caller asking for the same name and selector. */
  informers<T extends InformerObject>(watch: Watch): InformerSet<T> {
    const key = `${watch.name}?${watch.labelSelector ?? ''}${watch.metadataOnly ? '&metadata' : ''}`;
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
      metrics: this.metrics.queue(controller.name),
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

  /**
   * Without leader election: starts the informers and controllers, resolving once they run. With it: campaigns for
   * the Lease and returns at once; the controllers start when this replica leads.
   */
  async start(): Promise<void> {
    const election = this.options.leaderElection;
    if (!election) {
      await this.startControllers();
      return;
    }
    const { logger } = this.options;
    const leading = this.metrics.leaderElection(election.name);
    this.elector = new LeaderElector({
      kube: this.options.kube,
      ...election,
      logger,
      onStartedLeading: () => {
        leading.leading(true);
        logger.info({ identity: election.identity }, 'became leader');
        this.startControllers().catch((error: unknown) => {
          logger.error({ err: error }, 'controllers failed to start');
          this.signalLost();
        });
      },
      onStoppedLeading: () => {
        leading.leading(false);
        logger.warn({ identity: election.identity }, 'lost leadership; stopping');
        // Reported at once, not after in-flight reconciles drain: one KeyPolicy reconcile may rotate hundreds of
        // clients, and the new leader starts its own a few seconds after this replica stopped renewing. The process
        // exits on this (as controller-runtime's does), so nothing started as leader runs beside the next leader.
        this.signalLost();
        void this.stopControllers();
      },
    });
    void this.elector.run();
  }

  isLeader(): boolean {
    return !this.elector || this.elector.isLeader();
  }

  /** Ready for traffic: a standby replica (healthy, waiting for the Lease), or a leader whose caches have synced. */
  ready(): boolean {
    if (!this.started) return Boolean(this.elector);
    return [...this.informerSets.values()].every((set) => set.hasSynced());
  }

  /** Finishes in-flight reconciles, stops watching, and gives up the Lease. */
  async stop(): Promise<void> {
    await this.stopControllers();
    await this.elector?.stop();
  }

  private async startControllers(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informerSets.values()].map((set) => set.start()));
    for (const { definition, queue } of this.controllers) this.running.push(this.run(definition, queue));
    const { namespaces } = this.options;
    this.options.logger.info(
      { namespaces: namespaces.length ? namespaces : 'all', controllers: this.controllers.map((c) => c.definition.name) },
      'controllers started',
    );
  }

  private stopControllers(): Promise<void> {
    // Once: losing the Lease and a shutdown may both ask.
    this.stopping ??= this.started ? this.stopRunning() : Promise.resolve();
    return this.stopping;
  }

  private async stopRunning(): Promise<void> {
    for (const { timers } of this.running) for (const timer of timers) clearInterval(timer);
    await Promise.all(this.running.map(({ workers }) => workers.stop()));
    for (const { queue } of this.controllers) queue.shutDown();
    await Promise.all([...this.informerSets.values()].map((set) => set.stop()));
    for (const { definition } of this.controllers) await definition.close?.();
  }

  private run(controller: ControllerDefinition, queue: WorkQueue<string>) {
    const workers = runWorkers(queue, controller.workers, (key) => controller.reconcile(key), {
      metrics: this.metrics.controller(controller.name),
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

// A de-duplicating, delaying, rate-limited work queue with client-go's semantics: level-triggered controllers rely on
// "a key is queued at most once and never processed by two workers at once", so those rules live here, not in callers.
// Type-only: the queue reports through these hooks, so it never loads prom-client and tests can pass plain objects.
import type { ReconcileMetrics, ReconcileOutcome, UnfinishedWork, WorkQueueMetrics } from './metrics.js';
import { type Clock, type RateLimiter, defaultControllerRateLimiter, monotonicClock } from './rate-limiter.js';

export interface WorkQueueOptions<K> {
  rateLimiter?: RateLimiter<K>;
  metrics?: WorkQueueMetrics;
  clock?: Clock;
}

// setTimeout fires after 1 ms when given more than 2^31-1 ms; a long wait is re-armed instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Keys are compared by identity (Map/Set), so use strings such as "namespace/name". */
export class WorkQueue<K extends NonNullable<unknown> = string> {
  private ready: K[] = [];
  private head = 0;
  /** Keys that need processing: queued ones, and in-flight ones added again (re-queued on done). */
  private readonly dirty = new Set<K>();
  private readonly processing = new Map<K, number>();
  private readonly addedAt = new Map<K, number>();
  private readonly waiting = new Map<K, { readyAt: number; seq: number }>();
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private getters: ((key: K | undefined) => void)[] = [];
  private drainers: (() => void)[] = [];
  private stopping = false;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly clock: Clock;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.metrics = options.metrics;
    this.clock = options.clock ?? monotonicClock;
    this.metrics?.watchUnfinishedWork(() => this.unfinishedWork());
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  add(key: K): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock());
    this.metrics?.added();
    this.metrics?.depth(this.dirty.size);
    // An in-flight key stays out of the ready list; done() puts it back, so it never runs twice at once.
    if (!this.processing.has(key)) this.push(key);
  }

  /** The earliest pending delay per key wins; a plain add() meanwhile is immediate and leaves the delay pending. */
  addAfter(key: K, ms: number): void {
    if (this.stopping) return;
    this.metrics?.retried();
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.clock() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    this.waiting.set(key, { readyAt, seq: this.seq++ });
    if (readyAt < this.timerAt) this.arm(readyAt);
  }

  addRateLimited(key: K): void {
    // Checked first so a late failure during shutdown does not count towards the key's backoff.
    if (this.stopping) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.retries(key);
  }

  /** Resolves with the next key, now owned by the caller until done(key); undefined once the queue shuts down. */
  get(): Promise<K | undefined> {
    if (this.stopping) return Promise.resolve(undefined);
    if (this.len() > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration(this.seconds(started));
    if (this.dirty.has(key)) this.push(key);
    else if (this.processing.size === 0 && this.stopping) this.resolveDrainers();
  }

  /** Keys ready to be handed out (not counting delayed ones or in-flight ones waiting for done). */
  len(): number {
    return this.ready.length - this.head;
  }

  /**
   * Stops at once: waiters get undefined and pending keys are dropped. Dropping is safe for a level-triggered
   * controller: whoever runs next re-lists everything. Also releases a pending shutDownWithDrain().
   */
  shutDown(): void {
    this.stop();
    this.resolveDrainers();
  }

  /** Like shutDown() but resolves only once every in-flight key is done, so graceful termination loses no work. */
  shutDownWithDrain(): Promise<void> {
    this.stop();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private stop(): void {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.waiting.clear();
    this.ready = [];
    this.head = 0;
    this.dirty.clear();
    this.addedAt.clear();
    this.metrics?.depth(0);
    const getters = this.getters;
    this.getters = [];
    for (const resolve of getters) resolve(undefined);
  }

  private push(key: K): void {
    this.ready.push(key);
    // Handing the key to a waiting worker synchronously means no second worker can grab it in between.
    while (this.getters.length > 0 && this.len() > 0) this.getters.shift()?.(this.take());
  }

  private take(): K {
    const key = this.ready[this.head] as K;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    const now = this.clock();
    this.processing.set(key, now);
    this.dirty.delete(key);
    const addedAt = this.addedAt.get(key);
    this.addedAt.delete(key);
    this.metrics?.depth(this.dirty.size);
    if (addedAt !== undefined) this.metrics?.queueLatency((now - addedAt) / 1000);
    return key;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    const delay = Math.min(Math.max(0, at - this.clock()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.flush(), delay);
    // A pending requeue must not keep the process alive on its own.
    this.timer.unref?.();
  }

  private flush(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock();
    const due = [...this.waiting].filter(([, w]) => w.readyAt <= now);
    due.sort(([, a], [, b]) => a.readyAt - b.readyAt || a.seq - b.seq);
    for (const [key] of due) {
      this.waiting.delete(key);
      this.add(key);
    }
    // A timer that fired early (or was capped) simply re-arms for what is left.
    let next = Infinity;
    for (const w of this.waiting.values()) next = Math.min(next, w.readyAt);
    if (next < Infinity) this.arm(next);
  }

  private unfinishedWork(): UnfinishedWork {
    const seconds = [...this.processing.values()].map((started) => this.seconds(started));
    return { totalSeconds: seconds.reduce((a, b) => a + b, 0), longestSeconds: Math.max(0, ...seconds) };
  }

  private seconds(since: number): number {
    return Math.max(0, this.clock() - since) / 1000;
  }

  private resolveDrainers(): void {
    const drainers = this.drainers;
    this.drainers = [];
    for (const resolve of drainers) resolve();
  }
}

/** `requeue` is controller-runtime's Requeue: try again with backoff although nothing failed. */
export type ReconcileResult = { requeueAfterMs?: number; requeue?: boolean } | void;

export interface RunWorkersOptions<K> {
  /** Every failed reconcile; the key is already re-queued with backoff. A throwing callback is ignored. */
  onError: (key: K, error: unknown) => void;
  metrics?: ReconcileMetrics;
  clock?: Clock;
}

export interface Workers {
  /** Shuts the queue down with drain: resolves once in-flight reconciles have finished and every worker exited. */
  stop(): Promise<void>;
}

export function runWorkers<K extends NonNullable<unknown>>(
  queue: WorkQueue<K>,
  count: number,
  reconcile: (key: K) => Promise<ReconcileResult>,
  options: RunWorkersOptions<K>,
): Workers {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`worker count must be an integer >= 1, got ${count}`);
  const { onError, metrics, clock = monotonicClock } = options;
  metrics?.maxConcurrentReconciles(count);

  const handle = async (key: K): Promise<void> => {
    const started = clock();
    let outcome: ReconcileOutcome;
    try {
      const result = (await reconcile(key)) ?? {};
      const after = result.requeueAfterMs ?? 0;
      // Same precedence as controller-runtime: requeueAfter wins over requeue, and both keep the key queued.
      if (after > 0) {
        queue.forget(key);
        queue.addAfter(key, after);
        outcome = 'requeue_after';
      } else if (result.requeue) {
        queue.addRateLimited(key);
        outcome = 'requeue';
      } else {
        queue.forget(key);
        outcome = 'success';
      }
    } catch (error) {
      queue.addRateLimited(key);
      outcome = 'error';
      try {
        onError(key, error);
      } catch {
        // A broken error reporter must not kill the worker and stall every key behind it.
      }
    }
    metrics?.reconciled(outcome, Math.max(0, clock() - started) / 1000);
  };

  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      metrics?.activeWorkers(1);
      try {
        await handle(key);
      } finally {
        metrics?.activeWorkers(-1);
        queue.done(key);
      }
    }
  };

  const exited = Promise.all(Array.from({ length: count }, worker));
  return {
    async stop() {
      await queue.shutDownWithDrain();
      await exited;
    },
  };
}

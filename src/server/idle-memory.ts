import { getHeapStatistics } from 'node:v8';

/** V8's `gc` as `--expose-gc` installs it (the launcher gives `serve` that flag). */
export type CollectGarbage = (options: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => Promise<void> | void;

export interface IdleMemorySettings {
  /** A whole period without a request counts as idle; the check runs once per period. */
  idleMs: number;
  /** Heap growth since the last collection below which a collection is not worth its pause. */
  minGrowthBytes: number;
}

/**
 * Gives back the heap a burst of load made V8 grow, once the server is idle. V8 sizes its heap for the load it saw
 * and keeps that size: after a burst of token requests `serve` held 80–90 MiB of heap with under 30 MiB live, and V8's
 * own memory reducer only acts on a timer of its own, seconds later and not always. A memory-reducing full collection
 * costs a pause of a few tens of milliseconds, so it runs only when no request has arrived for a whole period
 * (nobody waits for it then), only after a busy period, and only when the heap grew enough to be worth it.
 */
export class IdleMemoryReclaimer {
  private requestsThisPeriod = 0;
  private busySinceCollection = false;
  private heapAfterCollection: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private collecting: Promise<void> | undefined;

  constructor(
    private readonly collect: CollectGarbage,
    private readonly settings: IdleMemorySettings,
    private readonly onCollected: (freedBytes: number) => void = () => {},
    private readonly onFailed: (error: unknown) => void = () => {},
    private readonly heapSize: () => number = () => getHeapStatistics().total_heap_size,
  ) {
    this.heapAfterCollection = this.heapSize();
  }

  private inFlight = 0;

  /**
   * Called when a request arrives; `finished` when its response is done. Cheap, since it runs on the hot path. A
   * period counts as idle only when no request arrived in it and none is still being answered (one waiting on a
   * slow hash must not wait through a collection as well).
   */
  noteRequest(): () => void {
    this.requestsThisPeriod++;
    this.inFlight++;
    return () => this.inFlight--;
  }

  /**
   * Collects once before the server takes requests: start-up (migrations, keys, the modules' own set-up) leaves
   * garbage behind, and growth is measured from the heap that is really needed.
   */
  async start(): Promise<void> {
    await this.collectSafely().catch((error: unknown) => this.onFailed(error));
    this.heapAfterCollection = this.heapSize();
    this.timer = setInterval(() => void this.endOfPeriod(), this.settings.idleMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.collecting;
  }

  /** Decides at the end of each period; returns the collection it started, if any (for tests). */
  endOfPeriod(): Promise<void> | undefined {
    if (this.requestsThisPeriod > 0 || this.inFlight > 0) {
      this.requestsThisPeriod = 0;
      this.busySinceCollection = true;
      return undefined;
    }
    if (!this.busySinceCollection || this.collecting) return undefined;
    this.busySinceCollection = false;
    const before = this.heapSize();
    if (before - this.heapAfterCollection < this.settings.minGrowthBytes) return undefined;
    this.collecting = this.collectSafely().then(
      () => {
        this.heapAfterCollection = this.heapSize();
        this.onCollected(Math.max(0, before - this.heapAfterCollection));
      },
      (error: unknown) => this.onFailed(error),
    );
    void this.collecting.finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  /** V8's gc may throw rather than reject (an option it does not know): either way a promise, never an exception in a timer. */
  private async collectSafely(): Promise<void> {
    await this.collect({ type: 'major', execution: 'async', flavor: 'last-resort' });
  }
}

/** The `gc` function when the process runs with `--expose-gc`, else undefined (the reclaimer then stays off). */
export function exposedGarbageCollector(): CollectGarbage | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as CollectGarbage) : undefined;
}

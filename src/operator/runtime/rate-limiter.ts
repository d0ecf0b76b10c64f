// Rate limiters with client-go's workqueue semantics, so backoff behaves the way controller-runtime users expect.

/** Milliseconds on a monotonic clock; injectable so tests and fake timers control time. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

export interface RateLimiter<K> {
  /** Delay in ms before `item` may be processed again; counts as a failure for per-item limiters. */
  when(item: K): number;
  /** The item succeeded: its backoff starts over. */
  forget(item: K): void;
  /** Failures recorded for `item` since it was last forgotten. */
  retries(item: K): number;
}

/** base · 2^failures, capped: one flapping key backs off without slowing the others. */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {
    if (!(baseMs >= 0) || !(maxMs >= baseMs)) {
      throw new RangeError(`need 0 <= baseMs <= maxMs, got baseMs=${baseMs} maxMs=${maxMs}`);
    }
  }

  when(item: K): number {
    const exp = this.failures.get(item) ?? 0;
    this.failures.set(item, exp + 1);
    // 2 ** exp reaches Infinity long before it can wrap, so the cap alone keeps this finite.
    return Math.min(this.baseMs * 2 ** exp, this.maxMs);
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  retries(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * A token bucket shared by all items (golang.org/x/time/rate's Reserve): it caps the total reconcile rate so a
 * burst of failures cannot hammer the API server or the authorization server.
 */
export class BucketRateLimiter<K = unknown> implements RateLimiter<K> {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock = monotonicClock,
  ) {
    if (!(qps > 0)) throw new RangeError(`qps must be > 0, got ${qps}`);
    if (!(burst >= 1) || !Number.isInteger(burst)) throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    this.tokens = burst;
    this.last = clock();
  }

  when(_item: K): number {
    const now = this.clock();
    // A clock that steps backwards must not mint tokens, hence max(0, …).
    const elapsedMs = Math.max(0, now - this.last);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.qps) / 1000);
    this.last = Math.max(now, this.last);
    // Reserving even when empty is what makes successive callers queue up behind each other instead of all
    // waiting for the same token.
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_item: K): void {
    // The bucket is shared, so a single item's success says nothing about the overall rate.
  }

  retries(_item: K): number {
    return 0;
  }
}

/** The most conservative of several limiters: per-item backoff and the overall rate limit both hold. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: K): number {
    // Every limiter must see the call (the bucket reserves, the exponential one counts), so no short-circuit.
    let delay = 0;
    for (const limiter of this.limiters) delay = Math.max(delay, limiter.when(item));
    return delay;
  }

  forget(item: K): void {
    for (const limiter of this.limiters) limiter.forget(item);
  }

  retries(item: K): number {
    let retries = 0;
    for (const limiter of this.limiters) retries = Math.max(retries, limiter.retries(item));
    return retries;
  }
}

export interface ControllerRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** client-go's DefaultControllerRateLimiter defaults: 5 ms .. 1000 s per item, 10 qps with a burst of 100. */
export const CLIENT_GO_RATE_LIMITER_DEFAULTS = { baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 10, burst: 100 } as const;

/** What `gatehouse operator` uses: a failing authorization server is retried within seconds, yet never hammered. */
export const OPERATOR_RATE_LIMITER_DEFAULTS = { baseDelayMs: 200, maxDelayMs: 300_000, qps: 10, burst: 100 } as const;

export function defaultControllerRateLimiter<K>(options: ControllerRateLimiterOptions = {}): RateLimiter<K> {
  const o = { ...CLIENT_GO_RATE_LIMITER_DEFAULTS, ...stripUndefined(options) };
  return new MaxOfRateLimiter<K>(
    new ItemExponentialRateLimiter<K>(o.baseDelayMs, o.maxDelayMs),
    new BucketRateLimiter<K>(o.qps, o.burst, o.clock ?? monotonicClock),
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

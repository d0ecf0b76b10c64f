import { describe, expect, it, vi } from 'vitest';
import {
  BucketRateLimiter,
  CLIENT_GO_RATE_LIMITER_DEFAULTS,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  OPERATOR_RATE_LIMITER_DEFAULTS,
  type RateLimiter,
  defaultControllerRateLimiter,
} from '../../src/operator/runtime/rate-limiter.js';

/** A hand-driven clock, so bucket refills are exact and independent of the machine's speed. */
function manualClock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function series<K>(limiter: RateLimiter<K>, item: K, n: number): number[] {
  return Array.from({ length: n }, () => limiter.when(item));
}

describe('ItemExponentialRateLimiter', () => {
  it('doubles from base per failure and stops at the cap (client-go 5 ms .. 1000 s)', () => {
    const limiter = new ItemExponentialRateLimiter<string>(5, 1_000_000);
    expect(series(limiter, 'a', 5)).toEqual([5, 10, 20, 40, 80]);
    const later = series(limiter, 'a', 20);
    expect(later.at(-1)).toBe(1_000_000);
    expect(Math.max(...later)).toBe(1_000_000);
    expect(limiter.retries('a')).toBe(25);
  });

  it('caps at 5 minutes with the operator settings (200 ms .. 5 min)', () => {
    const { baseDelayMs, maxDelayMs } = OPERATOR_RATE_LIMITER_DEFAULTS;
    const limiter = new ItemExponentialRateLimiter<string>(baseDelayMs, maxDelayMs);
    // 200 · 2^10 = 204 800 < 300 000 < 2^11 · 200, so the 12th failure is the first capped one.
    expect(series(limiter, 'a', 13)).toEqual([200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400, 204_800, 300_000, 300_000]);
  });

  it('stays finite after thousands of failures', () => {
    const limiter = new ItemExponentialRateLimiter<string>(1, 60_000);
    const delays = series(limiter, 'a', 5000);
    expect(delays.every(Number.isFinite)).toBe(true);
    expect(delays.at(-1)).toBe(60_000);
  });

  it('tracks each item on its own', () => {
    const limiter = new ItemExponentialRateLimiter<string>(10, 1000);
    series(limiter, 'a', 3);
    expect(limiter.when('b')).toBe(10);
    expect(limiter.retries('a')).toBe(3);
    expect(limiter.retries('b')).toBe(1);
    expect(limiter.retries('never')).toBe(0);
  });

  it('forget starts the backoff over for that item only', () => {
    const limiter = new ItemExponentialRateLimiter<string>(10, 1000);
    series(limiter, 'a', 4);
    series(limiter, 'b', 2);
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
    expect(limiter.when('a')).toBe(10);
    expect(limiter.when('b')).toBe(40);
    limiter.forget('unknown');
  });

  it('accepts base 0 and base == max', () => {
    expect(series(new ItemExponentialRateLimiter<string>(0, 10), 'a', 3)).toEqual([0, 0, 0]);
    expect(series(new ItemExponentialRateLimiter<string>(7, 7), 'a', 3)).toEqual([7, 7, 7]);
  });

  it.each([
    [-1, 10],
    [10, 5],
    [Number.NaN, 10],
    [1, Number.NaN],
  ])('refuses base %d and max %d', (base, max) => {
    expect(() => new ItemExponentialRateLimiter(base, max)).toThrow(RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces calls 1/qps apart (reserving each token)', () => {
    const clock = manualClock();
    const limiter = new BucketRateLimiter<string>(2, 3, clock.now);
    expect(series(limiter, 'x', 6)).toEqual([0, 0, 0, 500, 1000, 1500]);
  });

  it('is shared by all items', () => {
    const clock = manualClock();
    const limiter = new BucketRateLimiter<string>(1, 1, clock.now);
    expect(limiter.when('a')).toBe(0);
    expect(limiter.when('b')).toBe(1000);
    expect(limiter.when('c')).toBe(2000);
  });

  it('refills at qps but never beyond the burst', () => {
    const clock = manualClock();
    const limiter = new BucketRateLimiter<string>(10, 5, clock.now);
    expect(series(limiter, 'x', 5)).toEqual([0, 0, 0, 0, 0]);
    expect(limiter.when('x')).toBeCloseTo(100);
    // The reservation above is repaid after 100 ms; another 200 ms gives back exactly two tokens.
    clock.advance(300);
    expect(series(limiter, 'x', 3).map((d) => Math.round(d))).toEqual([0, 0, 100]);
    clock.advance(3_600_000);
    expect(series(limiter, 'x', 6).map((d) => Math.round(d))).toEqual([0, 0, 0, 0, 0, 100]);
  });

  it('has client-go defaults of 10 qps and a burst of 100', () => {
    const clock = manualClock();
    const { qps, burst } = CLIENT_GO_RATE_LIMITER_DEFAULTS;
    const limiter = new BucketRateLimiter<string>(qps, burst, clock.now);
    const delays = series(limiter, 'x', 102);
    expect(delays.slice(0, 100).every((d) => d === 0)).toBe(true);
    expect(delays.slice(100).map((d) => Math.round(d))).toEqual([100, 200]);
  });

  it('does not mint tokens when the clock steps back', () => {
    const clock = manualClock();
    const limiter = new BucketRateLimiter<string>(1, 1, clock.now);
    expect(limiter.when('x')).toBe(0);
    clock.advance(-10_000);
    expect(limiter.when('x')).toBe(1000);
  });

  it('has no per-item state: retries is 0 and forget changes nothing', () => {
    const clock = manualClock();
    const limiter = new BucketRateLimiter<string>(1, 1, clock.now);
    limiter.when('a');
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
    expect(limiter.when('a')).toBe(1000);
  });

  it('follows fake timers with the default clock', () => {
    vi.useFakeTimers();
    try {
      const limiter = new BucketRateLimiter<string>(1, 1);
      expect(limiter.when('a')).toBe(0);
      vi.advanceTimersByTime(1000);
      expect(limiter.when('a')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    [0, 1],
    [-1, 1],
    [1, 0],
    [1, 1.5],
    [Number.NaN, 1],
  ])('refuses qps %d with burst %d', (qps, burst) => {
    expect(() => new BucketRateLimiter(qps, burst)).toThrow(RangeError);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the largest delay and consults every limiter each time', () => {
    const clock = manualClock();
    const bucket = new BucketRateLimiter<string>(1, 2, clock.now);
    const exp = new ItemExponentialRateLimiter<string>(100, 10_000);
    const limiter = new MaxOfRateLimiter<string>(exp, bucket);
    // exp: 100, 200, 400, 800; bucket: 0, 0, 1000, 2000.
    expect(series(limiter, 'a', 4)).toEqual([100, 200, 1000, 2000]);
    expect(limiter.retries('a')).toBe(4);
  });

  it('forwards forget to every limiter and reports the largest retry count', () => {
    const a = new ItemExponentialRateLimiter<string>(1, 100);
    const b = new ItemExponentialRateLimiter<string>(1, 100);
    const limiter = new MaxOfRateLimiter<string>(a, b);
    a.when('k');
    series(limiter, 'k', 2);
    expect(limiter.retries('k')).toBe(3);
    limiter.forget('k');
    expect(a.retries('k')).toBe(0);
    expect(b.retries('k')).toBe(0);
  });

  it('needs at least one limiter', () => {
    expect(() => new MaxOfRateLimiter()).toThrow(RangeError);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('combines per-item backoff with the overall bucket, client-go defaults', () => {
    const clock = manualClock();
    const limiter = defaultControllerRateLimiter<string>({ clock: clock.now });
    expect(series(limiter, 'a', 3)).toEqual([5, 10, 20]);
    // 97 more distinct keys use up the burst of 100; the next is held back by the bucket, not by its own backoff.
    for (let i = 0; i < 97; i++) expect(limiter.when(`k${i}`)).toBe(5);
    expect(Math.round(limiter.when('fresh'))).toBe(100);
  });

  it('takes the operator settings', () => {
    const clock = manualClock();
    const limiter = defaultControllerRateLimiter<string>({ ...OPERATOR_RATE_LIMITER_DEFAULTS, clock: clock.now });
    expect(series(limiter, 'a', 2)).toEqual([200, 400]);
    expect(series(limiter, 'a', 20).at(-1)).toBe(300_000);
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
  });

  it('ignores options given as undefined', () => {
    const limiter = defaultControllerRateLimiter<string>({ baseDelayMs: undefined, clock: manualClock().now });
    expect(limiter.when('a')).toBe(5);
  });
});

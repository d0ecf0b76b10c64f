import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/server/token-buckets.js';

describe('TokenBuckets', () => {
  const at = (start = 0) => {
    const clock = { ms: start };
    return { clock, buckets: (rate: number, maxTracked?: number) => new TokenBuckets(rate, maxTracked, () => clock.ms) };
  };

  it('gives a burst, then refuses with the seconds until a whole token is back', () => {
    const { buckets } = at();
    const subject = buckets(0.5);
    expect([subject.take('a', 2), subject.take('a', 2)]).toEqual([undefined, undefined]);
    expect(subject.take('a', 2)).toEqual({ retryAfterSeconds: 2, first: true });
    expect(subject.take('a', 2)).toEqual({ retryAfterSeconds: 2, first: false });
  });

  it('refills at the rate, never above the burst, and a refusal takes nothing', () => {
    const { clock, buckets } = at();
    const subject = buckets(1);
    subject.take('a', 1);
    expect(subject.take('a', 1)).toBeDefined();
    clock.ms += 1000;
    expect(subject.take('a', 1)).toBeUndefined();
    clock.ms += 60_000;
    expect(subject.tokensOf('a', 3)).toBe(3);
  });

  it('counts a refusal only asked about as first once it is marked', () => {
    const { buckets } = at();
    const subject = buckets(1);
    subject.take('a', 1);
    expect(subject.refusal('a', 1, false)?.first).toBe(true);
    expect(subject.markRefused('a', true)).toBe(true);
    expect(subject.refusal('a', 1)?.first).toBe(false);
    expect(subject.markRefused('unknown', true)).toBe(true);
  });

  it('keeps separate buckets per key and forgets the least recently touched beyond maxTracked', () => {
    const { buckets } = at();
    const subject = buckets(0.001, 2);
    subject.take('a', 2);
    subject.take('b', 1);
    // Taking from a again makes it the most recently touched.
    expect(subject.take('a', 2)).toBeUndefined();
    subject.take('c', 1);
    // b was touched least recently: forgotten, so full again.
    expect(subject.has('b')).toBe(false);
    expect(subject.take('b', 1)).toBeUndefined();
  });
});

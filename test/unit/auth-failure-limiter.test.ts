import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter, addressKey } from '../../src/server/client/auth-failure-limiter.js';

function limiter(burst = 3, ratePerSecond = 1, options: { maxTracked?: number; addressBurst?: number } = {}) {
  let now = 0;
  const subject = new AuthFailureLimiter(
    { burst, addressBurst: options.addressBurst ?? burst, ratePerSecond, ...(options.maxTracked ? { maxTracked: options.maxTracked } : {}) },
    () => now,
  );
  return { subject, advance: (ms: number) => (now += ms) };
}

describe('AuthFailureLimiter', () => {
  it('lets a burst of checks through, then limits the client id with the seconds until the next attempt', () => {
    const { subject } = limiter(3, 0.5);
    for (let i = 0; i < 3; i++) expect(subject.take('victim', '10.0.0.1')).toBeUndefined();
    expect(subject.take('victim', '10.0.0.1')).toMatchObject({ by: 'client', retryAfterSeconds: 2 });
  });

  it('counts checks as they start, so concurrent guesses count like sequential ones', () => {
    const { subject } = limiter(2);
    // Three checks begun before any of them finished: the third is refused at once.
    expect([subject.take('x', 'ip'), subject.take('x', 'ip'), subject.take('x', 'ip')]).toEqual([
      undefined,
      undefined,
      { by: 'client', retryAfterSeconds: 1, first: true, key: 'c:x' },
    ]);
  });

  it('gives the token back for a good credential, so successes never count', () => {
    const { subject } = limiter(2);
    for (let i = 0; i < 10; i++) {
      expect(subject.take('good', 'ip')).toBeUndefined();
      subject.refund('good', 'ip');
    }
  });

  it('never goes below empty: refused attempts take nothing, and Retry-After stays within one refill', () => {
    const { subject } = limiter(1, 0.5);
    subject.take('x', 'ip');
    for (let i = 0; i < 1_000; i++) expect(subject.take('x', 'ip')).toMatchObject({ by: 'client', retryAfterSeconds: 2 });
  });

  it('marks only the first refusal of a bucket since it last gave a token, so a flood is logged once per spell', () => {
    const { subject, advance } = limiter(1, 1);
    subject.take('x', 'ip');
    expect(subject.take('x', 'ip')).toMatchObject({ first: true });
    for (let i = 0; i < 100; i++) expect(subject.take('x', 'ip')).toMatchObject({ first: false });
    advance(1000);
    expect(subject.take('x', 'ip')).toBeUndefined();
    expect(subject.take('x', 'ip')).toMatchObject({ first: true });
  });

  it('answers whether it would refuse without taking a token, and without counting a first refusal when only asked', () => {
    const { subject } = limiter(1, 1);
    expect(subject.refusal('x', 'ip')).toBeUndefined();
    expect(subject.take('x', 'ip')).toBeUndefined();
    expect(subject.refusal('x', 'ip', false)).toMatchObject({ by: 'client', first: true });
    expect(subject.refusal('x', 'ip', false)).toMatchObject({ first: true });
    const asked = subject.refusal('x', 'ip', false)!;
    expect(subject.refused(asked)).toMatchObject({ first: true });
    expect(subject.refused(asked)).toMatchObject({ first: false });
    expect(subject.take('x', 'ip')).toMatchObject({ first: false });
  });

  it('limits a source address across client ids, with its own larger burst', () => {
    const { subject } = limiter(1, 1, { addressBurst: 3 });
    for (const id of ['a', 'b', 'c']) expect(subject.take(id, '10.0.0.7')).toBeUndefined();
    expect(subject.take('d', '10.0.0.7')).toMatchObject({ by: 'address', retryAfterSeconds: 1 });
    expect(subject.take('a', '10.0.0.8')).toMatchObject({ by: 'client', retryAfterSeconds: 1 });
  });

  it('refills at the configured rate, never above the burst', () => {
    const { subject, advance } = limiter(2, 1);
    subject.take('x', 'ip');
    subject.take('x', 'ip');
    expect(subject.take('x', 'ip')).toBeDefined();
    advance(1_000);
    expect(subject.take('x', 'ip')).toBeUndefined();
    expect(subject.take('x', 'ip')).toBeDefined();
    advance(60_000);
    // A minute of quiet refills to the burst (2), not to 60.
    expect(subject.take('x', 'ip')).toBeUndefined();
    expect(subject.take('x', 'ip')).toBeUndefined();
    expect(subject.take('x', 'ip')).toBeDefined();
  });

  it('forgets the least recently touched buckets beyond its bound (a forgotten bucket is a full one)', () => {
    const { subject } = limiter(1, 1, { maxTracked: 4 });
    subject.take('old', 'ip-old');
    expect(subject.take('old', 'ip-new')).toBeDefined();
    subject.take('n1', 'ip-1');
    subject.take('n2', 'ip-2');
    expect(subject.take('old', 'ip-3')).toBeUndefined();
  });

  it('counts one IPv6 host (a /64) as one address, and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1');
    const { subject } = limiter(1000, 1, { addressBurst: 1 });
    subject.take('a', '2001:db8:1:2::1');
    expect(subject.take('b', '2001:db8:1:2::ffff')).toMatchObject({ by: 'address', retryAfterSeconds: 1 });
  });
});

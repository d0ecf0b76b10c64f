import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../src/server/client/auth-failure-limiter.js';

function limiter(burst = 3, ratePerSecond = 1, maxTracked?: number, addressBurst = burst) {
  let now = 0;
  const subject = new AuthFailureLimiter({ burst, addressBurst, ratePerSecond, ...(maxTracked ? { maxTracked } : {}) }, () => now);
  return { subject, advance: (ms: number) => (now += ms) };
}

describe('AuthFailureLimiter', () => {
  it('lets a burst of failures through, then limits the client id with the seconds until the next attempt', () => {
    const { subject } = limiter(3, 0.5);
    for (let i = 0; i < 3; i++) {
      expect(subject.check('victim', '10.0.0.1')).toBeUndefined();
      subject.fail('victim', '10.0.0.1');
    }
    expect(subject.check('victim', '10.0.0.1')).toEqual({ by: 'client', retryAfterSeconds: 2 });
  });

  it('limits a source address across client ids, and a client id across addresses', () => {
    const { subject } = limiter(2);
    subject.fail('a', '10.0.0.9');
    subject.fail('b', '10.0.0.9');
    expect(subject.check('c', '10.0.0.9')).toEqual({ by: 'address', retryAfterSeconds: 1 });
    expect(subject.check('c', '10.0.0.10')).toBeUndefined();
    subject.fail('d', '10.0.1.1');
    subject.fail('d', '10.0.1.2');
    expect(subject.check('d', '10.0.1.3')).toEqual({ by: 'client', retryAfterSeconds: 1 });
  });

  it('gives a source address its own, larger burst', () => {
    const { subject } = limiter(1, 1, undefined, 3);
    for (const id of ['a', 'b', 'c']) {
      expect(subject.check(id, '10.0.0.7')).toBeUndefined();
      subject.fail(id, '10.0.0.7');
    }
    expect(subject.check('d', '10.0.0.7')).toEqual({ by: 'address', retryAfterSeconds: 1 });
    expect(subject.check('a', '10.0.0.8')).toEqual({ by: 'client', retryAfterSeconds: 1 });
  });

  it('refills at the configured rate, never above the burst', () => {
    const { subject, advance } = limiter(2, 1);
    subject.fail('x', 'ip');
    subject.fail('x', 'ip');
    expect(subject.check('x', 'ip')).toBeDefined();
    advance(1_000);
    expect(subject.check('x', 'ip')).toBeUndefined();
    subject.fail('x', 'ip');
    expect(subject.check('x', 'ip')).toBeDefined();
    advance(60_000);
    subject.fail('x', 'ip');
    // A minute of quiet refills to the burst (2), not to 60: one failure leaves one attempt.
    expect(subject.check('x', 'ip')).toBeUndefined();
    subject.fail('x', 'ip');
    expect(subject.check('x', 'ip')).toBeDefined();
  });

  it('forgets the least recently touched buckets beyond its bound (a forgotten bucket is a full one)', () => {
    const { subject } = limiter(1, 1, 4);
    subject.fail('old', 'ip-old');
    expect(subject.check('old', 'ip-new')).toBeDefined();
    subject.fail('n1', 'ip-1');
    subject.fail('n2', 'ip-2');
    expect(subject.check('old', 'ip-new')).toBeUndefined();
  });
});

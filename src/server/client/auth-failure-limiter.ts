import { TokenBuckets, addressKey } from '../token-buckets.js';

export { addressKey };

/**
 * Failed client authentications, counted per client id and per source address in token buckets that refill at
 * `ratePerSecond` up to their burst. Every check that will cost a hash takes a token from both buckets before it
 * starts, so concurrent guesses count as much as sequential ones, and gives it back when the credential turns out
 * good: only failures stay counted. A bucket never goes below empty, so Retry-After stays within one refill.
 */
export interface AuthFailureLimits {
  /** Failures per client id before it is limited. */
  burst: number;
  /** Failures per source address: higher, since many clients may share one (a NAT, a proxy, a cluster's egress). */
  addressBurst: number;
  ratePerSecond: number;
  /** Buckets kept at most; the least recently touched are forgotten first (a forgotten bucket is a full one). */
  maxTracked?: number;
}

export type LimitedBy = 'client' | 'address';

export interface Refusal {
  by: LimitedBy;
  retryAfterSeconds: number;
  /** The first refusal of the bucket since it last gave a token (only when the refusal was counted: see refusal()). */
  first: boolean;
  /** The limited bucket. */
  key: string;
}

export class AuthFailureLimiter {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly limits: AuthFailureLimits,
    now: () => number = () => performance.now(),
  ) {
    this.buckets = new TokenBuckets(limits.ratePerSecond, limits.maxTracked, now);
  }

  /**
   * Takes a token from both buckets; when either is empty, takes nothing and says which, for how long, and whether
   * this is the first refusal of that bucket since it last gave a token (what is worth a log line: a flood of guesses
   * would otherwise write one per attempt).
   */
  take(clientId: string, address: string): Refusal | undefined {
    const refusal = this.refusal(clientId, address);
    if (refusal) return refusal;
    for (const { key, burst } of this.keysOf(clientId, address)) this.buckets.set(key, this.buckets.tokensOf(key, burst) - 1);
    return undefined;
  }

  /**
   * What take would answer if it would refuse, without taking anything when it would not. `mark: false` only asks:
   * the refusal is not counted as the bucket's first one yet.
   */
  refusal(clientId: string, address: string, mark = true): Refusal | undefined {
    for (const { by, key, burst } of this.keysOf(clientId, address)) {
      const refusal = this.buckets.refusal(key, burst, mark);
      if (refusal) return { by, key, ...refusal };
    }
    return undefined;
  }

  /** Counts a refusal that was only asked about (refusal with `mark: false`) as given: whether it is the bucket's first. */
  refused(refusal: Refusal): Refusal {
    return { ...refusal, first: this.buckets.markRefused(refusal.key, refusal.first) };
  }

  /** The credential was good: the token taken for its check goes back. */
  refund(clientId: string, address: string): void {
    for (const { key, burst } of this.keysOf(clientId, address))
      if (this.buckets.has(key)) this.buckets.set(key, Math.min(burst, this.buckets.tokensOf(key, burst) + 1));
  }

  private keysOf(clientId: string, address: string) {
    return [
      { by: 'client' as const, key: `c:${clientId}`, burst: this.limits.burst },
      { by: 'address' as const, key: `a:${addressKey(address)}`, burst: this.limits.addressBurst },
    ];
  }
}

/**
 * Failed client authentications, counted per client id and per source address in token buckets: each failure
 * takes a token, tokens come back at `ratePerSecond` up to `burst`. An empty bucket means the next check of an
 * unverified credential is refused before any hash is computed, since a failed scrypt is the most expensive thing a
 * stranger can make this server do. Successes take nothing, and nothing here slows a request by itself.
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

interface Bucket {
  tokens: number;
  at: number;
}

export type LimitedBy = 'client' | 'address';

export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxTracked: number;

  constructor(
    private readonly limits: AuthFailureLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.maxTracked = limits.maxTracked ?? 100_000;
  }

  /** What limits this attempt, and for how many seconds, or undefined when it may go ahead. */
  check(clientId: string, address: string): { by: LimitedBy; retryAfterSeconds: number } | undefined {
    for (const [by, key] of [
      ['client', `c:${clientId}`],
      ['address', `a:${address}`],
    ] as const) {
      const tokens = this.tokensOf(key, by === 'client' ? this.limits.burst : this.limits.addressBurst);
      if (tokens < 1) return { by, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.limits.ratePerSecond)) };
    }
    return undefined;
  }

  fail(clientId: string, address: string): void {
    for (const [key, burst] of [
      [`c:${clientId}`, this.limits.burst],
      [`a:${address}`, this.limits.addressBurst],
    ] as const) {
      const tokens = this.tokensOf(key, burst);
      this.buckets.delete(key);
      this.buckets.set(key, { tokens: tokens - 1, at: this.now() });
      if (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value as string);
    }
  }

  private tokensOf(key: string, burst: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return burst;
    const refilled = bucket.tokens + ((this.now() - bucket.at) / 1000) * this.limits.ratePerSecond;
    return Math.min(burst, refilled);
  }
}

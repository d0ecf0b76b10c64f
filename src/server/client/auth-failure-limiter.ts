import { isIPv6 } from 'node:net';

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

interface Bucket {
  tokens: number;
  at: number;
  /** Refusing since its last refusal; cleared when a check takes a token again (set() makes a new bucket). */
  refusing?: boolean;
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
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxTracked: number;

  constructor(
    private readonly limits: AuthFailureLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.maxTracked = limits.maxTracked ?? 100_000;
  }

  /**
   * Takes a token from both buckets; when either is empty, takes nothing and says which, for how long, and whether
   * this is the first refusal of that bucket since it last gave a token (what is worth a log line: a flood of guesses
   * would otherwise write one per attempt).
   */
  take(clientId: string, address: string): Refusal | undefined {
    const refusal = this.refusal(clientId, address);
    if (refusal) return refusal;
    for (const { key, burst } of this.keysOf(clientId, address)) this.set(key, this.tokensOf(key, burst) - 1);
    return undefined;
  }

  /**
   * What take would answer if it would refuse, without taking anything when it would not. `mark: false` only asks:
   * the refusal is not counted as the bucket's first one yet.
   */
  refusal(clientId: string, address: string, mark = true): Refusal | undefined {
    for (const { by, key, burst } of this.keysOf(clientId, address)) {
      const tokens = this.tokensOf(key, burst);
      if (tokens < 1) {
        // Empty means it was taken from, so the bucket exists.
        const bucket = this.buckets.get(key)!;
        const first = !bucket.refusing;
        if (mark) bucket.refusing = true;
        return { by, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.limits.ratePerSecond)), first, key };
      }
    }
    return undefined;
  }

  /** Counts a refusal that was only asked about (refusal with `mark: false`) as given: whether it is the bucket's first. */
  refused(refusal: Refusal): Refusal {
    const bucket = this.buckets.get(refusal.key);
    const first = bucket ? !bucket.refusing : refusal.first;
    if (bucket) bucket.refusing = true;
    return { ...refusal, first };
  }

  /** The credential was good: the token taken for its check goes back. */
  refund(clientId: string, address: string): void {
    for (const { key, burst } of this.keysOf(clientId, address)) if (this.buckets.has(key)) this.set(key, Math.min(burst, this.tokensOf(key, burst) + 1));
  }

  private keysOf(clientId: string, address: string) {
    return [
      { by: 'client' as const, key: `c:${clientId}`, burst: this.limits.burst },
      { by: 'address' as const, key: `a:${addressKey(address)}`, burst: this.limits.addressBurst },
    ];
  }

  private set(key: string, tokens: number): void {
    // Re-inserted, so the Map's first key is the least recently touched.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at: this.now() });
    if (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  private tokensOf(key: string, burst: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return burst;
    return Math.min(burst, bucket.tokens + ((this.now() - bucket.at) / 1000) * this.limits.ratePerSecond);
  }
}

/**
 * One host has a whole IPv6 /64 to itself, so counting per /128 would give it 2^64 buckets (and let it flush
 * everyone else's); IPv4-mapped addresses count as the IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

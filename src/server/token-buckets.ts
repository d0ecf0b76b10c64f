import { isIPv6 } from 'node:net';

interface Bucket {
  tokens: number;
  at: number;
  /** Refusing since its last refusal; cleared when a take succeeds again (set() makes a new bucket). */
  refusing?: boolean;
}

/** A refusal of a bucket: how long until a token is back, and whether it is the first since the bucket last gave one. */
export interface BucketRefusal {
  retryAfterSeconds: number;
  first: boolean;
}

/**
 * Token buckets by key, refilling at `ratePerSecond` up to the burst each caller names. A bucket never goes below
 * empty, so Retry-After stays within one refill. At most `maxTracked` buckets are kept; the least recently touched are
 * forgotten first, and a forgotten bucket is a full one.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly maxTracked = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  tokensOf(key: string, burst: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return burst;
    return Math.min(burst, bucket.tokens + ((this.now() - bucket.at) / 1000) * this.ratePerSecond);
  }

  set(key: string, tokens: number): void {
    // Re-inserted, so the Map's first key is the least recently touched.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at: this.now() });
    if (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  has(key: string): boolean {
    return this.buckets.has(key);
  }

  /**
   * The refusal of a bucket that has no whole token, or undefined. `mark: false` only asks: the refusal is not
   * counted as the bucket's first one yet (markRefused does that once it is given).
   */
  refusal(key: string, burst: number, mark = true): BucketRefusal | undefined {
    const tokens = this.tokensOf(key, burst);
    if (tokens >= 1) return undefined;
    // Empty means it was taken from, so the bucket exists.
    const bucket = this.buckets.get(key)!;
    const first = !bucket.refusing;
    if (mark) bucket.refusing = true;
    return { retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond)), first };
  }

  /** Counts a refusal that was only asked about as given; answers whether it is the bucket's first (or `fallback`). */
  markRefused(key: string, fallback: boolean): boolean {
    const bucket = this.buckets.get(key);
    if (!bucket) return fallback;
    const first = !bucket.refusing;
    bucket.refusing = true;
    return first;
  }

  /** Takes a token, or answers the refusal and takes nothing. */
  take(key: string, burst: number): BucketRefusal | undefined {
    const refusal = this.refusal(key, burst);
    if (!refusal) this.set(key, this.tokensOf(key, burst) - 1);
    return refusal;
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

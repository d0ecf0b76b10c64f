import { createHmac, type KeyObject } from 'node:crypto';

/**
 * Remembers which (client id, secret, stored hash) triples were verified, so a steady stream of requests from one
 * client costs one HMAC instead of one scrypt each. The key binds the stored hash: when the secret changes or the
 * client is deleted (on this process or another sharing the database) the stored hash changes or disappears and the
 * old entry can never match again. Entries are HMACs under a key derived from SYSTEM_SECRET, never the secrets.
 */
export class VerifiedCredentialCache {
  /** fingerprint of (id, secret, stored hash) → the client id and the pair key of (id, secret). */
  private readonly entries = new Map<string, { clientId: string; pair: string }>();
  /**
   * How many entries each (id, secret) pair has: a pair absent here has no entry under any stored hash, which the
   * limiter can know before it reads the client from the database (mayKnow).
   */
  private readonly pairs = new Map<string, number>();
  /** The same for verifications under way, which a request with the same credential joins instead of hashing. */
  private readonly inFlightPairs = new Map<string, number>();
  /** Verifications under way, so concurrent requests with one credential share a single slow hash. */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly key: KeyObject,
    private readonly capacity: number,
  ) {}

  /**
   * Whether the triple is verified: from memory, or by `check` (the slow hash), run at most once at a time per
   * triple. Without this, a client's first burst after a start (32 connections at once in `npm run bench`) ran 32
   * scrypts of 16 MiB each, four at a time on the libuv threads, for one answer; a wrong secret sent concurrently is
   * likewise hashed once. Only successes are remembered.
   */
  async verify(clientId: string, secret: string, storedHash: string, check: () => Promise<boolean>): Promise<boolean> {
    const fingerprint = this.fingerprint(clientId, secret, storedHash);
    if (this.touch(fingerprint)) return true;
    let pending = this.inFlight.get(fingerprint);
    if (!pending) {
      // Remembered once, by the check itself: each waiter storing it again would, at capacity, evict one unrelated
      // entry apiece.
      const pair = this.pairOf(clientId, secret);
      this.count(this.inFlightPairs, pair, +1);
      pending = check()
        .then((verified) => {
          if (verified) this.store(fingerprint, clientId, pair);
          return verified;
        })
        .finally(() => {
          this.inFlight.delete(fingerprint);
          this.count(this.inFlightPairs, pair, -1);
        });
      this.inFlight.set(fingerprint, pending);
    }
    return pending;
  }

  /**
   * Whether the triple is verified, or a verification of it is under way (which a request joins without a hash of its
   * own): either way, checking it costs no slow hash.
   */
  knownOrBeingVerified(clientId: string, secret: string, storedHash: string): boolean {
    const fingerprint = this.fingerprint(clientId, secret, storedHash);
    return this.touch(fingerprint) || this.inFlight.has(fingerprint);
  }

  /**
   * False only when no entry for this id and secret exists under any stored hash, so a check of them cannot be cheap
   * whatever the database holds: what lets a limited attempt be refused before the client is read.
   */
  mayKnow(clientId: string, secret: string): boolean {
    const pair = this.pairOf(clientId, secret);
    return this.pairs.has(pair) || this.inFlightPairs.has(pair);
  }

  private touch(fingerprint: string): boolean {
    if (this.capacity === 0) return false;
    const hit = this.entries.get(fingerprint);
    if (hit === undefined) return false;
    // Re-insert so the Map's insertion order doubles as least-recently-used order.
    this.entries.delete(fingerprint);
    this.entries.set(fingerprint, hit);
    return true;
  }

  remember(clientId: string, secret: string, storedHash: string): void {
    this.store(this.fingerprint(clientId, secret, storedHash), clientId, this.pairOf(clientId, secret));
  }

  private store(fingerprint: string, clientId: string, pair: string): void {
    if (this.capacity === 0 || this.entries.has(fingerprint)) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.entries.set(fingerprint, { clientId, pair });
    this.count(this.pairs, pair, +1);
  }

  private drop(fingerprint: string): void {
    const entry = this.entries.get(fingerprint);
    if (!entry) return;
    this.entries.delete(fingerprint);
    this.count(this.pairs, entry.pair, -1);
  }

  private count(counts: Map<string, number>, pair: string, change: 1 | -1): void {
    const next = (counts.get(pair) ?? 0) + change;
    if (next > 0) counts.set(pair, next);
    else counts.delete(pair);
  }

  /** Drops what this process knows of a client at once, rather than waiting for its entries to age out. */
  forget(clientId: string): void {
    for (const [fingerprint, entry] of this.entries) if (entry.clientId === clientId) this.drop(fingerprint);
  }

  get size(): number {
    return this.entries.size;
  }

  private pairOf(clientId: string, secret: string): string {
    return createHmac('sha256', this.key).update('pair\0').update(clientId).update('\0').update(secret).digest('base64url');
  }

  private fingerprint(clientId: string, secret: string, storedHash: string): string {
    return createHmac('sha256', this.key).update(clientId).update('\0').update(secret).update('\0').update(storedHash).digest('base64url');
  }
}

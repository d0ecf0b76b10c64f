import { createHmac, type KeyObject } from 'node:crypto';

/**
 * Remembers which (client id, secret, stored hash) triples were verified, so a steady stream of requests from one
 * client costs one HMAC instead of one scrypt each. The key binds the stored hash: when the secret changes or the
 * client is deleted (on this process or another sharing the database) the stored hash changes or disappears and the
 * old entry can never match again. Entries are HMACs under a key derived from SYSTEM_SECRET, never the secrets.
 */
export class VerifiedCredentialCache {
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly key: KeyObject,
    private readonly capacity: number,
  ) {}

  has(clientId: string, secret: string, storedHash: string): boolean {
    if (this.capacity === 0) return false;
    const fingerprint = this.fingerprint(clientId, secret, storedHash);
    const hit = this.entries.get(fingerprint);
    if (hit === undefined) return false;
    // Re-insert so the Map's insertion order doubles as least-recently-used order.
    this.entries.delete(fingerprint);
    this.entries.set(fingerprint, hit);
    return true;
  }

  remember(clientId: string, secret: string, storedHash: string): void {
    if (this.capacity === 0) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.fingerprint(clientId, secret, storedHash), clientId);
  }

  /** Drops what this process knows of a client at once, rather than waiting for its entries to age out. */
  forget(clientId: string): void {
    for (const [fingerprint, owner] of this.entries) if (owner === clientId) this.entries.delete(fingerprint);
  }

  get size(): number {
    return this.entries.size;
  }

  private fingerprint(clientId: string, secret: string, storedHash: string): string {
    return createHmac('sha256', this.key).update(clientId).update('\0').update(secret).update('\0').update(storedHash).digest('base64url');
  }
}

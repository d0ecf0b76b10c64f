import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomToken } from './random.js';

/**
 * Opaque tokens are `<256 random bits>.<HMAC-SHA256 of them>`. The HMAC lets us reject forged or mistyped tokens
 * without touching the database; only a SHA-256 of the signature is stored, so a copy of the database holds nothing
 * that can be presented as a token.
 */
export class OpaqueTokens {
  constructor(private readonly key: Buffer) {}

  issue(): { token: string; storageKey: string } {
    const body = randomToken(32);
    const signature = this.sign(body);
    return { token: `${body}.${signature}`, storageKey: storageKeyOf(signature) };
  }

  /** The storage key of a well-formed, correctly signed token; undefined for anything else. */
  verify(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 200) return undefined;
    const body = token.slice(0, dot);
    const signature = token.slice(dot + 1);
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return storageKeyOf(signature);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

function storageKeyOf(signature: string): string {
  return createHash('sha256').update(signature).digest('base64url');
}

import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from './equal.js';

/**
 * Secrets with 256 random bits (the ones the server minted) at rest: HMAC-SHA-256 under a key derived from
 * SYSTEM_SECRET for storage alone, in PHC form: $hmac-sha256$k=<key id>$<salt b64>$<hash b64>. A slow hash would add
 * nothing against guessing 2^256 values; the key means a copy of the database alone cannot even test guesses. The
 * key id names which system secret hashed the value, so a rotation can tell what still needs the old secret.
 */
export const KEYED_SCHEME = 'hmac-sha256';
const PHC = /^\$hmac-sha256\$k=([A-Za-z0-9_-]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

interface IdentifiedKey {
  id: string;
  key: KeyObject;
}

export class KeyedSecretHash {
  private readonly keys: IdentifiedKey[];

  /** @param storageKeys the first hashes; all of them verify (SYSTEM_SECRET rotation). */
  constructor(storageKeys: readonly KeyObject[]) {
    if (storageKeys.length === 0) throw new Error('a keyed hash needs at least one key');
    this.keys = storageKeys.map((key) => ({ id: keyId(key), key }));
  }

  /** The stored-form prefix of values hashed under the first key; anything else in fast form needs an older one. */
  get currentPrefix(): string {
    return `$${KEYED_SCHEME}$k=${this.keys[0]!.id}$`;
  }

  hash(secret: string): string {
    const { id, key } = this.keys[0]!;
    const salt = randomBytes(16);
    return `$${KEYED_SCHEME}$k=${id}$${salt.toString('base64')}$${mac(key, salt, secret).toString('base64')}`;
  }

  /** Whether `secret` matches; `rehash` when it was hashed under a system secret that is no longer the first. */
  verify(secret: string, stored: string): { verified: boolean; rehash: boolean } {
    const match = PHC.exec(stored);
    const entry = match && this.keys.find((candidate) => candidate.id === match[1]);
    if (!match || !entry) return { verified: false, rehash: false };
    const expected = Buffer.from(match[3]!, 'base64');
    const actual = mac(entry.key, Buffer.from(match[2]!, 'base64'), secret);
    const verified = constantTimeEqual(actual, expected);
    return { verified, rehash: verified && entry !== this.keys[0] };
  }

  /** The same work as verifying against a stored hash, for callers that have none (an unknown client). */
  verifyNothing(secret: string): void {
    mac(this.keys[0]!.key, randomBytes(16), secret);
  }
}

export function isKeyedHash(stored: string): boolean {
  return stored.startsWith(`$${KEYED_SCHEME}$`);
}

function mac(key: KeyObject, salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', key).update(salt).update(secret.normalize('NFC')).digest();
}

/** A public name for a key: reveals nothing about it, tells two keys apart. */
function keyId(key: KeyObject): string {
  return createHmac('sha256', key).update('gatehouse key id').digest().subarray(0, 6).toString('base64url');
}

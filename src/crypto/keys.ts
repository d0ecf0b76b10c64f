import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * Every purpose gets its own key derived from SYSTEM_SECRET, so a key leaked from one use (say, the cache of
 * verified credentials) says nothing about another (token signatures, encryption of private keys).
 */
export type KeyPurpose = 'token-hmac' | 'jwk-encryption' | 'credential-cache' | 'cookie' | 'secret-check' | 'secret-storage';

export function deriveKey(systemSecret: string, purpose: KeyPurpose): KeyObject {
  // A KeyObject, not a Buffer: on Node 24 createHmac with a raw Buffer key costs about six times the HMAC itself
  // (the key is imported anew each call), which was a quarter of the server's CPU per token request.
  return createSecretKey(Buffer.from(hkdfSync('sha256', systemSecret, 'gatehouse', `gatehouse/${purpose}/v1`, 32)));
}

/** SYSTEM_SECRET as configured: one secret, or several separated by commas while the secret is rotated. */
export function splitSystemSecrets(value: string): string[] {
  return value
    .split(',')
    .map((secret) => secret.trim())
    .filter(Boolean);
}

/**
 * The keys of every configured system secret. The first secret signs, seals and hashes; all of them verify and
 * open, so values protected under a secret that is being rotated out keep working until it is removed.
 */
export class Keyring {
  private readonly derived = new Map<KeyPurpose, KeyObject[]>();
  readonly secrets: readonly string[];

  constructor(systemSecrets: string | readonly string[]) {
    this.secrets = typeof systemSecrets === 'string' ? splitSystemSecrets(systemSecrets) : [...systemSecrets];
    if (this.secrets.length === 0) throw new Error('a keyring needs at least one system secret');
  }

  /** The key new values are protected with. */
  primary(purpose: KeyPurpose): KeyObject {
    return this.all(purpose)[0]!;
  }

  /** Every key a value may have been protected with, the primary first. */
  all(purpose: KeyPurpose): readonly KeyObject[] {
    let keys = this.derived.get(purpose);
    if (!keys) {
      keys = this.secrets.map((secret) => deriveKey(secret, purpose));
      this.derived.set(purpose, keys);
    }
    return keys;
  }
}

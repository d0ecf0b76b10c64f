import { hkdfSync } from 'node:crypto';

/**
 * Every purpose gets its own key derived from SYSTEM_SECRET, so a key leaked from one use (say, the cache of
 * verified credentials) says nothing about another (token signatures, encryption of private keys).
 */
export type KeyPurpose = 'token-hmac' | 'jwk-encryption' | 'credential-cache' | 'cookie';

export function deriveKey(systemSecret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', systemSecret, 'gatehouse', `gatehouse/${purpose}/v1`, 32));
}

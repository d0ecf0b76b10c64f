import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * Every purpose gets its own key derived from SYSTEM_SECRET, so a key leaked from one use (say, the cache of
 * verified credentials) says nothing about another (token signatures, encryption of private keys).
 */
export type KeyPurpose = 'token-hmac' | 'jwk-encryption' | 'credential-cache' | 'cookie';

export function deriveKey(systemSecret: string, purpose: KeyPurpose): KeyObject {
  // A KeyObject, not a Buffer: on Node 24 createHmac with a raw Buffer key costs about six times the HMAC itself
  // (the key is imported anew each call), which was a quarter of the server's CPU per token request.
  return createSecretKey(Buffer.from(hkdfSync('sha256', systemSecret, 'gatehouse', `gatehouse/${purpose}/v1`, 32)));
}

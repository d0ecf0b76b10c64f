import { randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, URL-safe: used for generated client secrets, token bodies and the system secret. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

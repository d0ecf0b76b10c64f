import { randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, URL-safe: used for generated client secrets, token bodies and the system secret. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of epoch milliseconds, then randomness. Ids that ascend with time keep
 * index inserts at the end of the B-tree.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

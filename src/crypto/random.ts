import { randomFillSync } from 'node:crypto';

/**
 * Random bytes are drawn from the CSPRNG a pool at a time and handed out once each, as Node does for randomUUID: a
 * flow issues a code, two tokens and a grant id, and a call into the CSPRNG for each cost more than the HMACs that
 * sign them (about 4 % of the server's CPU in `npm run bench`'s browser flows).
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` fresh random bytes (a copy the caller owns). */
export function randomBytesFromPool(bytes: number): Buffer {
  if (bytes > POOL_BYTES) return randomFillSync(Buffer.alloc(bytes));
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + bytes));
  // Handed-out bytes are wiped from the pool, so the pool never holds a copy of a secret already given away.
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return out;
}

/** 256 bits from the CSPRNG, URL-safe: used for generated client secrets, token bodies and the system secret. */
export function randomToken(bytes = 32): string {
  return randomBytesFromPool(bytes).toString('base64url');
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of epoch milliseconds, then randomness. Ids that ascend with time keep
 * index inserts at the end of the B-tree.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytesFromPool(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

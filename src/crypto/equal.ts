import { timingSafeEqual } from 'node:crypto';

/**
 * Whether two secrets (or hashes of them) are equal, in time that does not depend on where they differ; values of
 * different lengths are unequal (timingSafeEqual would throw), and a length is no secret in any of our formats.
 */
export function constantTimeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  return left.length === right.length && timingSafeEqual(left, right);
}

import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/equal.js';

// RFC 7636 §4.1 and §4.2: a verifier is 43 to 128 unreserved characters; an S256 challenge is its SHA-256, base64url.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export const isS256Challenge = (challenge: string) => S256_CHALLENGE.test(challenge);

/** Whether `verifier` is well formed and hashes to `challenge` (S256; "plain" is not accepted anywhere). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = s256ChallengeOf(verifier);
  return computed !== undefined && constantTimeEqual(computed, challenge);
}

/** The S256 challenge of a well-formed verifier; undefined for a malformed one, which can match nothing. */
export function s256ChallengeOf(verifier: string): string | undefined {
  return VERIFIER.test(verifier) ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : undefined;
}

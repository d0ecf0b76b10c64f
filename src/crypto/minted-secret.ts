import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from './equal.js';

/** Recognisable in a leaked file or log, by people and by secret scanners (`gatehouse_cs_` + 55 base64url). */
export const CLIENT_SECRET_PREFIX = 'gatehouse_cs_';
const RANDOM_BYTES = 32;
const CHECK_BYTES = 9;
const RANDOM_CHARS = Math.ceil((RANDOM_BYTES * 4) / 3);
const CHECK_CHARS = Math.ceil((CHECK_BYTES * 4) / 3);
const SHAPE = new RegExp(`^${CLIENT_SECRET_PREFIX}[A-Za-z0-9_-]{${RANDOM_CHARS + CHECK_CHARS}}$`);

/**
 * Client secrets the server generates: 256 bits from the CSPRNG and a 72-bit check value, an HMAC under a key
 * derived from SYSTEM_SECRET for this purpose alone. The check value lets any replica recognise, later, a secret
 * it minted itself when it is supplied again (a restore, the operator re-pushing a Secret); without the system
 * secret nobody can produce one, so a chosen, guessable secret can never pass for minted and skip the slow hash.
 */
export class SecretMinter {
  /** @param checkKeys the first mints; all of them recognise (SYSTEM_SECRET rotation). */
  constructor(private readonly checkKeys: readonly KeyObject[]) {
    if (checkKeys.length === 0) throw new Error('a secret minter needs at least one key');
  }

  mint(): string {
    const body = `${CLIENT_SECRET_PREFIX}${randomBytes(RANDOM_BYTES).toString('base64url')}`;
    return body + checkValue(this.checkKeys[0]!, body);
  }

  /** Whether `secret` is one this server (or another sharing its system secret) minted. */
  isMinted(secret: string): boolean {
    if (!SHAPE.test(secret)) return false;
    const body = secret.slice(0, -CHECK_CHARS);
    const given = secret.slice(-CHECK_CHARS);
    let minted = false;
    // Every key is tried, so the time taken does not say which one matched.
    for (const key of this.checkKeys) minted = constantTimeEqual(checkValue(key, body), given) || minted;
    return minted;
  }
}

function checkValue(key: KeyObject, body: string): string {
  return createHmac('sha256', key).update(body).digest().subarray(0, CHECK_BYTES).toString('base64url');
}

import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from './equal.js';
import { randomToken } from './random.js';

const TIME_PREFIX = /^[0-9a-f]{12}/;

/**
 * What a token is, in its first characters, as Ory Hydra v2 marks its own: a token leaked into a log or a repository
 * is recognisable, and a scanner can tell an access token from a refresh token or a code.
 */
export const TOKEN_PREFIXES = { accessToken: 'gatehouse_at_', refreshToken: 'gatehouse_rt_', authorizationCode: 'gatehouse_ac_' } as const;
export type TokenKind = keyof typeof TOKEN_PREFIXES;

/**
 * Opaque tokens are `<kind prefix><issue time, 12 hex digits of epoch ms><256 random bits>.<HMAC-SHA256>`, the HMAC
 * over everything before the dot, prefix included, so a token of one kind cannot be passed off as another. The HMAC
 * lets us reject forged or mistyped tokens without touching the database. Only the time prefix and a SHA-256 of the
 * signature are stored, so a copy of the database holds nothing that can be presented as a token. The time prefix
 * makes storage keys ascend, so new rows append to the index instead of landing on random pages: measured on
 * SQLite, about a third of the write cost of random keys (docs/benchmarks.md).
 *
 * Tokens issued before kinds had prefixes (`<body>.<HMAC of body>`) are still accepted, for the kind that existed
 * then, until they expire.
 */
export class OpaqueTokens {
  private readonly prefix: string;

  /**
   * @param keys the first signs; all of them verify (SYSTEM_SECRET rotation).
   * @param acceptUnprefixed whether tokens from before the prefixes are accepted (access tokens only).
   */
  constructor(
    private readonly keys: readonly KeyObject[],
    kind: TokenKind = 'accessToken',
    private readonly acceptUnprefixed = kind === 'accessToken',
  ) {
    if (keys.length === 0) throw new Error('opaque tokens need at least one key');
    this.prefix = TOKEN_PREFIXES[kind];
  }

  issue(now = Date.now()): { token: string; storageKey: string } {
    const body = `${now.toString(16).padStart(12, '0')}${randomToken(32)}`;
    const signature = sign(this.keys[0]!, this.prefix + body);
    return { token: `${this.prefix}${body}.${signature}`, storageKey: storageKeyOf(body, signature) };
  }

  /** The storage key of a well-formed, correctly signed token of this kind; undefined for anything else. */
  verify(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 200) return undefined;
    const prefixed = token.startsWith(this.prefix);
    if (!prefixed && (!this.acceptUnprefixed || token.startsWith('gatehouse_'))) return undefined;
    const signed = token.slice(0, dot);
    const body = prefixed ? signed.slice(this.prefix.length) : signed;
    const given = token.slice(dot + 1);
    let valid = false;
    for (const key of this.keys) {
      valid = constantTimeEqual(given, sign(key, signed)) || valid;
    }
    return valid ? storageKeyOf(body, given) : undefined;
  }
}

function sign(key: KeyObject, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

function storageKeyOf(body: string, signature: string): string {
  const prefix = TIME_PREFIX.exec(body)?.[0] ?? '';
  return prefix + createHash('sha256').update(signature).digest('base64url');
}

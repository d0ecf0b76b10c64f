import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveKey } from '../../src/crypto/keys.js';
import { OpaqueTokens, TOKEN_PREFIXES } from '../../src/crypto/opaque-token.js';

const key = deriveKey('unit-test-system-secret', 'token-hmac');
const tokens = new OpaqueTokens([key]);
const PREFIX = 'gatehouse_at_';

const flip = (text: string) => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
const hmac = (signingKey: KeyObject, value: string) => createHmac('sha256', signingKey).update(value).digest('base64url');

/** A token as issued before kinds had prefixes: `<issue time><256 random bits>.<HMAC of that body>`. */
function legacyToken(signingKey: KeyObject, now = Date.now()): { token: string; storageKey: string } {
  const body = `${now.toString(16).padStart(12, '0')}${Buffer.alloc(32, 7).toString('base64url')}`;
  const signature = hmac(signingKey, body);
  // The storage key those tokens were stored under: the time prefix and a SHA-256 of the signature.
  return { token: `${body}.${signature}`, storageKey: body.slice(0, 12) + createHash('sha256').update(signature).digest('base64url') };
}

describe('opaque tokens', () => {
  it('are gatehouse_at_<issue time><256 random bits>.<HMAC-SHA256>, base64url', () => {
    const issuedAt = Date.UTC(2026, 10, 22, 8, 0, 0);
    const { token, storageKey } = tokens.issue(issuedAt);
    expect(token).toMatch(/^gatehouse_at_[0-9a-f]{12}[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    const time = token.slice(PREFIX.length, PREFIX.length + 12);
    expect(parseInt(time, 16)).toBe(issuedAt);
    expect(Buffer.from(token.split('.')[0]!.slice(PREFIX.length + 12), 'base64url')).toHaveLength(32);
    // The storage key keeps the time prefix (so keys ascend) but holds only a hash of the signature.
    expect(storageKey.startsWith(time)).toBe(true);
    expect(storageKey).not.toContain(token.split('.')[1]);
    expect(storageKey).not.toContain(PREFIX);
  });

  it('are signed over the kind prefix and the body together', () => {
    const { token } = tokens.issue();
    const [signed, signature] = token.split('.') as [string, string];
    expect(signed.startsWith(PREFIX)).toBe(true);
    expect(signature).toBe(hmac(key, signed));
    expect(signature).not.toBe(hmac(key, signed.slice(PREFIX.length)));
  });

  it('carry the prefix of their kind, each kind its own', () => {
    expect(TOKEN_PREFIXES).toEqual({ accessToken: 'gatehouse_at_', refreshToken: 'gatehouse_rt_', authorizationCode: 'gatehouse_ac_' });
    for (const [kind, prefix] of Object.entries(TOKEN_PREFIXES)) {
      const issued = new OpaqueTokens([key], kind as keyof typeof TOKEN_PREFIXES).issue();
      expect(issued.token.startsWith(prefix)).toBe(true);
      expect(issued.token).toMatch(/^gatehouse_[a-z]{2}_[0-9a-f]{12}[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    }
    expect(new OpaqueTokens([key]).issue().token.startsWith(TOKEN_PREFIXES.accessToken)).toBe(true);
  });

  it('get storage keys that ascend with issue time', () => {
    const keys = [1_000, 2_000, 3_000].map((ms) => tokens.issue(Date.UTC(2026, 0, 1) + ms).storageKey);
    expect([...keys].sort()).toEqual(keys);
  });

  it('verify to the storage key they were issued with, stably, also on another instance with the same key', () => {
    const { token, storageKey } = tokens.issue();
    expect(tokens.verify(token)).toBe(storageKey);
    expect(tokens.verify(token)).toBe(storageKey);
    expect(new OpaqueTokens([deriveKey('unit-test-system-secret', 'token-hmac')]).verify(token)).toBe(storageKey);
  });

  it('have a storage key that reveals neither the token nor its parts', () => {
    const { token, storageKey } = tokens.issue();
    const [body, signature] = token.split('.') as [string, string];
    for (const part of [token, body, body.slice(PREFIX.length), signature]) expect(storageKey).not.toContain(part);
    expect(storageKey).not.toBe(signature);
  });

  it('are unique, and so are their storage keys', () => {
    const issued = Array.from({ length: 100 }, () => tokens.issue());
    expect(new Set(issued.map((i) => i.token)).size).toBe(100);
    expect(new Set(issued.map((i) => i.storageKey)).size).toBe(100);
  });

  it('reject forgeries and malformed input without a lookup', () => {
    const { token } = tokens.issue();
    const [body, signature] = token.split('.') as [string, string];
    const otherServer = new OpaqueTokens([deriveKey('another-system-secret-value', 'token-hmac')]).issue().token;
    for (const forged of [
      `${body}.${flip(signature)}`,
      `${flip(body)}.${signature}`,
      `${body}.${signature}x`,
      `${body}.`,
      `.${signature}`,
      body,
      '',
      '.',
      otherServer,
      `${body}.${signature}.${signature}`,
      `${'a'.repeat(200)}.${signature}`,
      ` ${token}`,
      `${token}\n`,
    ]) {
      expect(tokens.verify(forged), forged).toBeUndefined();
    }
  });

  it('refuse anything longer than 200 characters, even when correctly signed', () => {
    const signed = `${PREFIX}${'0'.repeat(200)}`;
    const token = `${signed}.${hmac(key, signed)}`;
    expect(token.length).toBeGreaterThan(200);
    expect(tokens.verify(token)).toBeUndefined();
  });

  it('are keyed by purpose: a key derived for another purpose does not verify them', () => {
    const { token } = tokens.issue();
    expect(new OpaqueTokens([deriveKey('unit-test-system-secret', 'cookie')]).verify(token)).toBeUndefined();
  });

  it('need at least one key', () => {
    expect(() => new OpaqueTokens([])).toThrow(/at least one key/);
  });

  describe('kinds', () => {
    const refreshTokens = new OpaqueTokens([key], 'refreshToken');
    const codes = new OpaqueTokens([key], 'authorizationCode');

    it('verify their own kind', () => {
      for (const verifier of [tokens, refreshTokens, codes]) {
        const { token, storageKey } = verifier.issue();
        expect(verifier.verify(token)).toBe(storageKey);
      }
    });

    it('do not accept a token of another kind, in either direction', () => {
      const access = tokens.issue().token;
      const refresh = refreshTokens.issue().token;
      const code = codes.issue().token;
      expect(tokens.verify(refresh)).toBeUndefined();
      expect(tokens.verify(code)).toBeUndefined();
      expect(refreshTokens.verify(access)).toBeUndefined();
      expect(refreshTokens.verify(code)).toBeUndefined();
      expect(codes.verify(access)).toBeUndefined();
      expect(codes.verify(refresh)).toBeUndefined();
    });

    it('do not accept a valid token whose prefix was swapped for another kind', () => {
      const access = tokens.issue().token;
      const refresh = refreshTokens.issue().token;
      const asRefresh = access.replace(TOKEN_PREFIXES.accessToken, TOKEN_PREFIXES.refreshToken);
      const asAccess = refresh.replace(TOKEN_PREFIXES.refreshToken, TOKEN_PREFIXES.accessToken);
      expect(asRefresh.startsWith(TOKEN_PREFIXES.refreshToken)).toBe(true);
      expect(refreshTokens.verify(asRefresh)).toBeUndefined();
      expect(tokens.verify(asRefresh)).toBeUndefined();
      expect(tokens.verify(asAccess)).toBeUndefined();
      expect(refreshTokens.verify(asAccess)).toBeUndefined();
      expect(codes.verify(access.replace(TOKEN_PREFIXES.accessToken, TOKEN_PREFIXES.authorizationCode))).toBeUndefined();
    });

    it('do not accept a valid token whose prefix was removed or altered', () => {
      const { token } = tokens.issue();
      const stripped = token.slice(PREFIX.length);
      expect(tokens.verify(stripped)).toBeUndefined();
      for (const altered of [`gatehouse_xx_${stripped}`, `Gatehouse_at_${stripped}`, `gatehouse_at${stripped}`, `x${token}`]) {
        expect(tokens.verify(altered), altered).toBeUndefined();
      }
    });
  });

  describe('issued before kinds had prefixes', () => {
    it('still verify as access tokens, to the storage key they were stored under', () => {
      const { token, storageKey } = legacyToken(key, Date.UTC(2025, 5, 1));
      expect(token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(tokens.verify(token)).toBe(storageKey);
      expect(storageKey.startsWith(token.slice(0, 12))).toBe(true);
    });

    it('are not accepted as refresh tokens or codes', () => {
      const { token } = legacyToken(key);
      expect(new OpaqueTokens([key], 'refreshToken').verify(token)).toBeUndefined();
      expect(new OpaqueTokens([key], 'authorizationCode').verify(token)).toBeUndefined();
    });

    it('are accepted for another kind only when asked for explicitly', () => {
      const { token, storageKey } = legacyToken(key);
      expect(new OpaqueTokens([key], 'refreshToken', true).verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([key], 'accessToken', false).verify(token)).toBeUndefined();
    });

    it('are refused when forged or signed by another secret', () => {
      const { token } = legacyToken(key);
      const [body, signature] = token.split('.') as [string, string];
      expect(tokens.verify(`${body}.${flip(signature)}`)).toBeUndefined();
      expect(tokens.verify(`${flip(body)}.${signature}`)).toBeUndefined();
      expect(tokens.verify(legacyToken(deriveKey('another-system-secret-value', 'token-hmac')).token)).toBeUndefined();
    });

    it('cannot be upgraded by adding a prefix: the signature covers the body alone', () => {
      const { token } = legacyToken(key);
      expect(tokens.verify(`${PREFIX}${token}`)).toBeUndefined();
    });

    it('cannot be imitated by a new token without its prefix: that signature covers prefix and body', () => {
      const body = `${Date.now().toString(16).padStart(12, '0')}${Buffer.alloc(32, 9).toString('base64url')}`;
      expect(tokens.verify(`${body}.${hmac(key, PREFIX + body)}`)).toBeUndefined();
      // The same body, signed the old way, is accepted: only the signature made the difference.
      expect(tokens.verify(`${body}.${hmac(key, body)}`)).toBeDefined();
    });
  });

  describe('across a rotation of SYSTEM_SECRET', () => {
    const oldKey = deriveKey('the-old-system-secret-value', 'token-hmac');
    const newKey = deriveKey('the-new-system-secret-value', 'token-hmac');

    it('a token issued under the old key verifies with [new, old], to the same storage key, and not with [new] alone', () => {
      const { token, storageKey } = new OpaqueTokens([oldKey]).issue();
      expect(new OpaqueTokens([newKey, oldKey]).verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([oldKey, newKey]).verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([newKey]).verify(token)).toBeUndefined();
    });

    it('new tokens are signed with the first key only', () => {
      const { token, storageKey } = new OpaqueTokens([newKey, oldKey]).issue();
      expect(new OpaqueTokens([newKey]).verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([oldKey]).verify(token)).toBeUndefined();
    });

    it('a legacy token under the old key verifies with [new, old], and not with [new] alone', () => {
      const { token, storageKey } = legacyToken(oldKey);
      expect(new OpaqueTokens([newKey, oldKey]).verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([newKey]).verify(token)).toBeUndefined();
    });

    it('a refresh token under the old key verifies with [new, old] refresh tokens, not as an access token', () => {
      const { token, storageKey } = new OpaqueTokens([oldKey], 'refreshToken').issue();
      expect(new OpaqueTokens([newKey, oldKey], 'refreshToken').verify(token)).toBe(storageKey);
      expect(new OpaqueTokens([newKey, oldKey]).verify(token)).toBeUndefined();
    });
  });
});

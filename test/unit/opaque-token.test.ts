import { describe, expect, it } from 'vitest';
import { deriveKey } from '../../src/crypto/keys.js';
import { OpaqueTokens } from '../../src/crypto/opaque-token.js';

const tokens = new OpaqueTokens(deriveKey('unit-test-system-secret', 'token-hmac'));

describe('opaque tokens', () => {
  it('are <issue time><256 random bits>.<HMAC-SHA256>, base64url', () => {
    const issuedAt = Date.UTC(2026, 10, 22, 8, 0, 0);
    const { token, storageKey } = tokens.issue(issuedAt);
    expect(token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(parseInt(token.slice(0, 12), 16)).toBe(issuedAt);
    expect(Buffer.from(token.split('.')[0]!.slice(12), 'base64url')).toHaveLength(32);
    // The storage key keeps the time prefix (so keys ascend) but holds only a hash of the signature.
    expect(storageKey.startsWith(token.slice(0, 12))).toBe(true);
    expect(storageKey).not.toContain(token.split('.')[1]);
  });

  it('get storage keys that ascend with issue time', () => {
    const keys = [1_000, 2_000, 3_000].map((ms) => tokens.issue(Date.UTC(2026, 0, 1) + ms).storageKey);
    expect([...keys].sort()).toEqual(keys);
  });

  it('verify to the storage key they were issued with, stably, also on another instance with the same key', () => {
    const { token, storageKey } = tokens.issue();
    expect(tokens.verify(token)).toBe(storageKey);
    expect(tokens.verify(token)).toBe(storageKey);
    expect(new OpaqueTokens(deriveKey('unit-test-system-secret', 'token-hmac')).verify(token)).toBe(storageKey);
  });

  it('have a storage key that reveals neither the token nor its parts', () => {
    const { token, storageKey } = tokens.issue();
    const [body, signature] = token.split('.') as [string, string];
    for (const part of [token, body, signature]) expect(storageKey).not.toContain(part);
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
    const flip = (text: string) => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
    const otherServer = new OpaqueTokens(deriveKey('another-system-secret-value', 'token-hmac')).issue().token;
    for (const forged of [
      `${body}.${flip(signature)}`,
      `${flip(body)}.${signature}`,
      `${body}.${signature}x`,
      `${body}.`,
      `.${signature}`,
      body,
      '',
      otherServer,
      `${body}.${signature}.${signature}`,
      `${'a'.repeat(200)}.${signature}`,
    ]) {
      expect(tokens.verify(forged), forged).toBeUndefined();
    }
  });

  it('are keyed by purpose: a key derived for another purpose does not verify them', () => {
    const { token } = tokens.issue();
    expect(new OpaqueTokens(deriveKey('unit-test-system-secret', 'cookie')).verify(token)).toBeUndefined();
  });
});

import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal } from '../../src/crypto/aead.js';
import { deriveKey } from '../../src/crypto/keys.js';

const key = createSecretKey(randomBytes(32));

describe('seal / open (AES-256-GCM)', () => {
  it('round-trips, including empty and non-ASCII plaintext', () => {
    for (const plaintext of ['{"d":"private"}', '', 'ünïcødé ✓', 'x'.repeat(10_000)]) {
      expect(open(key, seal(key, plaintext, 'kid-1'), 'kid-1')).toBe(plaintext);
    }
  });

  it('writes v1.<nonce>.<ciphertext>.<tag> with a fresh 96-bit nonce each time', () => {
    const a = seal(key, 'same', 'ad');
    const b = seal(key, 'same', 'ad');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(a).not.toContain('same');
  });

  it('refuses a wrong key', () => {
    expect(() => open(createSecretKey(randomBytes(32)), seal(key, 'secret', 'ad'), 'ad')).toThrow(/cannot decrypt/);
  });

  it('refuses other associated data (a sealed value moved to another row)', () => {
    expect(() => open(key, seal(key, 'secret', 'public:1'), 'public:2')).toThrow(/cannot decrypt/);
  });

  it.each([
    ['the ciphertext', 2],
    ['the tag', 3],
    ['the nonce', 1],
  ])('refuses a change to %s', (_part, index) => {
    const parts = seal(key, 'a secret worth protecting', 'ad').split('.');
    const bytes = Buffer.from(parts[index]!, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    parts[index] = bytes.toString('base64url');
    expect(() => open(key, parts.join('.'), 'ad')).toThrow();
  });

  it.each(['v2.a.b.c', 'v1.a.b', 'plain text', ''])('refuses the unknown format %j', (sealed) => {
    expect(() => open(key, sealed, 'ad')).toThrow(/unknown format/);
  });
});

describe('deriveKey', () => {
  it('derives a deterministic 32-byte key per secret and purpose', () => {
    const a = deriveKey('system-secret-0123456789', 'jwk-encryption');
    expect(a.symmetricKeySize).toBe(32);
    expect(deriveKey('system-secret-0123456789', 'jwk-encryption').equals(a)).toBe(true);
    expect(deriveKey('system-secret-0123456789', 'token-hmac').equals(a)).toBe(false);
    expect(deriveKey('system-secret-0123456780', 'jwk-encryption').equals(a)).toBe(false);
  });

  it('makes a value sealed under one SYSTEM_SECRET unreadable under another', () => {
    const sealed = seal(deriveKey('first-system-secret-value', 'jwk-encryption'), 'private key', 'kid');
    expect(() => open(deriveKey('second-system-secret-value', 'jwk-encryption'), sealed, 'kid')).toThrow(/SYSTEM_SECRET/);
  });
});

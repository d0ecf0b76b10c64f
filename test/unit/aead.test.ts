import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, openWithAny, seal } from '../../src/crypto/aead.js';
import { Keyring, deriveKey, splitSystemSecrets } from '../../src/crypto/keys.js';

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

describe('openWithAny (SYSTEM_SECRET rotation)', () => {
  const first = createSecretKey(randomBytes(32));
  const second = createSecretKey(randomBytes(32));

  it('opens a value sealed with the first key, saying so', () => {
    expect(openWithAny([first, second], seal(first, 'private key', 'kid'), 'kid')).toEqual({ plaintext: 'private key', byFirst: true });
  });

  it('opens a value sealed with a later key, saying it was not the first', () => {
    expect(openWithAny([first, second], seal(second, 'private key', 'kid'), 'kid')).toEqual({ plaintext: 'private key', byFirst: false });
    expect(openWithAny([first, key, second], seal(second, '', 'kid'), 'kid')).toEqual({ plaintext: '', byFirst: false });
  });

  it('works with a single key', () => {
    expect(openWithAny([first], seal(first, 'x', 'ad'), 'ad')).toEqual({ plaintext: 'x', byFirst: true });
  });

  it('refuses a value sealed with none of the keys', () => {
    expect(() => openWithAny([first, second], seal(key, 'private key', 'kid'), 'kid')).toThrow(/cannot decrypt/);
    expect(() => openWithAny([first], seal(second, 'private key', 'kid'), 'kid')).toThrow(/cannot decrypt/);
  });

  it('refuses other associated data under every key', () => {
    expect(() => openWithAny([first, second], seal(second, 'private key', 'public:1'), 'public:2')).toThrow(/cannot decrypt/);
  });

  it('refuses an altered value', () => {
    const parts = seal(second, 'a secret worth protecting', 'ad').split('.');
    const tag = Buffer.from(parts[3]!, 'base64url');
    tag[0] = tag[0]! ^ 1;
    parts[3] = tag.toString('base64url');
    expect(() => openWithAny([first, second], parts.join('.'), 'ad')).toThrow(/cannot decrypt/);
  });

  it('refuses an unknown format, and having no key at all', () => {
    expect(() => openWithAny([first, second], 'v2.a.b.c', 'ad')).toThrow(/unknown format/);
    expect(() => openWithAny([], seal(first, 'x', 'ad'), 'ad')).toThrow(/no key/);
  });

  it('opens with the keys of a Keyring listing the new secret before the old one', () => {
    const sealed = seal(deriveKey('the-old-system-secret-value', 'jwk-encryption'), 'private key', 'kid');
    const keyring = new Keyring('the-new-system-secret-value,the-old-system-secret-value');
    expect(openWithAny(keyring.all('jwk-encryption'), sealed, 'kid')).toEqual({ plaintext: 'private key', byFirst: false });
    expect(() => openWithAny(new Keyring('the-new-system-secret-value').all('jwk-encryption'), sealed, 'kid')).toThrow(/cannot decrypt/);
  });
});

describe('splitSystemSecrets', () => {
  it.each([
    ['one secret', 'only-one-system-secret', ['only-one-system-secret']],
    ['two secrets', 'first-system-secret,second-system-secret', ['first-system-secret', 'second-system-secret']],
    ['spaces around them', '  first-system-secret ,  second-system-secret  ', ['first-system-secret', 'second-system-secret']],
    ['empty entries', ',first-system-secret,,second-system-secret,', ['first-system-secret', 'second-system-secret']],
    ['nothing', '', []],
    ['commas alone', ' , ,', []],
  ])('splits %s', (_what, value, expected) => {
    expect(splitSystemSecrets(value)).toEqual(expected);
  });
});

describe('Keyring', () => {
  const keyring = new Keyring(' first-system-secret-value , second-system-secret-value ');

  it('holds the configured secrets in order, trimmed', () => {
    expect(keyring.secrets).toEqual(['first-system-secret-value', 'second-system-secret-value']);
    expect(new Keyring(['a-system-secret-value', 'b-system-secret-value']).secrets).toEqual(['a-system-secret-value', 'b-system-secret-value']);
  });

  it('gives the key of the first secret as primary, and every key, primary first, in the configured order', () => {
    const all = keyring.all('token-hmac');
    expect(all).toHaveLength(2);
    expect(all[0]!.equals(deriveKey('first-system-secret-value', 'token-hmac'))).toBe(true);
    expect(all[1]!.equals(deriveKey('second-system-secret-value', 'token-hmac'))).toBe(true);
    expect(keyring.primary('token-hmac').equals(all[0]!)).toBe(true);
    const reversed = new Keyring('second-system-secret-value,first-system-secret-value');
    expect(reversed.primary('token-hmac').equals(all[1]!)).toBe(true);
  });

  it('derives the same keys from a string and from a list of the same secrets', () => {
    const fromList = new Keyring(['first-system-secret-value', 'second-system-secret-value']);
    for (const [index, derived] of fromList.all('cookie').entries()) expect(derived.equals(keyring.all('cookie')[index]!)).toBe(true);
  });

  it('derives a different key for each purpose', () => {
    const purposes = ['token-hmac', 'jwk-encryption', 'credential-cache', 'cookie', 'secret-check', 'secret-storage'] as const;
    const primaries = purposes.map((purpose) => keyring.primary(purpose).export().toString('hex'));
    expect(new Set(primaries).size).toBe(purposes.length);
    const seconds = purposes.map((purpose) => keyring.all(purpose)[1]!.export().toString('hex'));
    expect(new Set([...primaries, ...seconds]).size).toBe(2 * purposes.length);
  });

  it('gives the same keys on every call', () => {
    expect(keyring.all('cookie')[0]!.equals(keyring.all('cookie')[0]!)).toBe(true);
    expect(keyring.primary('cookie').equals(deriveKey('first-system-secret-value', 'cookie'))).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['commas alone', ' , '],
    ['an empty list', []],
  ])('needs at least one secret: refuses %s', (_what, secrets) => {
    expect(() => new Keyring(secrets)).toThrow(/at least one system secret/);
  });
});

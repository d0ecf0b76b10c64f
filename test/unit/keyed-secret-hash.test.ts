import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KEYED_SCHEME, KeyedSecretHash, isKeyedHash } from '../../src/crypto/keyed-secret-hash.js';
import { Keyring, deriveKey } from '../../src/crypto/keys.js';

const storageKey = deriveKey('unit-test-system-secret', 'secret-storage');
const keyed = new KeyedSecretHash([storageKey]);
const PHC = /^\$hmac-sha256\$k=([A-Za-z0-9_-]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
const SECRET = 'gatehouse_cs_a-minted-secret-of-the-right-length-and-some-more-chars';
const NOT_VERIFIED = { verified: false, rehash: false };

/** The stored hash with one byte of its `index`-th `$` part (3 = salt, 4 = hash) changed. */
function alterPart(stored: string, index: number): string {
  const parts = stored.split('$');
  const bytes = Buffer.from(parts[index]!, 'base64');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64');
  return parts.join('$');
}

describe('KeyedSecretHash', () => {
  it('writes $hmac-sha256$k=<key id>$<16-byte salt>$<32-byte HMAC> (PHC)', () => {
    const stored = keyed.hash(SECRET);
    expect(KEYED_SCHEME).toBe('hmac-sha256');
    const [, id, salt, hash] = PHC.exec(stored)!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(hash!, 'base64')).toHaveLength(32);
  });

  it('stores HMAC-SHA256(storage key, salt || secret)', () => {
    const [, , salt, hash] = PHC.exec(keyed.hash(SECRET))!;
    const expected = createHmac('sha256', storageKey).update(Buffer.from(salt!, 'base64')).update(SECRET).digest('base64');
    expect(hash).toBe(expected);
  });

  it('never contains the secret', () => {
    const stored = keyed.hash(SECRET);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 20));
  });

  it('names the key by an id that is stable for one key and differs between keys', () => {
    const idOf = (stored: string) => PHC.exec(stored)![1];
    expect(idOf(keyed.hash('a'))).toBe(idOf(keyed.hash('b')));
    expect(idOf(new KeyedSecretHash([deriveKey('unit-test-system-secret', 'secret-storage')]).hash('a'))).toBe(idOf(keyed.hash('a')));
    expect(idOf(new KeyedSecretHash([deriveKey('another-system-secret-value', 'secret-storage')]).hash('a'))).not.toBe(idOf(keyed.hash('a')));
  });

  it('salts: the same secret hashes differently each time, and each hash verifies', () => {
    const hashes = Array.from({ length: 50 }, () => keyed.hash(SECRET));
    expect(new Set(hashes).size).toBe(50);
    expect(new Set(hashes.map((stored) => stored.split('$')[3])).size).toBe(50);
    for (const stored of hashes) expect(keyed.verify(SECRET, stored)).toEqual({ verified: true, rehash: false });
  });

  it('verifies the right secret and refuses a wrong one', () => {
    const stored = keyed.hash(SECRET);
    expect(keyed.verify(SECRET, stored)).toEqual({ verified: true, rehash: false });
    for (const wrong of [SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), '', ` ${SECRET}`]) {
      expect(keyed.verify(wrong, stored), wrong).toEqual(NOT_VERIFIED);
    }
  });

  it('verifies on another instance with the same key, and not under another system secret or purpose', () => {
    const stored = keyed.hash(SECRET);
    expect(new KeyedSecretHash([deriveKey('unit-test-system-secret', 'secret-storage')]).verify(SECRET, stored).verified).toBe(true);
    expect(new KeyedSecretHash([deriveKey('another-system-secret-value', 'secret-storage')]).verify(SECRET, stored)).toEqual(NOT_VERIFIED);
    expect(new KeyedSecretHash([deriveKey('unit-test-system-secret', 'secret-check')]).verify(SECRET, stored)).toEqual(NOT_VERIFIED);
  });

  it('normalizes Unicode (NFC), so a composed and a decomposed é are the same secret', () => {
    expect(keyed.verify('cafe\u0301-secret', keyed.hash('caf\u00e9-secret')).verified).toBe(true);
    expect(keyed.verify('caf\u00e9-secret', keyed.hash('cafe\u0301-secret')).verified).toBe(true);
    expect(keyed.verify('cafe-secret', keyed.hash('caf\u00e9-secret')).verified).toBe(false);
  });

  it.each([
    ['the hash', 4],
    ['the salt', 3],
  ])('refuses a stored value whose %s was altered', (_part, index) => {
    const stored = keyed.hash(SECRET);
    const altered = alterPart(stored, index);
    expect(altered).not.toBe(stored);
    expect(keyed.verify(SECRET, altered)).toEqual(NOT_VERIFIED);
  });

  it('refuses a hash of the wrong length without throwing', () => {
    const stored = keyed.hash(SECRET);
    const parts = stored.split('$');
    const hash = Buffer.from(parts[4]!, 'base64');
    for (const length of [0, 16, 31, 33]) {
      const resized = Buffer.alloc(length);
      hash.copy(resized, 0, 0, Math.min(length, 32));
      parts[4] = resized.toString('base64');
      expect(keyed.verify(SECRET, parts.join('$'))).toEqual(NOT_VERIFIED);
    }
  });

  it('refuses an unknown key id, even with an otherwise correct hash', () => {
    const stored = keyed.hash(SECRET);
    const id = PHC.exec(stored)![1]!;
    const otherId = id === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
    expect(keyed.verify(SECRET, stored.replace(`k=${id}`, `k=${otherId}`))).toEqual(NOT_VERIFIED);
  });

  it('refuses a hash relabelled with the id of another key it holds', () => {
    const first = deriveKey('the-first-system-secret-value', 'secret-storage');
    const second = deriveKey('the-second-system-secret-value', 'secret-storage');
    const both = new KeyedSecretHash([first, second]);
    const underSecond = new KeyedSecretHash([second]).hash(SECRET);
    const firstId = PHC.exec(both.hash(SECRET))![1]!;
    const secondId = PHC.exec(underSecond)![1]!;
    expect(both.verify(SECRET, underSecond).verified).toBe(true);
    expect(both.verify(SECRET, underSecond.replace(`k=${secondId}`, `k=${firstId}`))).toEqual(NOT_VERIFIED);
  });

  it.each([
    ['an empty string', ''],
    ['an scrypt hash', '$scrypt$ln=14,r=8,p=5$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g='],
    ['a PHC string without a key id', '$hmac-sha256$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaA=='],
    ['a PHC string without a hash', '$hmac-sha256$k=AAAAAAAA$c2FsdHNhbHRzYWx0c2FsdA=='],
    ['another scheme', '$hmac-sha512$k=AAAAAAAA$c2FsdA==$aGFzaA=='],
    ['the plaintext secret', SECRET],
  ])('refuses %s as a stored hash', (_what, stored) => {
    expect(keyed.verify(SECRET, stored)).toEqual(NOT_VERIFIED);
  });

  it('refuses a hash with trailing text', () => {
    const stored = keyed.hash(SECRET);
    expect(keyed.verify(SECRET, `${stored}$extra`)).toEqual(NOT_VERIFIED);
    expect(keyed.verify(SECRET, `${stored}\n`)).toEqual(NOT_VERIFIED);
  });

  describe('across a rotation of SYSTEM_SECRET', () => {
    const oldKey = deriveKey('the-old-system-secret-value', 'secret-storage');
    const newKey = deriveKey('the-new-system-secret-value', 'secret-storage');
    const rotated = new KeyedSecretHash([newKey, oldKey]);

    it('verifies a hash made under the old secret with [new, old], asking for a rehash', () => {
      const stored = new KeyedSecretHash([oldKey]).hash(SECRET);
      expect(rotated.verify(SECRET, stored)).toEqual({ verified: true, rehash: true });
      expect(rotated.verify('a wrong secret', stored)).toEqual(NOT_VERIFIED);
    });

    it('does not verify a hash under the old secret with [new] alone', () => {
      const stored = new KeyedSecretHash([oldKey]).hash(SECRET);
      expect(new KeyedSecretHash([newKey]).verify(SECRET, stored)).toEqual(NOT_VERIFIED);
    });

    it('hashes under the first secret, with its id, and does not ask to rehash those', () => {
      const stored = rotated.hash(SECRET);
      expect(PHC.exec(stored)![1]).toBe(PHC.exec(new KeyedSecretHash([newKey]).hash(SECRET))![1]);
      expect(rotated.verify(SECRET, stored)).toEqual({ verified: true, rehash: false });
      expect(new KeyedSecretHash([newKey]).verify(SECRET, stored)).toEqual({ verified: true, rehash: false });
      expect(new KeyedSecretHash([oldKey]).verify(SECRET, stored)).toEqual(NOT_VERIFIED);
    });

    it('a rehash under [new, old] verifies with [new] alone', () => {
      const stored = new KeyedSecretHash([oldKey]).hash(SECRET);
      expect(rotated.verify(SECRET, stored).rehash).toBe(true);
      expect(new KeyedSecretHash([newKey]).verify(SECRET, rotated.hash(SECRET))).toEqual({ verified: true, rehash: false });
    });

    it('works with the keys of a Keyring', () => {
      const keyring = new Keyring('the-new-system-secret-value, the-old-system-secret-value');
      const fromKeyring = new KeyedSecretHash(keyring.all('secret-storage'));
      expect(fromKeyring.verify(SECRET, new KeyedSecretHash([oldKey]).hash(SECRET))).toEqual({ verified: true, rehash: true });
      expect(fromKeyring.verify(SECRET, new KeyedSecretHash([newKey]).hash(SECRET))).toEqual({ verified: true, rehash: false });
    });
  });

  it('needs at least one key', () => {
    expect(() => new KeyedSecretHash([])).toThrow(/at least one key/);
  });
});

describe('isKeyedHash', () => {
  it('tells a keyed hash from other stored forms', () => {
    expect(isKeyedHash(keyed.hash(SECRET))).toBe(true);
    expect(isKeyedHash('$hmac-sha256$k=AAAAAAAA$c2FsdA==$aGFzaA==')).toBe(true);
    for (const other of [
      '$scrypt$ln=14,r=8,p=5$c2FsdA==$aGFzaA==',
      'hmac-sha256$k=AAAAAAAA$c2FsdA==$aGFzaA==',
      '$hmac-sha2566$k=AAAAAAAA$c2FsdA==$aGFzaA==',
      '$hmac-sha256',
      SECRET,
      '',
    ]) {
      expect(isKeyedHash(other), other).toBe(false);
    }
  });
});

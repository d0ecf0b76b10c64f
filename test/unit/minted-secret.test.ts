import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring, deriveKey } from '../../src/crypto/keys.js';
import { CLIENT_SECRET_PREFIX, SecretMinter } from '../../src/crypto/minted-secret.js';

const checkKey = deriveKey('unit-test-system-secret', 'secret-check');
const minter = new SecretMinter([checkKey]);
const SHAPE = /^gatehouse_cs_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{12})$/;

/** Replaces the character at `index` with another base64url character. */
function alter(text: string, index: number): string {
  const at = index < 0 ? text.length + index : index;
  return `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
}

describe('SecretMinter', () => {
  describe('mint', () => {
    it('makes gatehouse_cs_ + 43 base64url characters of 32 random bytes + a 12-character check value', () => {
      const secret = minter.mint();
      expect(CLIENT_SECRET_PREFIX).toBe('gatehouse_cs_');
      expect(secret).toHaveLength(13 + 43 + 12);
      const [, random, check] = SHAPE.exec(secret)!;
      expect(Buffer.from(random!, 'base64url')).toHaveLength(32);
      expect(Buffer.from(random!, 'base64url').toString('base64url')).toBe(random);
      expect(Buffer.from(check!, 'base64url')).toHaveLength(9);
    });

    it('appends a truncated HMAC-SHA256 of prefix and random part, under the secret-check key', () => {
      const secret = minter.mint();
      const body = secret.slice(0, -12);
      const expected = createHmac('sha256', checkKey).update(body).digest().subarray(0, 9).toString('base64url');
      expect(secret.slice(-12)).toBe(expected);
    });

    it('never repeats, and uses all 256 random bits', () => {
      const secrets = Array.from({ length: 300 }, () => minter.mint());
      expect(new Set(secrets).size).toBe(secrets.length);
      const randoms = secrets.map((secret) => Buffer.from(SHAPE.exec(secret)![1]!, 'base64url'));
      expect(new Set(randoms.map((random) => random.toString('hex'))).size).toBe(secrets.length);
      // Every one of the 256 bit positions takes both values across 300 secrets (else: p = 2^-299 per bit).
      const ones = Buffer.alloc(32);
      const zeros = Buffer.alloc(32);
      for (const random of randoms) {
        for (let i = 0; i < 32; i++) {
          ones[i] = ones[i]! | random[i]!;
          zeros[i] = zeros[i]! | ~random[i]!;
        }
      }
      expect(ones.equals(Buffer.alloc(32, 0xff))).toBe(true);
      expect(zeros.equals(Buffer.alloc(32, 0xff))).toBe(true);
    });

    it('makes secrets that another instance sharing the system secret recognises', () => {
      const secret = minter.mint();
      expect(new SecretMinter([deriveKey('unit-test-system-secret', 'secret-check')]).isMinted(secret)).toBe(true);
    });
  });

  describe('isMinted', () => {
    it('recognises its own secrets', () => {
      for (let i = 0; i < 20; i++) expect(minter.isMinted(minter.mint())).toBe(true);
    });

    it.each<[string, (secret: string) => string]>([
      ['the first random character altered', (s) => alter(s, 13)],
      ['a middle random character altered', (s) => alter(s, 30)],
      ['the last random character altered', (s) => alter(s, 13 + 42)],
      ['the first check character altered', (s) => alter(s, -12)],
      ['the last check character altered', (s) => alter(s, -1)],
      ['the last character cut off', (s) => s.slice(0, -1)],
      ['the check value cut off', (s) => s.slice(0, -12)],
      ['a character added', (s) => `${s}A`],
      ['a trailing newline', (s) => `${s}\n`],
      ['a leading space', (s) => ` ${s}`],
      ['the prefix of an access token', (s) => s.replace('gatehouse_cs_', 'gatehouse_at_')],
      ['the prefix in capitals', (s) => s.replace('gatehouse_cs_', 'GATEHOUSE_CS_')],
      ['no prefix', (s) => s.slice(13)],
      ['random part and check value swapped in case', (s) => s.slice(0, 13) + s.slice(13).toUpperCase()],
      ['a non-base64url character', (s) => `${s.slice(0, 20)}+${s.slice(21)}`],
    ])('refuses a minted secret with %s', (_what, change) => {
      const secret = minter.mint();
      const changed = change(secret);
      expect(changed).not.toBe(secret);
      expect(minter.isMinted(changed)).toBe(false);
    });

    it('refuses a secret minted under another system secret', () => {
      const other = new SecretMinter([deriveKey('another-system-secret-value', 'secret-check')]).mint();
      expect(other).toMatch(SHAPE);
      expect(minter.isMinted(other)).toBe(false);
    });

    it('refuses a secret checked with a key derived for another purpose', () => {
      const other = new SecretMinter([deriveKey('unit-test-system-secret', 'secret-storage')]).mint();
      expect(minter.isMinted(other)).toBe(false);
    });

    it.each([
      ['a chosen string of the right shape', `gatehouse_cs_${'A'.repeat(55)}`],
      ['another chosen string of the right shape', `gatehouse_cs_${'correct-horse-battery-staple-'.repeat(2).slice(0, 55)}`],
      ['a chosen secret', 'correct horse battery staple'],
      ['an empty string', ''],
      ['the prefix alone', 'gatehouse_cs_'],
    ])('refuses %s', (_what, secret) => {
      expect(minter.isMinted(secret)).toBe(false);
    });
  });

  describe('across a rotation of SYSTEM_SECRET', () => {
    const oldKey = deriveKey('the-old-system-secret-value', 'secret-check');
    const newKey = deriveKey('the-new-system-secret-value', 'secret-check');

    it('a secret minted under the old secret is recognised with [new, old], and not with [new] alone', () => {
      const secret = new SecretMinter([oldKey]).mint();
      expect(new SecretMinter([newKey, oldKey]).isMinted(secret)).toBe(true);
      expect(new SecretMinter([oldKey, newKey]).isMinted(secret)).toBe(true);
      expect(new SecretMinter([newKey]).isMinted(secret)).toBe(false);
    });

    it('mints with the first key', () => {
      const secret = new SecretMinter([newKey, oldKey]).mint();
      expect(new SecretMinter([newKey]).isMinted(secret)).toBe(true);
      expect(new SecretMinter([oldKey]).isMinted(secret)).toBe(false);
    });

    it('still refuses forgeries with several keys', () => {
      const both = new SecretMinter([newKey, oldKey]);
      expect(both.isMinted(alter(both.mint(), -1))).toBe(false);
      expect(both.isMinted(alter(new SecretMinter([oldKey]).mint(), -1))).toBe(false);
      expect(both.isMinted(`gatehouse_cs_${'A'.repeat(55)}`)).toBe(false);
    });

    it('works with the keys of a Keyring', () => {
      const keyring = new Keyring('the-new-system-secret-value,the-old-system-secret-value');
      const rotated = new SecretMinter(keyring.all('secret-check'));
      expect(rotated.isMinted(new SecretMinter([oldKey]).mint())).toBe(true);
      expect(new SecretMinter([newKey]).isMinted(rotated.mint())).toBe(true);
    });
  });

  it('needs at least one key', () => {
    expect(() => new SecretMinter([])).toThrow(/at least one key/);
  });
});
